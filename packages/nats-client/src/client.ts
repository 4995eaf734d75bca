/**
 * `NatsClient`: the one object a service uses to talk to the bus. It wires the pieces
 * (publisher, subscriptions, requester, token streams, idempotency, DLQ) to one connection.
 */
import { assertSubjectToken, assertSubscribeSubject, subjects } from '@multi-agent/events';
import type { BaseEvent, DomainEvent, TokenMessage } from '@multi-agent/events';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { credsAuthenticator, nkeyAuthenticator } from '@nats-io/nats-core';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { resolveConfig } from './config.js';
import type { NatsConfig } from './config.js';
import { CoreSubscription } from './core-subscription.js';
import { DeadLetterWriter } from './dead-letter.js';
import { readEvents } from './event-log.js';
import type { ReadEventsOptions, StoredEvent } from './event-log.js';
import { DEAD_LETTER_WATCHER, deadLetterWatcher } from './dead-letter-watcher.js';
import { EventDelivery } from './delivery.js';
import { ClientClosedError, NotConnectedError } from './errors.js';
import type { EventHandler, SubscribeOptions, Subscription } from './handler.js';
import { KvIdempotencyStore } from './idempotency/kv-store.js';
import { MemoryIdempotencyStore } from './idempotency/memory-store.js';
import { RedisIdempotencyStore } from './idempotency/redis-store.js';
import type { IdempotencyStore } from './idempotency/store.js';
import { JetStreamSubscription } from './jetstream-subscription.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';
import { ClientMetrics } from './metrics.js';
import { withApiRetry } from './jetstream-api.js';
import { EventPublisher } from './publisher.js';
import type { PublishableEvent, PublishResult } from './publisher.js';
import { DeadLetterReplayer } from './replay.js';
import { Requester } from './requester.js';
import { ensureStreams } from './streams.js';
import type { StreamReconcileResult } from './streams.js';
import { TextConnection } from './text-connection.js';
import { TokenPublisher } from './token-publisher.js';
import { readTokenStream } from './token-reader.js';
import type { SubscribeStreamOptions } from './token-reader.js';
import { AdvisorySubjects, StreamNames, platformStreams, streamFor } from './topology.js';
import type { StreamSpec } from './topology.js';

/** Options beyond the config. */
export interface NatsClientOptions {
  /** A pino logger; default: one named after the service, level from `LOG_LEVEL`. */
  logger?: Logger;
  /** Register metrics here instead of a registry of the client's own. */
  metricsRegistry?: Registry;
  /** Use this idempotency store instead of the one `config.idempotency.store` names (e.g. one shared in-process). */
  idempotencyStore?: IdempotencyStore;
  /** Run the shared DLQ watcher that dead-letters MAX_DELIVERIES advisories (default true). */
  deadLetterWatcher?: boolean;
  /** How long `close()` and `Subscription.stop()` wait for handlers in flight (ms, default 10 000). */
  stopTimeoutMs?: number;
}

/** What `health()` reports. */
export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  connected: boolean;
  server?: string;
  serverVersion?: string;
  streams: StreamReconcileResult[];
  subscriptions: { subject: string; consumer: string; kind: Subscription['kind'] }[];
}

interface Live {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  connected: boolean;
  untilConnected(timeoutMs: number): Promise<boolean>;
}

/** How long connect() keeps retrying JetStream setup calls a forming cluster leaves unanswered. */
const SETUP_TIMEOUT_MS = 30_000;

/** A durable name derived from service and subject, so replicas of a service share one consumer. */
export function deriveDurableName(service: string, subject: string): string {
  const slug = subject.replace(/\./g, '_').replace(/\*/g, 'any').replace(/>/g, 'all');
  return assertSubjectToken(`${service}-${slug}`.slice(0, 128), 'durableName');
}

