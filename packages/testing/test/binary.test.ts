import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NatsServer, freePort, natsServerBinary } from '../src/index.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('natsServerBinary', () => {
  it('finds an installed nats-server', () => {
    vi.stubEnv('NATS_SERVER_BIN', '');
    expect(existsSync(natsServerBinary())).toBe(true);
  });

  it('prefers NATS_SERVER_BIN', () => {
    vi.stubEnv('NATS_SERVER_BIN', '');
    const found = natsServerBinary();
    vi.stubEnv('NATS_SERVER_BIN', found);
    expect(natsServerBinary()).toBe(found);
  });

  it('says how to install nats-server when the binary is missing', async () => {
    vi.stubEnv('NATS_SERVER_BIN', '/nonexistent/nats-server');
    expect(() => natsServerBinary()).toThrow(/apt-get install -y nats-server.*NATS_SERVER_BIN/);
    await expect(NatsServer.start()).rejects.toThrow(/apt-get install -y nats-server/);
  });
});

describe('freePort', () => {
  it('returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
