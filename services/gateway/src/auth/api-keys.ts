/**
 * API keys. A key is 32 random bytes (`mak_` + base64url); the gateway keeps only its SHA-256,
 * so a leaked configuration does not leak a usable key. A high-entropy key needs no slow hash:
 * there is nothing to guess. A presented key is hashed and compared with every configured hash
 * in constant time, so neither the match nor its position shows in the answer's timing.
 *
 * Configured as entries `name:role:sha256hex` (`GATEWAY_API_KEYS`, comma-separated, or a file
 * named by `GATEWAY_API_KEYS_FILE`, one per line, `#` starts a comment).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ROLES } from './identity.js';
import type { Identity, Role } from './identity.js';

/** One configured key: who it is, and the SHA-256 of the key (hex). */
export interface ApiKeyEntry {
  name: string;
  role: Role;
  sha256: string;
}

/** A configuration entry that does not parse. */
export class ApiKeyConfigError extends Error {
  readonly code = 'INVALID_API_KEY_ENTRY';
  constructor(message: string) {
    super(message);
    this.name = 'ApiKeyConfigError';
  }
}

const NAME = /^[A-Za-z0-9_.@-]{1,128}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The SHA-256 of a key, hex: what the configuration holds. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * A new API key and its configuration entry.
 *
 * @returns `key` (give it to the caller, once) and `entry` (`name:role:sha256`, for `GATEWAY_API_KEYS`)
 */
export function createApiKey(name: string, role: Role): { key: string; entry: string } {
  const key = `mak_${randomBytes(32).toString('base64url')}`;
  return { key, entry: `${name}:${role}:${hashApiKey(key)}` };
}

/**
 * Parses `name:role:sha256hex` entries separated by commas or new lines (`#` comments allowed).
 *
 * @throws ApiKeyConfigError naming the bad entry by position (never echoing the hash)
 */
export function parseApiKeys(text: string): ApiKeyEntry[] {
  const entries = text
    .split(/[,\n]/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
  const names = new Set<string>();
  return entries.map((line, index) => {
    const [name = '', role = '', sha256 = '', ...rest] = line.split(':');
    const where = `API key entry ${index + 1}`;
    if (rest.length > 0 || !NAME.test(name)) throw new ApiKeyConfigError(`${where}: expected name:role:sha256hex with a name of letters, digits, _ . @ -`);
    if (!(ROLES as readonly string[]).includes(role)) throw new ApiKeyConfigError(`${where} ("${name}"): role must be one of ${ROLES.join(', ')}`);
    if (!SHA256_HEX.test(sha256.toLowerCase())) throw new ApiKeyConfigError(`${where} ("${name}"): expected the key's SHA-256 as 64 hex digits`);
    if (names.has(name)) throw new ApiKeyConfigError(`${where}: the name "${name}" is configured twice`);
    names.add(name);
    return { name, role: role as Role, sha256: sha256.toLowerCase() };
  });
}

/** Finds the identity of an API key among the configured hashes. */
export class ApiKeyVerifier {
  private readonly keys: { digest: Buffer; identity: Identity }[];

  constructor(entries: readonly ApiKeyEntry[]) {
    this.keys = entries.map((e) => ({ digest: Buffer.from(e.sha256, 'hex'), identity: { userId: e.name, role: e.role, via: 'api-key' } }));
  }

  get size(): number {
    return this.keys.length;
  }

  /** The identity whose key this is, or `undefined`. Compares with every entry, found or not. */
  verify(key: string): Identity | undefined {
    const digest = createHash('sha256').update(key, 'utf8').digest();
    let found: Identity | undefined;
    for (const entry of this.keys) {
      if (timingSafeEqual(entry.digest, digest) && found === undefined) found = entry.identity;
    }
    return found;
  }
}