/** Server versions before 2.10 ignore `term(reason)` and redeliver. */
function supportsTermReason(version: string | undefined): boolean {
  const [major = 0, minor = 0] = (version ?? '0.0').split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 10);
}

/** The bus client of one service. */
export class NatsClient {
  /** The resolved configuration. */
  readonly config: NatsConfig;
  readonly logger: Logger;
  readonly metrics: ClientMetrics;
  private readonly streams: StreamSpec[];
  private readonly publisher: EventPublisher;
  private readonly requester: Requester;
  private readonly tokens: TokenPublisher;
  private readonly subscriptions = new Set<Subscription>();
  private live: Live | undefined;
  private store: IdempotencyStore | undefined;
  private watcher: JetStreamSubscription | undefined;
  private replayer: DeadLetterReplayer | undefined;
  private streamReport: StreamReconcileResult[] = [];
  private closing = false;
  private connecting: Promise<void> | undefined;
  private readonly reconnectWaiters = new Set<() => void>();

  /**
   * @param config - connection and delivery settings; missing fields take the built-in defaults
   *   (pass `defaultNatsConfig` to use the environment)
   * @param serviceName - names the connection, the queue groups and derived durable consumers
   */
  constructor(
    config: Partial<NatsConfig>,
    readonly serviceName: string,
    private readonly options: NatsClientOptions = {},
  ) {
    assertSubjectToken(serviceName, 'serviceName');
    this.config = resolveConfig(config);
    this.logger = options.logger ?? createLogger(serviceName);
    this.metrics = new ClientMetrics(serviceName, options.metricsRegistry);
    this.streams = platformStreams(this.config);
    this.publisher = new EventPublisher(() => this.live, this.config, this.streams, this.metrics);
    this.requester = new Requester(() => this.live?.nc, this.logger);
    this.tokens = new TokenPublisher(() => this.requireLive(), this.config.publishTimeoutMs);
  }

  /** True while the connection is up (false before `connect()`, while reconnecting, and after `close()`). */
  get isConnected(): boolean {
    return this.live !== undefined && this.live.connected && !this.live.nc.isClosed();
  }

  /** Core NATS with text payloads, e.g. for the guide's token-stream reader. */
  get connection(): TextConnection {
    return new TextConnection(this.requireLive().nc);
  }

  /** The underlying nats.js connection, for what this client does not wrap. */
  get natsConnection(): NatsConnection {
    return this.requireLive().nc;
  }

  /** The JetStream client and manager of the live connection. */
  get jetstream(): { js: JetStreamClient; jsm: JetStreamManager } {
    const { js, jsm } = this.requireLive();
    return { js, jsm };
  }

