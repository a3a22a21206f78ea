// Free TCP ports on loopback, so nothing depends on fixed default ports.
import { createServer } from 'node:net';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const addr = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port assigned');
  return addr.port;
}

/** A port free on every one of `hosts` (the node agents all listen on the same port). */
export async function freePortOnAll(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort(hosts[0]);
    let free = true;
    for (const h of hosts.slice(1)) {
      const server = createServer();
      free = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, h, () => server.close(() => resolve(true)));
      });
      if (!free) break;
    }
    if (free) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}
