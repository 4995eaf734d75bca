/** `npm start` (scripts/start.ts): finding or starting NATS, and its failure modes. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer, freePort, natsServerBinary } from '@multi-agent/testing';
import { NatsClient } from '@multi-agent/nats-client';
import { pino } from 'pino';
import { probeNats } from '../../scripts/platform/nats.js';
import { repoRoot } from '../../scripts/platform/service-process.js';
import { waitFor } from './support/platform.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'npm-start-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs scripts/start.ts. */
function runStart(env: Record<string, string>): { done: Promise<{ code: number | null; output: string }>; output: () => string; kill: (signal: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => child.once('exit', (code) => resolve({ code, output })));
  return { done, output: () => output, kill: (signal) => child.kill(signal) };
}

describe('probing NATS', () => {
  it('reads the INFO line of a server, and says when nothing or no JetStream answers', async () => {
    const withJs = await NatsServer.start();
    const withoutJs = await NatsServer.start({ jetstream: false });
    try {
      expect(await probeNats(withJs.url)).toMatchObject({ jetstream: true, version: expect.stringMatching(/^\d+\.\d+\.\d+/) as unknown });
      expect(await probeNats(withoutJs.url)).toMatchObject({ jetstream: false });
      expect(await probeNats(`nats://127.0.0.1:${await freePort()}`, 500)).toBeUndefined();
    } finally {
      await withJs.stop();
      await withoutJs.stop();
    }
  });

  it('finds nats-server through NATS_SERVER_BIN, PATH or /usr/sbin', () => {
    expect(() => natsServerBinary({ NATS_SERVER_BIN: '/nonexistent/nats-server' })).toThrow(/NATS_SERVER_BIN/);
    expect(natsServerBinary({ PATH: process.env.PATH })).toMatch(/nats-server$/);
    if (existsSync('/usr/sbin/nats-server')) expect(natsServerBinary({ PATH: '' })).toBe('/usr/sbin/nats-server');
  });
});

describe('npm start', () => {
  it('fails with an install hint when no NATS answers and there is no nats-server binary', async () => {
    const port = await freePort();
    const { code, output } = await runStart({ NATS_URL: `nats://127.0.0.1:${port}`, NATS_SERVER_BIN: '/nonexistent/nats-server', DATA_DIR: dir }).done;
    expect(code).toBe(1);
    expect(output).toContain(`No NATS server answers at nats://127.0.0.1:${port}`);
    expect(output).toContain('apt-get install -y nats-server');
  }, 30_000);

  it('refuses a NATS server without JetStream', async () => {
    const plain = await NatsServer.start({ jetstream: false });
    try {
      const { code, output } = await runStart({ NATS_URL: plain.url, DATA_DIR: dir }).done;
      expect(code).toBe(1);
      expect(output).toContain('runs without JetStream; restart it with -js');
    } finally {
      await plain.stop();
    }
  }, 30_000);

  it('starts its own nats-server (store in DATA_DIR) when none answers, and stops everything on SIGTERM', async () => {
    const natsPort = await freePort();
    const httpPort = await freePort();
    const run = runStart({ NATS_URL: `nats://127.0.0.1:${natsPort}`, PORT: String(httpPort), DATA_DIR: dir });
    await waitFor(() => run.output().includes('Web console:'), 60_000, 'the platform to be ready');
    expect(run.output()).toContain(`no NATS server at nats://127.0.0.1:${natsPort}: starting`);
    // Auth on: the generated identities, provisioned as admin, and no way in without a key.
    expect(run.output()).toContain('and auth on (identities:');
    expect(run.output()).toContain('provisioned as admin: stream EVENTS created');
    expect(await readdir(join(dir, 'nats-auth'))).toEqual(expect.arrayContaining(['auth.conf', 'nats.conf', 'admin.env', 'gateway.env']));
    const anonymous = new NatsClient({ servers: [`nats://127.0.0.1:${natsPort}`], maxReconnectAttempts: 0 }, 'anonymous', { logger: pino({ level: 'silent' }) });
    await expect(anonymous.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(await probeNats(`nats://127.0.0.1:${natsPort}`)).toMatchObject({ jetstream: true });
    // Without configured credentials, the run's own admin key, printed once.
    const key = /API key: +(\S+)/.exec(run.output())?.[1] ?? '';
    expect(run.output()).toContain(`Web console: http://localhost:${httpPort}/#key=${key}`);
    expect((await fetch(`http://127.0.0.1:${httpPort}/api/workflows`)).status).toBe(401);
    const workflows = (await (await fetch(`http://127.0.0.1:${httpPort}/api/workflows`, { headers: { authorization: `Bearer ${key}` } })).json()) as { workflows: unknown[] };
    expect(workflows.workflows).toHaveLength(3);
    expect((await readdir(join(dir, 'nats'))).length).toBeGreaterThan(0);
    run.kill('SIGTERM');
    const { code, output } = await run.done;
    expect(code).toBe(0);
    expect(output).toContain('stopping the nats-server started by npm start');
    expect(await probeNats(`nats://127.0.0.1:${natsPort}`, 500)).toBeUndefined();
  }, 90_000);
});
