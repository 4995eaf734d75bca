/** A free TCP port on the loopback interface. */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/** Listens on port 0, reads the port the OS picked, closes. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
