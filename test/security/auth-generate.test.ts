/**
 * `multi-agent auth generate`: the server config it writes is accepted by nats-server, grants
 * nothing broad, keeps keys across runs unless `--rotate`, and the README's table of what each
 * identity may do is the one the declaration gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main, parseEnvFile } from '@multi-agent/cli';
import { BUS_IDENTITIES, busAccessOf, natsPermissionsOf } from '@multi-agent/service-kit';
import { natsServerBinary } from '@multi-agent/testing';

let dir: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

async function seeds(): Promise<Record<string, string | undefined>> {
  const entries = await Promise.all(BUS_IDENTITIES.map(async (id) => [id, parseEnvFile(await readFile(join(dir, `${id}.env`), 'utf8')).NATS_NKEY_SEED] as const));
  return Object.fromEntries(entries);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auth-generate-'));
  expect((await cli('auth', 'generate', '--out', dir, '--port', '14999')).code).toBe(0);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('auth generate', () => {
  it('writes a config nats-server accepts', async () => {
    const { stdout, stderr } = await promisify(execFile)(natsServerBinary(), ['-c', join(dir, 'nats.conf'), '-t']);
    expect(`${stdout}${stderr}`).toContain('is valid');
  });

  it('lets nobody in without a key and grants nobody the whole JetStream API', async () => {
    const conf = await readFile(join(dir, 'auth.conf'), 'utf8');
    expect(conf).not.toMatch(/^\s*no_auth_user\s*[:=]/m);
    expect(conf).not.toMatch(/"(\$JS\.API\.>|\$JS\.>|>)"/);
    expect(conf).not.toMatch(/password/);
    for (const identity of BUS_IDENTITIES) {
      const allowed = [...natsPermissionsOf(identity).publish.allow, ...natsPermissionsOf(identity).subscribe.allow];
      expect(allowed.filter((s) => s === '>' || s.startsWith('$JS.API.>') || s === '$JS.>')).toEqual([]);
    }
  });

  it('writes one owner-only env file per identity with its key, inbox prefix and provisioning mode', async () => {
    for (const identity of BUS_IDENTITIES) {
      const file = join(dir, `${identity}.env`);
      expect((await stat(file)).mode & 0o077).toBe(0);
      const env = parseEnvFile(await readFile(file, 'utf8'));
      expect(env.NATS_NKEY_SEED).toMatch(/^SU[A-Z2-7]+$/);
      expect(env.NATS_INBOX_PREFIX).toBe(`_INBOX_${identity}`);
      expect(env.NATS_PROVISION).toBe(identity === 'admin' ? 'true' : 'false');
    }
  });

  it('grants each service what it declares and the declared durables only to their owner', () => {
    const tool = natsPermissionsOf('tool');
    for (const subject of busAccessOf('tool').publishes) expect(tool.publish.allow).toContain(subject);
    expect(tool.subscribe.allow).toEqual(expect.arrayContaining(['_INBOX_tool.>', 'tool.execute.request']));
    expect(tool.allowResponses).toBe(true);
    expect(tool.publish.allow).toContain('$JS.API.CONSUMER.MSG.NEXT.EVENTS.tool-tool_execution_requested');
    expect(tool.publish.allow).not.toContain('$JS.API.CONSUMER.MSG.NEXT.EVENTS.agent-agent_execution_requested');
    expect(tool.publish.deny).toContain('$JS.API.CONSUMER.DELETE.EVENTS.tool-tool_execution_requested');
    expect(natsPermissionsOf('agent').allowResponses).toBe(false);
  });

  it('keeps every key when run again, and replaces every one with --rotate', async () => {
    const before = await seeds();
    await cli('auth', 'generate', '--out', dir);
    expect(await seeds()).toEqual(before);
    expect((await cli('auth', 'generate', '--out', dir, '--rotate')).code).toBe(0);
    const after = await seeds();
    for (const identity of BUS_IDENTITIES) expect(after[identity]).not.toBe(before[identity]);
    const conf = await readFile(join(dir, 'auth.conf'), 'utf8');
    expect(conf).not.toContain(before.gateway);
  });

  it('never prints a seed', async () => {
    const { out, err } = await cli('auth', 'generate', '--out', dir);
    const printed = [...out, ...err].join('\n');
    for (const seed of Object.values(await seeds())) expect(printed).not.toContain(seed);
  });

  it('is the table of the README Security section', async () => {
    const { out } = await cli('auth', 'generate', '--table');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = /<!-- identities:start -->\n([\s\S]*?)\n<!-- identities:end -->/.exec(readme)?.[1];
    expect(section).toBe(out.join('\n'));
  });

  it('refuses a corrupt kept key with an error naming its file, and writes nothing', async () => {
    const file = join(dir, 'tool.env');
    const before = await readFile(join(dir, 'auth.conf'), 'utf8');
    await writeFile(file, 'NATS_NKEY_SEED=SUNOTAVALIDSEED\n');
    const { code, err } = await cli('auth', 'generate', '--out', dir);
    expect(code).toBe(1);
    expect(err.join('\n')).toContain(file);
    expect(await readFile(join(dir, 'auth.conf'), 'utf8')).toBe(before);
    expect((await cli('auth', 'generate', '--out', dir, '--rotate')).code).toBe(0);
  });

  it('refuses a call with neither --out nor --table', async () => {
    expect((await cli('auth', 'generate')).code).toBe(2);
  });
});