  /** Connects, then creates or updates the streams and starts the DLQ watcher. Idempotent. */
  connect(): Promise<void> {
    if (this.closing) return Promise.reject(new ClientClosedError());
    this.connecting ??= this.open().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  /** Publishes an event; resolves once JetStream stored it. Missing `eventId`/`timestamp`/`version` are filled in. */
  publish(event: PublishableEvent): Promise<PublishResult> {
    return this.publisher.publish(event);
  }

  /**
   * Subscribes a handler. A stream subject gets a durable pull consumer (shared by every
   * instance of the service unless `broadcast`); any other subject a core queue subscription.
   *
   * @param durableName - defaults to a name derived from service and subject
   */
  async subscribe<E extends BaseEvent = DomainEvent>(
    subject: string,
    handler: EventHandler<E>,
    durableName?: string,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    assertSubscribeSubject(subject);
    if (durableName !== undefined) assertSubjectToken(durableName, 'durableName');
    const live = this.requireLive();
    const run = handler as unknown as EventHandler<DomainEvent>;
    const concurrency = options.concurrency ?? this.config.concurrency;
    const stopTimeoutMs = this.options.stopTimeoutMs ?? 10_000;
    const stream = streamFor(this.streams, subject);
    let subscription: Subscription;
    if (stream === undefined) {
      subscription = new CoreSubscription(
        run,
        { subject, queue: options.broadcast === true ? undefined : (durableName ?? this.serviceName), concurrency, stopTimeoutMs },
        { nc: live.nc, publishCausedBy: (e, cause) => this.publishCausedBy(e, cause), logger: this.logger, metrics: this.metrics },
      );
    } else {
      subscription = await this.subscribeJetStream(stream, subject, run, durableName, options, concurrency, stopTimeoutMs);
    }
    this.subscriptions.add(subscription);
    // A subscription the caller stops leaves health() and is not stopped again by close().
    const stop = subscription.stop.bind(subscription);
    subscription.stop = async () => {
      this.subscriptions.delete(subscription);
      await stop();
    };
    return subscription;
  }

  /** Sends a request on a core subject and resolves with the reply event. */
  request(subject: string, event: PublishableEvent, timeoutMs = 5000): Promise<DomainEvent> {
    return this.requester.request(subject, event, timeoutMs);
  }

  /** Streams one token to `model.token.stream.<executionId>`; `isComplete` ends the stream. */
  publishStream(subject: string, token: string, isComplete: boolean): Promise<void> {
    return this.tokens.publish(subject, token, isComplete);
  }

  /**
   * Reads a token stream from its first token (or `fromSeq`), even when started late, and
   * ends after the completion token.
   *
   * @param executionIdOrSubject - an executionId, or the full `model.token.stream.<id>` subject
   */
  subscribeStream(executionIdOrSubject: string, options: SubscribeStreamOptions = {}): AsyncIterable<TokenMessage> {
    const subject = executionIdOrSubject.includes('.') ? executionIdOrSubject : subjects.tokenStream(executionIdOrSubject);
    const { nc, js } = this.requireLive();
    return readTokenStream(nc, js, subject, { ...options, idleTimeoutMs: options.idleTimeoutMs ?? this.config.tokenStreamIdleMs }, this.logger);
  }

  /** Reads stored events back (a flow by correlationId, events caused by one, from a sequence or time). */
  readEvents(options: ReadEventsOptions = {}): AsyncGenerator<StoredEvent> {
    return readEvents(this.requireLive().js, options);
  }

  /** DLQ inspection and replay. */
  get deadLetters(): DeadLetterReplayer {
    const live = this.requireLive();
    this.replayer ??= new DeadLetterReplayer(live.js, live.jsm, this.publisher, this.config.replicas);
    return this.replayer;
  }

  /** Connection, stream and subscription state, for `/healthz` and `/readyz`. */
  health(): HealthReport {
    const connected = this.isConnected;
    const failedStreams = this.streamReport.some((s) => s.action === 'drift-not-updated');
    return {
      status: !connected ? 'down' : failedStreams ? 'degraded' : 'ok',
      connected,
      server: this.live?.nc.getServer(),
      serverVersion: this.live?.nc.info?.version,
      streams: this.streamReport,
      subscriptions: [...this.subscriptions].map((s) => ({ subject: s.subject, consumer: s.consumer, kind: s.kind })),
    };
  }

  /** Stops taking messages, waits (bounded) for handlers in flight and token acks, then drains the connection. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.connecting?.catch(() => undefined);
    const subs = [...this.subscriptions, ...(this.watcher === undefined ? [] : [this.watcher])];
    await Promise.all(subs.map((s) => s.stop()));
    this.subscriptions.clear();
    await this.tokens.flush();
    this.requester.close();
    await this.store?.close().catch((err: unknown) => this.logger.warn({ err }, 'closing the idempotency store failed'));
    const nc = this.live?.nc;
    if (nc === undefined || nc.isClosed()) return;
    // Draining needs the server; a client cut off from every server just closes.
    if (this.isConnected) await nc.drain().catch(() => nc.close());
    else await nc.close();
  }

  private async open(): Promise<void> {
    const nc = await this.dial();
    try {
      await this.setUp(nc);
    } catch (err) {
      // A failed connect() must not leave a connection (or half a client) behind.
      await Promise.all([...this.subscriptions, ...(this.watcher === undefined ? [] : [this.watcher])].map((s) => s.stop()));
      this.watcher = undefined;
      this.live = undefined;
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  private async setUp(nc: NatsConnection): Promise<void> {
    const js = jetstream(nc, { timeout: this.config.publishTimeoutMs });
    const jsm = await withApiRetry('JetStream account info', SETUP_TIMEOUT_MS, () => jetstreamManager(nc));
    this.live = { nc, js, jsm, connected: true, untilConnected: (ms) => this.untilConnected(ms) };
    void this.watchStatus(nc);
    this.streamReport = await ensureStreams(jsm, this.streams, SETUP_TIMEOUT_MS);
    for (const s of this.streamReport) {
      if (s.action === 'drift-not-updated') this.logger.warn(s, 'stream config drifted and could not be updated');
      else if (s.action !== 'unchanged') this.logger.info(s, `stream ${s.action}`);
    }
    this.store = this.options.idempotencyStore ?? (await this.openStore(js));
    if (this.options.deadLetterWatcher !== false) await this.startWatcher();
    this.logger.info({ server: nc.getServer(), version: nc.info?.version }, 'connected to NATS');
  }

  private async dial(): Promise<NatsConnection> {
    const { config } = this;
    const auth = config.auth;
    try {
      return await connect({
        servers: config.servers,
        name: this.serviceName,
        maxReconnectAttempts: config.maxReconnectAttempts,
        reconnectTimeWait: config.reconnectTimeWait,
        timeout: config.connectTimeoutMs,
        pingInterval: config.pingIntervalMs,
        // nats.js builds two Errors with stack traces per request to enrich a possible timeout:
        // about half the CPU of a JetStream publish. V8's async stack traces cover our awaits.
        noAsyncTraces: true,
        maxPingOut: config.maxPingsOut,
        user: auth?.user,
        pass: auth?.pass,
        token: auth?.token,
        authenticator:
          auth?.credsFile !== undefined
            ? credsAuthenticator(readFileSync(auth.credsFile))
            : auth?.nkeySeed !== undefined
              ? nkeyAuthenticator(new TextEncoder().encode(auth.nkeySeed))
              : undefined,
        tls: config.tls,
      });
    } catch (err) {
      throw new NotConnectedError(
        `could not connect to ${config.servers.join(', ')}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      this.metrics.connectionEvents.inc({ type: status.type });
      if (status.type === 'disconnect') {
        if (this.live !== undefined) this.live.connected = false;
        this.logger.warn({ server: status.server }, 'disconnected from NATS; reconnecting');
      } else if (status.type === 'reconnect') {
        if (this.live !== undefined) this.live.connected = true;
        for (const wake of this.reconnectWaiters) wake();
        this.reconnectWaiters.clear();
        this.logger.info({ server: status.server }, 'reconnected to NATS');
      }
    }
    if (this.live !== undefined) this.live.connected = false;
  }

  private untilConnected(timeoutMs: number): Promise<boolean> {
    if (this.isConnected) return Promise.resolve(true);
    if (timeoutMs <= 0 || this.live?.nc.isClosed() !== false) return Promise.resolve(false);
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

  private async openStore(js: JetStreamClient): Promise<IdempotencyStore | undefined> {
    const { idempotency, replicas } = this.config;
    switch (idempotency.store) {
      case 'none':
        return undefined;
      case 'memory':
        return new MemoryIdempotencyStore({ ttlMs: idempotency.ttlMs, maxEntries: idempotency.maxEntries });
      case 'kv':
        return KvIdempotencyStore.open(js, { ttlMs: idempotency.ttlMs, replicas, openTimeoutMs: SETUP_TIMEOUT_MS });
      case 'redis':
        return RedisIdempotencyStore.open({ url: idempotency.redisUrl ?? 'redis://127.0.0.1:6379', ttlMs: idempotency.ttlMs });
    }
  }

  private async startWatcher(): Promise<void> {
    const live = this.requireLive();
    const writer = new DeadLetterWriter(this.publisher, this.metrics);
    this.watcher = new JetStreamSubscription(
      live.js,
      live.jsm,
      {
        stream: StreamNames.ADVISORIES,
        durableName: DEAD_LETTER_WATCHER,
        filterSubject: AdvisorySubjects.MAX_DELIVERIES,
        ackWaitMs: 30_000,
        // An advisory must never be dropped: retry until the DLQ write succeeds.
        maxDeliver: -1,
        deliverPolicy: 'all',
        description: 'service=eventbus dead-letter watcher',
        concurrency: 4,
      },
      deadLetterWatcher(live.jsm, writer, this.logger),
      { stopTimeoutMs: this.options.stopTimeoutMs ?? 10_000, logger: this.logger, subject: AdvisorySubjects.MAX_DELIVERIES },
    );
    await this.watcher.start();
  }

  private async subscribeJetStream(
    stream: StreamSpec,
    subject: string,
    handler: EventHandler<DomainEvent>,
    durableName: string | undefined,
    options: SubscribeOptions,
    concurrency: number,
    stopTimeoutMs: number,
  ): Promise<Subscription> {
    const live = this.requireLive();
    const broadcast = options.broadcast === true;
    const durable = broadcast ? undefined : (durableName ?? deriveDurableName(this.serviceName, subject));
    // A broadcast consumer is ephemeral; its idempotency scope and DLQ subject need a stable label.
    const consumerLabel = durable ?? `${this.serviceName}-broadcast-${randomUUID().slice(0, 8)}`;
    const ackWaitMs = options.ackWaitMs ?? this.config.ackWaitMs;
    const maxAttempts = options.maxDeliverAttempts ?? this.config.maxDeliverAttempts;
    const delivery = new EventDelivery(
      handler,
      {
        service: this.serviceName,
        consumer: consumerLabel,
        subscription: subject,
        stream: stream.name,
        maxAttempts,
        retryBackoffMs: options.retryBackoffMs ?? this.config.retryBackoffMs,
        handlerTimeoutMs: options.handlerTimeoutMs ?? this.config.handlerTimeoutMs,
        ackWaitMs,
        store: options.idempotency === false ? undefined : this.store,
        deadLetters: stream.name === StreamNames.DLQ ? undefined : new DeadLetterWriter(this.publisher, this.metrics),
        termWithReason: supportsTermReason(live.nc.info?.version),
      },
      { publishCausedBy: (e, cause) => this.publishCausedBy(e, cause), logger: this.logger, metrics: this.metrics },
    );
    const engine = new JetStreamSubscription(
      live.js,
      live.jsm,
      {
        stream: stream.name,
        durableName: durable,
        filterSubject: subject,
        ackWaitMs,
        maxDeliver: maxAttempts,
        deliverPolicy: options.deliverPolicy ?? (broadcast ? 'new' : 'all'),
        description: `service=${this.serviceName}`,
        concurrency,
      },
      delivery.process,
      { onHeartbeat: delivery.onHeartbeat, onStopped: delivery.flushAcks, stopTimeoutMs, logger: this.logger, subject },
    );
    await engine.start();
    return engine;
  }

  private publishCausedBy(event: PublishableEvent, cause: DomainEvent): Promise<PublishResult> {
    return this.publish({
      ...event,
      correlationId: event.correlationId ?? cause.correlationId ?? cause.eventId,
      causationId: event.causationId ?? cause.eventId,
    });
  }

  private requireLive(): Live {
    if (this.closing) throw new ClientClosedError();
    if (this.live === undefined) throw new NotConnectedError();
    return this.live;
  }
}
