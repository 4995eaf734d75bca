/**
 * Client configuration: the typed shape, built-in defaults, and the environment loader that
 * fails at startup naming the variable when a value is bad.
 */
import { envBool, envFile, envInt, envIntList, envOneOf, envString } from './env.js';
import type { Env } from './env.js';
import { ConfigError } from './errors.js';
import { maskUrlCredentials } from './redact.js';

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
  /** Consumer `ack_wait` in ms; a running handler is kept alive with `working()` every third of it. */
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
  /**
   * Create (and update) the platform streams and durable consumers this client needs. `false`
   * only looks them up and fails with `NotProvisionedError` when one is missing: for an identity
   * that may not create them, after `multi-agent provision` did.
   */
  provision: boolean;
  /** Prefix of the client's reply inboxes (`_INBOX` when unset); NATS permissions grant each identity its own. */
  inboxPrefix?: string;
  /** Exactly-once effect per (consumer, eventId). */
  idempotency: {
    store: IdempotencyStoreKind;
    /** How long a completed eventId is remembered (ms). */
    ttlMs: number;
    /** Bound of the in-memory store; the oldest entries are evicted beyond it. */
    maxEntries: number;
    /** Redis URL for the `redis` store. */
    redisUrl: string;
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
  provision: true,
  idempotency: { store: 'memory', ttlMs: 60 * 60 * 1000, maxEntries: 100_000, redisUrl: 'redis://127.0.0.1:6379' },
});

/** What `new NatsClient()` accepts: any subset of the config; the rest takes the built-in defaults. */
export type NatsConfigInput = Partial<Omit<NatsConfig, 'idempotency'>> & { idempotency?: Partial<NatsConfig['idempotency']> };

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
      throw new ConfigError(variable, `"${maskUrlCredentials(server)}" is not a server URL like nats://host:4222`);
    }
    let port: string;
    try {
      port = new URL(server.replace(/^\w+:/, 'http:')).port;
    } catch {
      throw new ConfigError(variable, `"${maskUrlCredentials(server)}" is not a server URL like nats://host:4222`);
    }
    if (port !== '' && (Number(port) < 1 || Number(port) > 65535)) {
      throw new ConfigError(variable, `"${maskUrlCredentials(server)}" has an invalid port`);
    }
  }
  return servers;
}

type Auth = NonNullable<NatsConfig['auth']>;

/** `user:pass` or `token`, percent-decoded as URL userinfo is written. */
function userinfoAuth(userinfo: string, variable: string, server: string): Auth {
  const colon = userinfo.indexOf(':');
  try {
    if (colon === -1) return { token: decodeURIComponent(userinfo) };
    const user = decodeURIComponent(userinfo.slice(0, colon));
    if (user === '') throw new ConfigError(variable, `"${maskUrlCredentials(server)}" has a password but no user name`);
    return { user, pass: decodeURIComponent(userinfo.slice(colon + 1)) };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(variable, `"${maskUrlCredentials(server)}" has badly percent-encoded credentials`);
  }
}

/**
 * Moves credentials written into server URLs (`nats://user:pass@host`, `nats://token@host`)
 * into `auth`: nats.js does not read them from a URL and would connect without them. URLs
 * that disagree, or URL credentials beside other auth settings, are a `ConfigError` that never
 * shows the secret.
 */
function liftUrlCredentials(servers: string[], auth: Auth | undefined, variable: string): { servers: string[]; auth: Auth | undefined } {
  let userinfo: string | undefined;
  const bare = servers.map((server) => {
    // Userinfo runs to the last `@`: a password may hold one.
    const match = /^(\w+:\/\/)(.*)@([^@]*)$/.exec(server);
    if (match === null) return server;
    const [, scheme = '', found = '', host = ''] = match;
    if (userinfo !== undefined && userinfo !== found) {
      throw new ConfigError(variable, 'the server URLs carry different credentials; give one set with NATS_USER/NATS_PASSWORD or NATS_TOKEN');
    }
    userinfo = found;
    return `${scheme}${host}`;
  });
  if (userinfo === undefined) return { servers, auth };
  if (auth !== undefined && Object.keys(auth).length > 0) {
    throw new ConfigError(variable, 'credentials in a server URL and in the auth settings (NATS_USER, NATS_TOKEN, NATS_NKEY_SEED, NATS_CREDS); give them once');
  }
  return { servers: bare, auth: userinfoAuth(userinfo, variable, servers.find((s) => s.includes('@')) ?? '') };
}

