// Reading one regular file for a backup: opened with O_NOFOLLOW, the descriptor checked to be the
// file the walk saw (same inode and device) and to lead under the root (/proc/self/fd), its bytes
// read through that descriptor, and compared before and after so a file that changed while it
// was read is reported instead of silently stored torn.
//
// The checks on the open descriptor (fstat, /proc/self/fd, xattrs) are synchronous: they are
// short metadata calls on an inode already open, and a thread-pool round trip for each cost
// more than the call itself (measured: 10k small files spent most of their time queueing).
// Opening, reading and closing stay asynchronous.
import { constants as C, fstatSync, readlinkSync, type BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { descriptorUnder, fdPath, type WalkEntry, type WalkRoot } from './walk.ts';

const require = createRequire(import.meta.url);
const xattr = require('fs-xattr') as { listAttributesSync(path: string): string[]; getAttributeSync(path: string, name: string): Buffer };

function under(fd: number, root: WalkRoot): boolean {
  const real = readlinkSync(fdPath(fd));
  return real === root.real || real.startsWith(root.real.endsWith('/') ? root.real : `${root.real}/`);
}

export class VerifiedFile {
  readonly handle: FileHandle;
  readonly stat: BigIntStats;

  private constructor(handle: FileHandle, stat: BigIntStats) {
    this.handle = handle;
    this.stat = stat;
  }

  /** undefined when the file is no longer the one the walk saw. */
  static async open(abs: Buffer, seen: BigIntStats, root: WalkRoot): Promise<VerifiedFile | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(abs, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    } catch {
      return undefined;
    }
    try {
      const st = fstatSync(fh.fd, { bigint: true });
      if (!st.isFile() || st.ino !== seen.ino || st.dev !== seen.dev || st.dev !== root.dev || !under(fh.fd, root)) {
        await fh.close();
        return undefined;
      }
      return new VerifiedFile(fh, st);
    } catch {
      await fh.close();
      return undefined;
    }
  }

  /** Reads `length` bytes at `position` into `into`; short reads (file shrank) are zero-filled. */
  async readAt(into: Buffer, position: number): Promise<number> {
    let done = 0;
    while (done < into.length) {
      const { bytesRead } = await this.handle.read(into, done, into.length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done < into.length) into.fill(0, done);
    return done;
  }

  /** True when size, mtime or ctime moved since the file was opened. */
  changedSinceOpen(): boolean {
    const now = fstatSync(this.handle.fd, { bigint: true });
    return now.size !== this.stat.size || now.mtimeNs !== this.stat.mtimeNs || now.ctimeNs !== this.stat.ctimeNs;
  }

  xattrs(): Array<[string, Buffer]> {
    return readXattrs(this.handle.fd);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Extended attributes of an open file or directory, read through its descriptor. */
export function readXattrs(fd: number): Array<[string, Buffer]> {
  let names: string[];
  try {
    names = xattr.listAttributesSync(fdPath(fd));
  } catch {
    return [];
  }
  const out: Array<[string, Buffer]> = [];
  for (const n of names.sort()) {
    try {
      out.push([n, xattr.getAttributeSync(fdPath(fd), n)]);
    } catch {
      // removed between list and get
    }
  }
  return out;
}

export interface SmallRead {
  data: Buffer;
  xattrs: Array<[string, Buffer]>;
  torn: boolean;
  stat: BigIntStats;
}

/** Reads a small file whole, with its xattrs; undefined when it is no longer the walked file. */
export async function readSmall(e: WalkEntry, root: WalkRoot): Promise<SmallRead | undefined> {
  const f = await VerifiedFile.open(e.abs, e.stat, root);
  if (!f) return undefined;
  try {
    const data = Buffer.allocUnsafe(Number(f.stat.size));
    const got = await f.readAt(data, 0);
    const xattrs = f.xattrs();
    const torn = got < data.length || f.changedSinceOpen();
    return { data, xattrs, torn, stat: f.stat };
  } finally {
    await f.close();
  }
}

/** A directory's xattrs, through a descriptor checked to be the walked directory. */
export async function dirXattrs(e: WalkEntry, root: WalkRoot): Promise<Array<[string, Buffer]>> {
  try {
    const fh = await open(e.abs, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
    try {
      const st = await fh.stat({ bigint: true });
      if (st.ino !== e.stat.ino || st.dev !== e.stat.dev || !(await descriptorUnder(fh.fd, root))) return [];
      return readXattrs(fh.fd);
    } finally {
      await fh.close();
    }
  } catch {
    return [];
  }
}

