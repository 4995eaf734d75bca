/**
 * The README's two commands are the whole set-up: a fresh clone with no node_modules runs
 * `npm start` (which installs the workspace and starts its own nats-server on the port
 * NATS_URL names), completes a workflow through the API, stops cleanly, and then finds the
 * `pretest` step has nothing left to install. Slow (it runs `npm ci`), but it runs in CI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, waitFor } from '@multi-agent/testing';
import { probeNats } from '../scripts/platform/nats.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
let dir: string;
let clone: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fresh-clone-'));
  clone = join(dir, 'repo');
  const cloned = spawnSync('git', ['clone', '--quiet', repoRoot, clone], { encoding: 'utf8' });
  if (cloned.status !== 0) throw new Error(`git clone failed: ${cloned.stderr}`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The environment of a new user's shell: no variables of this test run, no CI settings. */
function userEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, NO_COLOR: '1', ...extra };
}

it('npm start on a fresh clone installs, runs a workflow, stops; pretest then has nothing to do', async () => {
  expect(existsSync(join(clone, 'node_modules'))).toBe(false);
  const natsPort = await freePort();
  // Any free port, picked by npm start when the gateway starts: a port picked here would stay
  // unbound through the whole npm ci, for a parallel test to take.
  const start = spawn('npm', ['start'], {
    cwd: clone,
    env: userEnv({ NATS_URL: `nats://127.0.0.1:${natsPort}`, PORT: '0', DATA_DIR: join(dir, 'data') }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  start.stdout.on('data', (c: Buffer) => (output += c.toString()));
  start.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((done) => start.once('exit', (code) => done(code)));
  try {
    await waitFor(() => output.includes('Web console:') || start.exitCode !== null, 240_000, 'the platform to be ready');
    expect(output).toContain('[setup] installing the workspace (npm ci)');
    expect(output).toContain(`no NATS server at nats://127.0.0.1:${natsPort}: starting`);
    expect(output).toMatch(/orchestration +http:\/\/127\.0\.0\.1:\d+\/metrics/);

    const httpPort = /Web console: http:\/\/localhost:(\d+)\//.exec(output)?.[1];
    expect(httpPort, output).toBeDefined();
    const api = `http://127.0.0.1:${httpPort}/api`;
    // The API key npm start made for this run.
    const authorization = `Bearer ${/API key: +(\S+)/.exec(output)?.[1] ?? ''}`;
    const accepted = await fetch(`${api}/workflows/research-summary/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ input: { topic: 'fresh clones' } }),
    });
    expect(accepted.status, `${await accepted.clone().text()}\n${output.slice(-3000)}`).toBe(202);
    const { executionId } = (await accepted.json()) as { executionId: string };
    let status = '';
    await waitFor(async () => {
      status = ((await (await fetch(`${api}/executions/${executionId}`, { headers: { authorization } })).json()) as { status: string }).status;
      return status === 'completed' || status === 'failed';
    }, 60_000, 'the execution to end');
    expect(status).toBe('completed');
  } finally {
    // Ctrl-C as a terminal sends it: SIGINT to the whole group, npm and the start script it
    // runs (which stops its services and the nats-server it started).
    if (start.pid !== undefined && start.exitCode === null) process.kill(-start.pid, 'SIGINT');
  }
  // npm itself dies of the SIGINT, as in a terminal; the start script goes on to stop everything.
  await exited;
  await waitFor(() => /\bstopped\n/.test(output), 60_000, 'the start script to stop the platform');
  expect(output).toContain('stopping the nats-server started by npm start');
  expect(await probeNats(`nats://127.0.0.1:${natsPort}`, 500)).toBeUndefined();

  const pretest = spawnSync('npm', ['run', 'pretest'], { cwd: clone, env: userEnv({}), encoding: 'utf8' });
  expect(pretest.status).toBe(0);
  expect(pretest.stdout).not.toContain('installing the workspace');
}, 420_000);