/**
 * Builds a config from environment variables over the built-in defaults.
 * Throws `ConfigError` naming the variable when a value is invalid.
 */
export function loadNatsConfig(env: Env = process.env): NatsConfig {
  const user = envString(env, 'NATS_USER');
  // A password is taken as written: spaces may be part of it.
  const pass = env.NATS_PASSWORD === '' ? undefined : env.NATS_PASSWORD;
  if ((user === undefined) !== (pass === undefined)) {
    throw new ConfigError(user === undefined ? 'NATS_USER' : 'NATS_PASSWORD', 'NATS_USER and NATS_PASSWORD must be set together');
  }
  const nkeySeed = envString(env, 'NATS_NKEY_SEED');
  if (nkeySeed !== undefined && !/^S[A-Z2-7]{10,}$/.test(nkeySeed)) {
    throw new ConfigError('NATS_NKEY_SEED', 'expected an nkey seed starting with "S"');
  }
  const auth = definedOnly({
    user,
    pass,
    token: envString(env, 'NATS_TOKEN'),
    credsFile: envFile(env, 'NATS_CREDS'),
    nkeySeed,
  });
  const tls = definedOnly({
    caFile: envFile(env, 'NATS_TLS_CA'),
    certFile: envFile(env, 'NATS_TLS_CERT'),
    keyFile: envFile(env, 'NATS_TLS_KEY'),
  });
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new ConfigError(tls.certFile === undefined ? 'NATS_TLS_CERT' : 'NATS_TLS_KEY', 'NATS_TLS_CERT and NATS_TLS_KEY must be set together');
  }
  const d = builtinNatsConfig;
  const store = envOneOf(env, 'NATS_IDEMPOTENCY_STORE', ['none', 'memory', 'kv', 'redis'] as const, d.idempotency.store);
  const redisUrl = envString(env, 'REDIS_URL', d.idempotency.redisUrl);
  if (store === 'redis' && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('REDIS_URL', 'expected redis://host:port');
  }
  const natsUrl = envString(env, 'NATS_URL');
  const lifted = liftUrlCredentials(natsUrl === undefined ? [...d.servers] : parseServers(natsUrl), auth, 'NATS_URL');
  const inboxPrefix = envString(env, 'NATS_INBOX_PREFIX');
  if (inboxPrefix !== undefined && !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(inboxPrefix)) {
    throw new ConfigError('NATS_INBOX_PREFIX', 'expected subject tokens without wildcards, e.g. _INBOX_gateway');
  }
  return {
    servers: lifted.servers,
    maxReconnectAttempts: envInt(env, 'NATS_MAX_RECONNECT_ATTEMPTS', d.maxReconnectAttempts, -1),
    reconnectTimeWait: envInt(env, 'NATS_RECONNECT_TIME_WAIT', d.reconnectTimeWait, 0),
    connectTimeoutMs: envInt(env, 'NATS_CONNECT_TIMEOUT_MS', d.connectTimeoutMs, 1),
    pingIntervalMs: envInt(env, 'NATS_PING_INTERVAL_MS', d.pingIntervalMs, 100),
    maxPingsOut: envInt(env, 'NATS_MAX_PINGS_OUT', d.maxPingsOut, 1, 100),
    maxDeliverAttempts: envInt(env, 'NATS_MAX_DELIVER_ATTEMPTS', d.maxDeliverAttempts, 1, 1000),
    ackWaitMs: envInt(env, 'NATS_ACK_WAIT_MS', d.ackWaitMs, 1000),
    retryBackoffMs: envIntList(env, 'NATS_RETRY_BACKOFF_MS', d.retryBackoffMs),
    handlerTimeoutMs: envInt(env, 'NATS_HANDLER_TIMEOUT_MS', d.handlerTimeoutMs, 0),
    concurrency: envInt(env, 'NATS_CONSUMER_CONCURRENCY', d.concurrency, 1, 10_000),
    publishTimeoutMs: envInt(env, 'NATS_PUBLISH_TIMEOUT_MS', d.publishTimeoutMs, 1),
    whenDisconnected: envOneOf(env, 'NATS_WHEN_DISCONNECTED', ['buffer', 'fail'] as const, d.whenDisconnected),
    replicas: envInt(env, 'NATS_STREAM_REPLICAS', d.replicas, 1, 5),
    tokensMaxBytes: envInt(env, 'NATS_TOKENS_MAX_BYTES', d.tokensMaxBytes, 1024),
    tokenStreamIdleMs: envInt(env, 'NATS_TOKEN_STREAM_IDLE_MS', d.tokenStreamIdleMs, 1),
    coreSubjects: [...d.coreSubjects],
    provision: envBool(env, 'NATS_PROVISION', d.provision),
    ...(inboxPrefix === undefined ? {} : { inboxPrefix }),
    idempotency: {
      store,
      ttlMs: envInt(env, 'NATS_IDEMPOTENCY_TTL_MS', d.idempotency.ttlMs, 1000),
      maxEntries: envInt(env, 'NATS_IDEMPOTENCY_MAX_ENTRIES', d.idempotency.maxEntries, 1),
      redisUrl,
    },
    ...(lifted.auth === undefined || Object.keys(lifted.auth).length === 0 ? {} : { auth: lifted.auth }),
    ...(Object.keys(tls).length === 0 ? {} : { tls }),
  };
}

