/**
 * Client configuration: the typed shape, built-in defaults, and the environment loader that
 * fails at startup naming the variable when a value is bad.
 */
import { existsSync } from 'node:fs';
import { ConfigError } from './errors.js';

/** Which idempotency store guards handlers: `none` turns the guard off for a client. */
export type IdempotencyStoreKind = 'none' | 'memory' | 'kv' | 'redis';

/** Everything the client needs to connect and to run subscriptions. */
export interface NatsConfig {
  /** Server URLs (`nats://host:port`); the client fails over between them. */
  servers: string[];
  /** Reconnect attempts per server after a disconnect; `-1` retries forever. */
  maxReconnectAttempts: number;
  /** Milliseconds between reconnect attempts to the same server. */
  reconnectTimeWait: number;
  /** Milliseconds to wait for the first connection before `connect()` fails. */
  connectTimeoutMs: number;
  /** Ping the server this often (ms); a server that misses `maxPingsOut` pings in a row is dropped and another tried. */
  pingIntervalMs: number;
  /** Unanswered pings before the connection counts as stale (a stalled server is detected in about interval x this). */
  maxPingsOut: number;
  /** Deliveries of one event before it is dead-lettered (the consumer's `max_deliver`). */
  maxDeliverAttempts: number;
  /** Consumer `ack_wait` in ms; a running handler is kept alive with `working()` every half of it. */
  ackWaitMs: number;
  /** Delay before retry n (ms), taken from this list by attempt number; the last entry repeats. */
  retryBackoffMs: number[];
  /** A handler that runs longer fails its attempt (ms); `0` means no limit. */
  handlerTimeoutMs: number;
  /** Handlers running at once per subscription unless the subscription says otherwise. */
  concurrency: number;
  /** Milliseconds to wait for a JetStream PubAck before a publish fails with `PublishError`. */
  publishTimeoutMs: number;
  /**
   * What `publish()` does while the connection is down: `buffer` queues it in the client and
   * waits up to `publishTimeoutMs` for the ack after reconnecting; `fail` throws `NotConnectedError` at once.
   */
  whenDisconnected: 'buffer' | 'fail';
  /** Stream replicas: 1 for a single server, 3 in a cluster. */
  replicas: number;
  /** Byte bound of the TOKENS stream (oldest tokens are discarded beyond it). */
  tokensMaxBytes: number;
  /** Milliseconds without a token before `subscribeStream()` gives up with `StreamIdleError`. */
  tokenStreamIdleMs: number;
  /** Subjects served by core NATS (request/reply) rather than stored in a stream. */
  coreSubjects: string[];
  /** Exactly-once effect per (consumer, eventId). */
  idempotency: {
    store: IdempotencyStoreKind;
    /** How long a completed eventId is remembered (ms). */
    ttlMs: number;
    /** Bound of the in-memory store; the oldest entries are evicted beyond it. */
    maxEntries: number;
    /** Redis URL for the `redis` store. */
    redisUrl?: string;
  };
  auth?: {
    user?: string;
    pass?: string;
    token?: string;
    /** Path of a `.creds` file (JWT + nkey seed). */
    credsFile?: string;
    /** An nkey seed (`SU...`). */
    nkeySeed?: string;
  };
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

/** The built-in defaults, before the environment is read. */
export const builtinNatsConfig: Readonly<NatsConfig> = Object.freeze<NatsConfig>({
  servers: ['nats://localhost:4222'],
  maxReconnectAttempts: -1,
  reconnectTimeWait: 2000,
  connectTimeoutMs: 5000,
  pingIntervalMs: 10_000,
  maxPingsOut: 2,
  maxDeliverAttempts: 3,
  ackWaitMs: 30_000,
  retryBackoffMs: [1000, 5000, 15_000],
  handlerTimeoutMs: 0,
  concurrency: 8,
  publishTimeoutMs: 5000,
  whenDisconnected: 'buffer',
  replicas: 1,
  tokensMaxBytes: 256 * 1024 * 1024,
  tokenStreamIdleMs: 60_000,
  coreSubjects: ['tool.execute.>'],
  idempotency: { store: 'memory', ttlMs: 60 * 60 * 1000, maxEntries: 100_000 },
});

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `expected an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function integerList(env: Env, name: string, fallback: number[]): number[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new ConfigError(name, `expected a comma-separated list of non-negative integers, got "${raw}"`);
  }
  return values;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function existingFile(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!existsSync(raw)) throw new ConfigError(name, `file "${raw}" does not exist`);
  return raw;
}

const SERVER_URL = /^(nats|tls|ws|wss):\/\/[^\s/]+$/;

/** Parses a comma-separated server list; a bare `host:port` gets the `nats://` scheme. */
export function parseServers(raw: string, variable = 'NATS_URL'): string[] {
  const servers = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (s.includes('://') ? s : `nats://${s}`));
  if (servers.length === 0) throw new ConfigError(variable, 'expected at least one server URL');
  for (const server of servers) {
    if (!SERVER_URL.test(server)) {
      throw new ConfigError(variable, `"${server}" is not a server URL like nats://host:4222`);
    }
    let port: string;
    try {
      port = new URL(server.replace(/^\w+:/, 'http:')).port;
    } catch {
      throw new ConfigError(variable, `"${server}" is not a server URL like nats://host:4222`);
    }
    if (port !== '' && (Number(port) < 1 || Number(port) > 65535)) {
      throw new ConfigError(variable, `"${server}" has an invalid port`);
    }
  }
  return servers;
}

/**
 * Builds a config from environment variables over the built-in defaults.
 * Throws `ConfigError` naming the variable when a value is invalid.
 */
