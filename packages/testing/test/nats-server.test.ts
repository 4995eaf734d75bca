import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { NatsServer } from '../src/index.js';
import { RawClient, processGone, processState, readInfo, until } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(options?: Parameters<typeof NatsServer.start>[0]): Promise<NatsServer> {
  const server = await NatsServer.start(options);
  cleanups.push(() => server.stop());
  return server;
}

describe('NatsServer', () => {
  it('starts on free loopback ports with the given config and answers with INFO', async () => {
    const server = await startServer({ serverName: 'solo', maxPayload: 2048 });
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(server.port).not.toBe(4222);
    expect(server.monitorPort).not.toBe(server.port);
    expect(server.running).toBe(true);
    expect(server.pid).toEqual(expect.any(Number));
    const info = await readInfo(server.port);
    expect(info).toMatchObject({ port: server.port, server_name: 'solo', max_payload: 2048, jetstream: true });
    expect(existsSync(server.storeDir)).toBe(true);
    const jsz = (await server.jsz()) as { config?: { store_dir?: string } };
    expect(jsz.config?.store_dir?.startsWith(server.storeDir)).toBe(true);
  });

  it('starts without JetStream when asked', async () => {
    const server = await startServer({ jetstream: false });
    const info = await readInfo(server.port);
    expect(info.jetstream).toBeUndefined();
  });

  it('keeps the JetStream store across SIGKILL and restart, on the same ports', async () => {
    const server = await startServer();
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
    await jetstream(nc).publish('orders.1', 'first');
    await nc.close();

    const pidBefore = server.pid;
    await server.kill();
    expect(server.running).toBe(false);
    expect(server.pid).toBeUndefined();

    await server.restart();
    expect(server.running).toBe(true);
    expect(server.pid).not.toBe(pidBefore);
    const nc2 = await connect({ servers: server.url });
    cleanups.push(() => nc2.close());
    const info = await (await jetstreamManager(nc2)).streams.info('ORDERS');
    expect(info.state.messages).toBe(1);
    const jsz = (await server.jsz()) as { streams: number; messages: number };
    expect(jsz).toMatchObject({ streams: 1, messages: 1 });
  });

  it('pause() freezes the process and resume() lets it answer again', async () => {
    const server = await startServer({ jetstream: false });
    const pid = server.pid ?? 0;
    server.pause();
    expect(server.paused).toBe(true);
    await until(() => processState(pid) === 'T', 5_000, 'the process to be stopped');

    const client = await RawClient.connect(server.port); // the kernel accepts; the server cannot answer
    cleanups.push(async () => {
      client.close();
    });
    expect(await client.quietFor(300)).toBe(true);

    server.resume();
    expect(server.paused).toBe(false);
    await client.waitFor(/^INFO /);
    expect(processState(pid)).not.toBe('T');
  });

  it('stop() ends the process, removes its temp dir and is idempotent', async () => {
    const server = await NatsServer.start();
    const pid = server.pid ?? 0;
    expect(existsSync(server.storeDir)).toBe(true);
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    expect(server.running).toBe(false);
    expect(existsSync(server.storeDir)).toBe(false);
    expect(processGone(pid)).toBe(true);
    await expect(server.restart()).rejects.toThrow(/after stop/);
  });

  it('stop() keeps a store dir it did not create', async () => {
    const storeDir = await mkdtemp(join(tmpdir(), 'testing-own-store-'));
    cleanups.push(() => rm(storeDir, { recursive: true, force: true }));
    const server = await NatsServer.start({ storeDir });
    expect(server.storeDir).toBe(storeDir);
    await server.stop();
    expect(existsSync(join(storeDir, 'jetstream'))).toBe(true);
  });

  it('stops a paused server', async () => {
    const server = await NatsServer.start({ jetstream: false });
    server.pause();
    await server.stop();
    expect(server.running).toBe(false);
  });

  it('rejects with the server output when a fixed port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await expect(NatsServer.start({ port, jetstream: false })).rejects.toThrow(/address already in use/);
  });

  it('applies extraConfig', async () => {
    const server = await startServer({ jetstream: false, extraConfig: 'max_connections: 1' });
    const first = await RawClient.connect(server.port);
    cleanups.push(async () => {
      first.close();
    });
    // nats-server sends INFO before it registers the client: a PONG proves `first` is counted.
    first.send('CONNECT {"verbose":false}\r\nPING\r\n');
    await first.waitFor(/PONG\r\n/);
    const second = await RawClient.connect(server.port);
    cleanups.push(async () => {
      second.close();
    });
    await second.waitFor(/maximum connections exceeded/i);
  });
});

describe('orphan protection', () => {
  const fixture = join(here, 'fixtures', 'leave-server-running.ts');

  interface Started {
    pid: number;
    storeDir: string;
  }

  function runFixture(mode: 'end' | 'wait'): {
    child: ChildProcess;
    started: Promise<Started>;
    exited: Promise<NodeJS.Signals | number | null>;
  } {
    const child = execFile(process.execPath, ['--import', 'tsx', fixture, mode], { cwd: repoRoot, timeout: 30_000 });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ?? code));
    });
    const started = new Promise<Started>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = /^(.*)\n/.exec(out)?.[1];
        if (line !== undefined) resolve(JSON.parse(line) as Started);
      });
      void exited.then(() => reject(new Error(`fixture exited before it printed; stdout: ${out}`)));
    });
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    return { child, started, exited };
  }

  it('kills a server that was never stopped, and removes its temp dir, when the process ends on its own', async () => {
    const run = runFixture('end');
    const { pid, storeDir } = await run.started;
    expect(await run.exited).toBe(0); // an idle server does not keep the event loop alive
    await until(() => processGone(pid), 5_000, `nats-server ${pid} to exit`);
    expect(existsSync(storeDir)).toBe(false);
  });

  it('kills a server that was never stopped, and removes its temp dir, when the process gets SIGTERM', async () => {
    const run = runFixture('wait');
    const { pid, storeDir } = await run.started;
    expect(existsSync(storeDir)).toBe(true);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe('SIGTERM');
    await until(() => processGone(pid), 5_000, `nats-server ${pid} to exit`);
    expect(existsSync(storeDir)).toBe(false);
  });
});
