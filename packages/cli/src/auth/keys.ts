/**
 * The identities' nkeys and the `<identity>.env` files that carry them. A key that exists is
 * kept across runs, so regenerating the server config after a topology change does not log
 * every service out; `rotate` makes new ones.
 */
import { createUser, fromSeed } from '@nats-io/nkeys';
import type { KeyPair } from '@nats-io/nkeys';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@multi-agent/nats-client';
import type { BusIdentity } from '@multi-agent/service-kit';
import { inboxPrefixOf } from '@multi-agent/service-kit';

/** The nkey of one identity: the server knows the public key, the identity holds the seed. */
export interface IdentityKey {
  identity: BusIdentity;
  publicKey: string;
  seed: string;
}

/** The env file of an identity inside `dir`. */
export function envFileOf(dir: string, identity: BusIdentity): string {
  return join(dir, `${identity}.env`);
}

/** Reads `KEY=value` lines (comments and blank lines skipped). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match !== null) env[match[1] as string] = (match[2] as string).trim();
  }
  return env;
}

function existingSeed(dir: string, identity: BusIdentity): string | undefined {
  const file = envFileOf(dir, identity);
  if (!existsSync(file)) return undefined;
  const seed = parseEnvFile(readFileSync(file, 'utf8')).NATS_NKEY_SEED;
  return seed !== undefined && seed.startsWith('SU') ? seed : undefined;
}

function keptPair(dir: string, identity: BusIdentity, seed: string): KeyPair {
  try {
    return fromSeed(new TextEncoder().encode(seed));
  } catch {
    throw new ConfigError(envFileOf(dir, identity), 'NATS_NKEY_SEED is not a valid nkey user seed; restore it, or run with --rotate for new keys');
  }
}

/**
 * The key of `identity`: the one in its env file unless `rotate`, else a new one.
 *
 * @throws ConfigError naming the env file when its seed is corrupt
 */
export function identityKey(dir: string, identity: BusIdentity, rotate: boolean): IdentityKey {
  const kept = rotate ? undefined : existingSeed(dir, identity);
  const pair = kept === undefined ? createUser() : keptPair(dir, identity, kept);
  return { identity, publicKey: pair.getPublicKey(), seed: new TextDecoder().decode(pair.getSeed()) };
}

/**
 * Writes `<identity>.env` (owner-readable only): the variables the identity connects with.
 * Services never provision (`NATS_PROVISION=false`): a missing stream or durable fails their
 * start with a message naming `multi-agent provision`.
 */
export async function writeEnvFile(dir: string, key: IdentityKey): Promise<string> {
  const file = envFileOf(dir, key.identity);
  const lines = [
    `# NATS identity "${key.identity}", written by \`multi-agent auth generate\`. Secret: the seed is its password.`,
    `NATS_NKEY_SEED=${key.seed}`,
    `NATS_INBOX_PREFIX=${inboxPrefixOf(key.identity)}`,
    `NATS_PROVISION=${key.identity === 'admin' ? 'true' : 'false'}`,
  ];
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  // `mode` applies only to a new file: an existing one may have been created looser.
  await chmod(file, 0o600);
  return file;
}