export function loadNatsConfig(env: Env = process.env): NatsConfig {
  const user = env.NATS_USER?.trim() || undefined;
  const pass = env.NATS_PASSWORD || undefined;
  if ((user === undefined) !== (pass === undefined)) {
    throw new ConfigError(user === undefined ? 'NATS_USER' : 'NATS_PASSWORD', 'NATS_USER and NATS_PASSWORD must be set together');
  }
  const nkeySeed = env.NATS_NKEY_SEED?.trim() || undefined;
  if (nkeySeed !== undefined && !/^S[A-Z2-7]{10,}$/.test(nkeySeed)) {
    throw new ConfigError('NATS_NKEY_SEED', 'expected an nkey seed starting with "S"');
  }
  const auth = {
    user,
    pass,
    token: env.NATS_TOKEN?.trim() || undefined,
    credsFile: existingFile(env, 'NATS_CREDS'),
    nkeySeed,
  };
  const tls = {
    caFile: existingFile(env, 'NATS_TLS_CA'),
    certFile: existingFile(env, 'NATS_TLS_CERT'),
    keyFile: existingFile(env, 'NATS_TLS_KEY'),
  };
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new ConfigError(tls.certFile === undefined ? 'NATS_TLS_CERT' : 'NATS_TLS_KEY', 'NATS_TLS_CERT and NATS_TLS_KEY must be set together');
  }
  const store = oneOf(env, 'NATS_IDEMPOTENCY_STORE', ['none', 'memory', 'kv', 'redis'] as const, builtinNatsConfig.idempotency.store);
  const redisUrl = env.REDIS_URL?.trim() || undefined;
  if (store === 'redis' && redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('REDIS_URL', `expected redis://host:port, got "${redisUrl}"`);
  }
  const d = builtinNatsConfig;
  const config: NatsConfig = {
    servers: env.NATS_URL?.trim() ? parseServers(env.NATS_URL) : [...d.servers],
    maxReconnectAttempts: integer(env, 'NATS_MAX_RECONNECT_ATTEMPTS', d.maxReconnectAttempts, -1),
    reconnectTimeWait: integer(env, 'NATS_RECONNECT_TIME_WAIT', d.reconnectTimeWait, 0),
    connectTimeoutMs: integer(env, 'NATS_CONNECT_TIMEOUT_MS', d.connectTimeoutMs, 1),
    pingIntervalMs: integer(env, 'NATS_PING_INTERVAL_MS', d.pingIntervalMs, 100),
    maxPingsOut: integer(env, 'NATS_MAX_PINGS_OUT', d.maxPingsOut, 1, 100),
    maxDeliverAttempts: integer(env, 'NATS_MAX_DELIVER_ATTEMPTS', d.maxDeliverAttempts, 1, 1000),
    ackWaitMs: integer(env, 'NATS_ACK_WAIT_MS', d.ackWaitMs, 1000),
    retryBackoffMs: integerList(env, 'NATS_RETRY_BACKOFF_MS', [...d.retryBackoffMs]),
    handlerTimeoutMs: integer(env, 'NATS_HANDLER_TIMEOUT_MS', d.handlerTimeoutMs, 0),
    concurrency: integer(env, 'NATS_CONSUMER_CONCURRENCY', d.concurrency, 1, 10_000),
    publishTimeoutMs: integer(env, 'NATS_PUBLISH_TIMEOUT_MS', d.publishTimeoutMs, 1),
    whenDisconnected: oneOf(env, 'NATS_WHEN_DISCONNECTED', ['buffer', 'fail'] as const, d.whenDisconnected),
    replicas: integer(env, 'NATS_STREAM_REPLICAS', d.replicas, 1, 5),
    tokensMaxBytes: integer(env, 'NATS_TOKENS_MAX_BYTES', d.tokensMaxBytes, 1024),
    tokenStreamIdleMs: integer(env, 'NATS_TOKEN_STREAM_IDLE_MS', d.tokenStreamIdleMs, 1),
    coreSubjects: [...d.coreSubjects],
    idempotency: {
      store,
      ttlMs: integer(env, 'NATS_IDEMPOTENCY_TTL_MS', d.idempotency.ttlMs, 1000),
      maxEntries: integer(env, 'NATS_IDEMPOTENCY_MAX_ENTRIES', d.idempotency.maxEntries, 1),
      redisUrl,
    },
    auth: Object.values(auth).some((v) => v !== undefined) ? auth : undefined,
    tls: Object.values(tls).some((v) => v !== undefined) ? tls : undefined,
  };
  return config;
}

/** Config from the environment at startup (`NATS_URL`, `NATS_MAX_DELIVER_ATTEMPTS`, ...). */
export const defaultNatsConfig: NatsConfig = loadNatsConfig();

/** Merges a partial config over the built-in defaults and checks values that env parsing cannot. */
export function resolveConfig(input: Partial<NatsConfig>): NatsConfig {
  const config: NatsConfig = {
    ...builtinNatsConfig,
    ...input,
    idempotency: { ...builtinNatsConfig.idempotency, ...input.idempotency },
  };
  if (config.servers.length === 0) throw new ConfigError('servers', 'expected at least one server URL');
  config.servers = parseServers(config.servers.join(','), 'servers');
  if (config.retryBackoffMs.length === 0) throw new ConfigError('retryBackoffMs', 'expected at least one delay');
  if (!Number.isInteger(config.maxDeliverAttempts) || config.maxDeliverAttempts < 1) {
    throw new ConfigError('maxDeliverAttempts', 'expected an integer >= 1');
  }
  if (config.ackWaitMs < 1000) throw new ConfigError('ackWaitMs', 'expected at least 1000 ms');
  return config;
}
