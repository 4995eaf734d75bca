/**
 * Every way the client authenticates (NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_NKEY_SEED,
 * NATS_CREDS), each against a real nats-server configured for it: the right secret connects
 * and moves an event through JetStream as the expected identity; a wrong or missing one is
 * refused with `AUTH_FAILED`, and the error never carries the secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { NatsServer } from '@multi-agent/testing';
import { ClientErrorCodes, errorCode, loadNatsConfig, NatsClient } from '../src/index.js';
import type { Env } from '../src/index.js';
import { makeJwtChain } from './nats-jwt.js';
import { roundTrip, testLogger, uniqueToken } from './support.js';

interface AuthMode {
  name: string;
  /** The server's auth config. */
  serverConfig: string;
  /** Environment that authenticates, and the `authorized_user` the server then reports. */
  right: Env;
  identity: string;
  /** Environment with a wrong secret, and the secrets that must not leak. */
  wrong: Env;
  secrets: string[];
}

let dir: string;
const servers = new Map<string, NatsServer>();
const modes: AuthMode[] = [];

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text, { mode: 0o600 });
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'multi-agent-auth-'));
  const nkey = createUser();
  const otherNkey = createUser();
  const seed = new TextDecoder().decode(nkey.getSeed());
  const otherSeed = new TextDecoder().decode(otherNkey.getSeed());
  const chain = makeJwtChain();
  modes.push(
    {
      name: 'user and password',
      serverConfig: 'authorization { user: svc, password: "right-pw-8c1f" }',
      right: { NATS_USER: 'svc', NATS_PASSWORD: 'right-pw-8c1f' },
      identity: 'svc',
      wrong: { NATS_USER: 'svc', NATS_PASSWORD: 'wrong-pw-77e2' },
      secrets: ['right-pw-8c1f', 'wrong-pw-77e2'],
    },
    {
      name: 'token',
      serverConfig: 'authorization { token: "right-token-51a9" }',
      right: { NATS_TOKEN: 'right-token-51a9' },
      // nats-server 2.9 reports a token connection's user as the token itself.
      identity: 'right-token-51a9',
      wrong: { NATS_TOKEN: 'wrong-token-0b3d' },
      secrets: ['right-token-51a9', 'wrong-token-0b3d'],
    },
    {
      name: 'nkey seed',
      serverConfig: `authorization { users: [ { nkey: ${nkey.getPublicKey()} } ] }`,
      right: { NATS_NKEY_SEED: seed },
      identity: nkey.getPublicKey(),
      wrong: { NATS_NKEY_SEED: otherSeed },
      secrets: [seed, otherSeed],
    },
    {
      name: 'creds file (operator/account/user JWTs)',
      serverConfig: chain.serverConfig,
      right: { NATS_CREDS: await file('user.creds', chain.creds) },
      identity: chain.userPublicKey,
      wrong: { NATS_CREDS: await file('stranger.creds', chain.foreignCreds) },
      secrets: [chain.userSeed, chain.foreignUserSeed],
    },
  );
  for (const mode of modes) servers.set(mode.name, await NatsServer.start({ extraConfig: mode.serverConfig }));
});

afterAll(async () => {
  await Promise.all([...servers.values()].map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
});

function serverOf(mode: AuthMode): NatsServer {
  const server = servers.get(mode.name);
  if (server === undefined) throw new Error(`no server for ${mode.name}`);
  return server;
}

interface Connz {
  connections: { name?: string; authorized_user?: string }[];
}

/** The error `connect()` fails with for `env` against the mode's server. */
async function refusal(mode: AuthMode, env: Env): Promise<unknown> {
  const config = loadNatsConfig({ NATS_URL: serverOf(mode).url, NATS_CONNECT_TIMEOUT_MS: '3000', ...env });
  const client = new NatsClient(config, 'auth-refused', { logger: testLogger });
  const error = await client.connect().then(() => undefined, (err: unknown) => err);
  await client.close();
  return error;
}

/** Everything an error shows when logged: message, stack and the messages of its causes. */
function shown(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) parts.push(e.message, e.stack ?? '');
  return parts.join('\n');
}

const MODE_NAMES = ['user and password', 'token', 'nkey seed', 'creds file (operator/account/user JWTs)'];

describe.each(MODE_NAMES)('auth by %s', (modeName) => {
  const mode = (): AuthMode => modes.find((m) => m.name === modeName) ?? expect.unreachable(`mode ${modeName} not set up`);

  it('connects with the right credentials, as its identity, and round-trips an event', async () => {
    const m = mode();
    const name = `auth-${uniqueToken()}`;
    const config = loadNatsConfig({ NATS_URL: serverOf(m).url, ...m.right });
    const client = new NatsClient({ ...config, retryBackoffMs: [50] }, name, { logger: testLogger });
    await client.connect();
    try {
      const { sent, received } = await roundTrip(client, { mode: m.name });
      expect(received).toMatchObject({ eventId: sent.eventId, data: { mode: m.name } });

      const ours = ((await serverOf(m).connz()) as Connz).connections.filter((c) => c.name === name);
      expect(ours.length, m.name).toBeGreaterThan(0);
      for (const connection of ours) expect(connection.authorized_user, m.name).toBe(m.identity);
    } finally {
      await client.close();
    }
  });

  it('is refused with wrong credentials, with AUTH_FAILED and without the secret in the error', async () => {
    const m = mode();
    const error = await refusal(m, m.wrong);
    expect(errorCode(error), `${m.name}: ${String(error)}`).toBe(ClientErrorCodes.AUTH_FAILED);
    for (const secret of m.secrets) expect(shown(error), m.name).not.toContain(secret);
  });

  it('is refused without credentials, with AUTH_FAILED', async () => {
    const m = mode();
    expect(errorCode(await refusal(m, {})), m.name).toBe(ClientErrorCodes.AUTH_FAILED);
  });
});

describe('credentials written into NATS_URL', () => {
  it('authenticate as the user and password they name (nats.js alone would drop them)', async () => {
    const m = modes.find((mode) => mode.name === 'user and password') ?? expect.unreachable('mode not set up');
    const url = serverOf(m).url.replace('nats://', `nats://${m.right.NATS_USER ?? ''}:${m.right.NATS_PASSWORD ?? ''}@`);
    const name = `url-auth-${uniqueToken()}`;
    const client = new NatsClient(loadNatsConfig({ NATS_URL: url }), name, { logger: testLogger });
    await client.connect();
    try {
      const ours = ((await serverOf(m).connz()) as Connz).connections.filter((c) => c.name === name);
      expect(ours.length).toBeGreaterThan(0);
      for (const connection of ours) expect(connection.authorized_user).toBe('svc');
    } finally {
      await client.close();
    }
  });

  it('with a wrong password are refused with AUTH_FAILED, the error showing neither URL credentials nor password', async () => {
    const m = modes.find((mode) => mode.name === 'user and password') ?? expect.unreachable('mode not set up');
    const error = await refusal(m, { NATS_URL: serverOf(m).url.replace('nats://', 'nats://svc:wrong-pw-77e2@') });
    expect(errorCode(error)).toBe(ClientErrorCodes.AUTH_FAILED);
    for (const secret of m.secrets) expect(shown(error)).not.toContain(secret);
  });
});
