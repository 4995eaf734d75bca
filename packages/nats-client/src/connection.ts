/**
 * The connection of one client: dialling with the configured auth and TLS, following nats.js
 * status events to know whether the link is up, waiting for a reconnect, and draining on close.
 * It knows nothing about streams or subscriptions; `NatsClient` builds those on top of it.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { credsAuthenticator, nkeyAuthenticator } from '@nats-io/nats-core';
import type { Authenticator, NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import type { NatsConfig } from './config.js';
import { connectFailure } from './connect-failure.js';
import { withApiRetry } from './jetstream-api.js';
import { ReplyMux } from './reply-mux.js';
import type { Logger } from './logger.js';
import type { ClientMetrics } from './metrics.js';
import type { PublishTarget } from './publisher.js';

/** What a connection needs from the client that opens it. */
export interface ConnectionDeps {
  config: NatsConfig;
  /** Names the connection on the server (`connz`). */
  serviceName: string;
  logger: Logger;
  metrics: ClientMetrics;
  /** How long to retry the JetStream account-info call a forming cluster leaves unanswered (ms). */
  setupTimeoutMs: number;
}

function authenticator(auth: NatsConfig['auth']): Authenticator | undefined {
  if (auth?.credsFile !== undefined) return credsAuthenticator(readFileSync(auth.credsFile));
  if (auth?.nkeySeed !== undefined) return nkeyAuthenticator(new TextEncoder().encode(auth.nkeySeed));
  return undefined;
}

async function dial({ config, serviceName }: ConnectionDeps): Promise<NatsConnection> {
  const auth = config.auth;
  const authenticate = authenticator(auth);
  try {
    return await connect({
      servers: config.servers,
      name: serviceName,
      maxReconnectAttempts: config.maxReconnectAttempts,
      reconnectTimeWait: config.reconnectTimeWait,
      timeout: config.connectTimeoutMs,
      pingInterval: config.pingIntervalMs,
      // nats.js builds two Errors with stack traces per request to enrich a possible timeout:
      // about half the CPU of a JetStream publish. V8's async stack traces cover our awaits.
      noAsyncTraces: true,
      maxPingOut: config.maxPingsOut,
      ...(auth?.user === undefined ? {} : { user: auth.user, pass: auth.pass }),
      ...(auth?.token === undefined ? {} : { token: auth.token }),
      ...(authenticate === undefined ? {} : { authenticator: authenticate }),
      ...(config.tls === undefined ? {} : { tls: config.tls }),
      ...(config.inboxPrefix === undefined ? {} : { inboxPrefix: config.inboxPrefix }),
    });
  } catch (err) {
    throw await connectFailure(err, config);
  }
}

/** One live connection to NATS with its JetStream client and manager. */
export class BusConnection implements PublishTarget {
  /** False while nats.js reconnects and after the status stream ended. */
  connected = true;
  private readonly reconnectWaiters = new Set<() => void>();

  /** Requests made per event (PubAcks, request/reply), without nats.js's per-request cost (reply-mux.ts). */
  readonly mux: ReplyMux;

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    private readonly deps: ConnectionDeps,
  ) {
    this.mux = new ReplyMux(nc, deps.config.inboxPrefix);
  }

  /** Dials the servers and checks that JetStream answers; a failure leaves no connection behind. */
  static async open(deps: ConnectionDeps): Promise<BusConnection> {
    const nc = await dial(deps);
    try {
      const js = jetstream(nc, { timeout: deps.config.publishTimeoutMs });
      const jsm = await withApiRetry('JetStream account info', deps.setupTimeoutMs, () => jetstreamManager(nc));
      const connection = new BusConnection(nc, js, jsm, deps);
      deps.metrics.connected.set(1);
      void connection.watchStatus();
      return connection;
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /** True while the link is up and the connection not closed. */
  get isUp(): boolean {
    return this.connected && !this.nc.isClosed();
  }

  /** Resolves true once connected (again), false after `timeoutMs` or when the connection closed. */
  untilConnected(timeoutMs: number): Promise<boolean> {
    if (this.isUp) return Promise.resolve(true);
    if (timeoutMs <= 0 || this.nc.isClosed()) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.reconnectWaiters.delete(wake);
        resolve(false);
      }, timeoutMs);
      this.reconnectWaiters.add(wake);
    });
  }

  /** Drains the connection; one cut off from every server just closes, since draining needs the server. */
  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    if (this.isUp) await this.nc.drain().catch(() => this.nc.close());
    else await this.nc.close();
    this.mux.close();
    this.deps.metrics.connected.set(0);
  }

  private async watchStatus(): Promise<void> {
    const { logger, metrics } = this.deps;
    for await (const status of this.nc.status()) {
      metrics.connectionEvents.inc({ type: status.type });
      if (status.type === 'disconnect') {
        this.connected = false;
        metrics.connected.set(0);
        logger.warn({ server: status.server }, 'disconnected from NATS; reconnecting');
      } else if (status.type === 'reconnect') {
        this.connected = true;
        metrics.connected.set(1);
        for (const wake of this.reconnectWaiters) wake();
        this.reconnectWaiters.clear();
        logger.info({ server: status.server }, 'reconnected to NATS');
      }
    }
    this.connected = false;
    metrics.connected.set(0);
  }
}
