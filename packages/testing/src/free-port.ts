import { createServer } from 'node:net';

/**
 * Asks the kernel for a free TCP port on `127.0.0.1`: listens on port 0, reads the port it got,
 * and closes the listener.
 *
 * Another process may take the port before you bind it; `NatsServer.start` retries with
 * fresh ports when that happens.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close((err) => {
        if (err) reject(err);
        else if (port === undefined) reject(new Error('freePort: the listener reported no port'));
        else resolve(port);
      });
    });
  });
}
