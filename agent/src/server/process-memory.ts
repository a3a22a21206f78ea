// Resident memory of a process and all its descendants (a job's bwrap and the processes it
// runs), read from /proc. A process that ends while it is read counts as zero.
import { readFile, readdir } from 'node:fs/promises';

async function children(pid: number): Promise<number[]> {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = await readdir(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    const list = await readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '');
    for (const c of list.split(' ')) if (c.trim() !== '') out.push(Number(c));
  }
  return out;
}

async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

export async function treeRss(pid: number): Promise<number> {
  let total = 0;
  const todo = [pid];
  const seen = new Set<number>();
  while (todo.length > 0) {
    const p = todo.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    total += await rss(p);
    todo.push(...(await children(p)));
  }
  return total;
}