/** The object without its `undefined` fields. */
function definedOnly<T extends Record<string, string | undefined>>(fields: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: string };
}

/**
 * The configuration from the environment (`NATS_URL`, `NATS_MAX_DELIVER_ATTEMPTS`, ...), read
 * when first used rather than at import: importing the package never throws, and a bad
 * value fails with `ConfigError` where the client is built (`new NatsClient(defaultNatsConfig, ...)`).
 */
export const defaultNatsConfig: NatsConfig = readOnFirstUse(() => loadNatsConfig());

function readOnFirstUse(load: () => NatsConfig): NatsConfig {
  let loaded: NatsConfig | undefined;
  const config = (): NatsConfig => (loaded ??= load());
  return new Proxy({} as NatsConfig, {
    get: (_, key): unknown => Reflect.get(config(), key),
    has: (_, key) => Reflect.has(config(), key),
    ownKeys: () => Reflect.ownKeys(config()),
    getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(config(), key),
  });
}

/** Merges a partial config over the built-in defaults and checks values that env parsing cannot. */
export function resolveConfig(input: NatsConfigInput): NatsConfig {
  const config: NatsConfig = {
    ...builtinNatsConfig,
    ...input,
    idempotency: { ...builtinNatsConfig.idempotency, ...input.idempotency },
  };
  if (config.servers.length === 0) throw new ConfigError('servers', 'expected at least one server URL');
  const lifted = liftUrlCredentials(parseServers(config.servers.join(','), 'servers'), config.auth, 'servers');
  config.servers = lifted.servers;
  if (lifted.auth !== undefined) config.auth = lifted.auth;
  if (config.retryBackoffMs.length === 0) throw new ConfigError('retryBackoffMs', 'expected at least one delay');
  if (!Number.isInteger(config.maxDeliverAttempts) || config.maxDeliverAttempts < 1) {
    throw new ConfigError('maxDeliverAttempts', 'expected an integer >= 1');
  }
  if (config.ackWaitMs < 1000) throw new ConfigError('ackWaitMs', 'expected at least 1000 ms');
  return config;
}
