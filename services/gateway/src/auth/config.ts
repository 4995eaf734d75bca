/**
 * The gateway's authentication from the environment:
 * - `GATEWAY_API_KEYS`: `name:role:sha256hex` entries, comma-separated;
 * - `GATEWAY_API_KEYS_FILE`: a file of such entries, one per line (a mounted secret);
 * - `GATEWAY_JWKS_URL` with `GATEWAY_JWT_ISSUER` and `GATEWAY_JWT_AUDIENCE` (both required with
 *   it), and `GATEWAY_JWT_ROLES_CLAIM` (default `roles`).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, envFile, envString, envUrl } from '@multi-agent/nats-client';
import type { Env } from '@multi-agent/nats-client';
import { ApiKeyConfigError, parseApiKeys } from './api-keys.js';
import type { ApiKeyEntry } from './api-keys.js';
import type { GatewayAuthOptions } from './authenticate.js';

function keysOf(variable: string, text: string): ApiKeyEntry[] {
  try {
    return parseApiKeys(text);
  } catch (err) {
    if (err instanceof ApiKeyConfigError) throw new ConfigError(variable, err.message);
    throw err;
  }
}

/**
 * Reads the variables above.
 *
 * @throws ConfigError naming the variable that is malformed or missing
 */
export function gatewayAuthFromEnv(env: Env): GatewayAuthOptions {
  const inline = envString(env, 'GATEWAY_API_KEYS');
  const file = envFile(env, 'GATEWAY_API_KEYS_FILE');
  const apiKeys = [
    ...(inline === undefined ? [] : keysOf('GATEWAY_API_KEYS', inline)),
    ...(file === undefined ? [] : keysOf('GATEWAY_API_KEYS_FILE', readFileSync(file, 'utf8'))),
  ];
  const jwksUrl = envUrl(env, 'GATEWAY_JWKS_URL');
  if (jwksUrl === undefined) return { apiKeys };
  const required = (name: string): string => {
    const value = envString(env, name);
    if (value === undefined) throw new ConfigError(name, 'required with GATEWAY_JWKS_URL');
    return value;
  };
  const rolesClaim = envString(env, 'GATEWAY_JWT_ROLES_CLAIM');
  return {
    apiKeys,
    jwt: { jwksUrl, issuer: required('GATEWAY_JWT_ISSUER'), audience: required('GATEWAY_JWT_AUDIENCE'), ...(rolesClaim === undefined ? {} : { rolesClaim }) },
  };
}
