/**
 * Reading settings from environment variables: the client's own (`loadNatsConfig`) and the
 * services'. A bad value fails with a `ConfigError` that names the variable.
 */
import { existsSync } from 'node:fs';
import { ConfigError } from './errors.js';

/** The environment to read: `process.env` or a plain object in tests. */
export type Env = Record<string, string | undefined>;

function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A string variable, or `fallback` when unset or empty. */
export function envString(env: Env, name: string, fallback: string): string;
/** A string variable, or `undefined` when unset or empty. */
export function envString(env: Env, name: string): string | undefined;
export function envString(env: Env, name: string, fallback?: string): string | undefined {
  return raw(env, name) ?? fallback;
}

/**
 * An integer variable within `[min, max]`.
 *
 * @throws ConfigError naming the variable when it is not an integer in range
 */
export function envInt(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `expected an integer between ${min} and ${max}, got "${value}"`);
  }
  return n;
}

/**
 * A comma-separated list of non-negative integers.
 *
 * @throws ConfigError naming the variable when an entry is not a non-negative integer
 */
export function envIntList(env: Env, name: string, fallback: readonly number[]): number[] {
  const value = raw(env, name);
  if (value === undefined) return [...fallback];
  const values = value.split(',').map((part) => Number(part.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new ConfigError(name, `expected a comma-separated list of non-negative integers, got "${value}"`);
  }
  return values;
}

/**
 * The path of a file that must exist.
 *
 * @throws ConfigError naming the variable when the file does not exist
 */
export function envFile(env: Env, name: string): string | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  if (!existsSync(value)) throw new ConfigError(name, `file "${value}" does not exist`);
  return value;
}

/**
 * A boolean variable: `1/true/yes/on` or `0/false/no/off`.
 *
 * @throws ConfigError naming the variable for anything else
 */
export function envBool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(name, `expected true or false, got "${value}"`);
}

/**
 * One of a fixed set of values.
 *
 * @throws ConfigError naming the variable and the allowed values
 */
export function envOneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value as T;
}

/**
 * An http(s) URL.
 *
 * @throws ConfigError naming the variable when it does not parse as http(s)
 */
export function envUrl(env: Env, name: string): string | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, `expected an http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `expected an http(s) URL, got "${value}"`);
  }
  return value.replace(/\/+$/, '');
}
