/**
 * `NatsClient`: the one object a service uses to talk to the bus. A facade: the connection
 * (`connection.ts`), the subscriptions (`subscriber.ts`), publishing, request/reply, token
 * streams and the DLQ tools each live in their own module; this file wires them to one
 * connection and documents the public methods. docs/architecture.md follows an event through.
 */
import { assertSubjectToken, assertSubscribeSubject, subjects } from '@multi-agent/events';
import type { BaseEvent, DomainEvent, TokenMessage } from '@multi-agent/events';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Registry } from 'prom-client';
import { resolveConfig } from './config.js';
import type { NatsConfig, NatsConfigInput } from './config.js';
import { BusConnection } from './connection.js';
import { ClientClosedError, NotConnectedError } from './errors.js';
import { readCorrelation } from './correlation-index.js';
import type { CorrelationRead, ReadCorrelationOptions } from './correlation-index.js';
import { startCorrelationIndexer } from './correlation-indexer.js';
import type { CorrelationIndexer, CorrelationIndexerOptions } from './correlation-indexer.js';
import { readEvents } from './event-log.js';
import type { ReadEventsOptions, StoredEvent } from './event-log.js';
import type { EventHandler, SubscribeOptions, Subscription } from './handler.js';
import { instrumentStore } from './idempotency/instrumented-store.js';
import { openIdempotencyStore } from './idempotency/open-store.js';
import type { IdempotencyStore } from './idempotency/store.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';
import { ClientMetrics } from './metrics.js';
import { EventPublisher } from './publisher.js';
import type { PublishableEvent, PublishResult } from './publisher.js';
import { DeadLetterReplayer } from './replay.js';
import { Requester } from './requester.js';
import { ensureStreams } from './streams.js';
import type { StreamReconcileResult } from './streams.js';
import { Subscriber } from './subscriber.js';
import { TextConnection } from './text-connection.js';
import { TokenPublisher } from './token-publisher.js';
import type { PublishStreamOptions } from './token-publisher.js';
import { readTokenStream } from './token-reader.js';
import type { SubscribeStreamOptions } from './token-reader.js';
import { platformStreams } from './topology.js';
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
  /**
   * Set up (or look up) the platform streams on connect (default true). `multi-agent provision`
   * turns it off to create and report them itself.
   */
  setUpStreams?: boolean;
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

/** How long connect() keeps retrying JetStream setup calls a forming cluster leaves unanswered. */
const SETUP_TIMEOUT_MS = 30_000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/** What exists only while connected. */
interface Live {
  connection: BusConnection;
  subscriber: Subscriber;
  store: IdempotencyStore | undefined;
}

/** The bus client of one service. */
export class NatsClient {
  /** The resolved configuration. */
  readonly config: NatsConfig;
  /** The client's logger (pino). */
  readonly logger: Logger;
  /** The client's Prometheus metrics. */
  readonly metrics: ClientMetrics;
  private readonly streams: StreamSpec[];
  private readonly publisher: EventPublisher;
  private readonly requester: Requester;
  private readonly tokens: TokenPublisher;
  private live: Live | undefined;
  private replayer: DeadLetterReplayer | undefined;
  private streamReport: StreamReconcileResult[] = [];
  private closing = false;
  private connecting: Promise<void> | undefined;

  /**
   * @param config - connection and delivery settings; missing fields take the built-in defaults
   *   (pass `defaultNatsConfig` to use the environment)
   * @param serviceName - names the connection, the queue groups and derived durable consumers
   * @throws ConfigError naming the setting (or environment variable) whose value is invalid
   */
  constructor(
    config: NatsConfigInput,
    readonly serviceName: string,
    private readonly options: NatsClientOptions = {},
  ) {
    assertSubjectToken(serviceName, 'serviceName');
    this.config = resolveConfig(config);
    this.logger = options.logger ?? createLogger(serviceName);
    this.metrics = new ClientMetrics(serviceName, options.metricsRegistry);
    this.streams = platformStreams(this.config);
    this.publisher = new EventPublisher(() => this.live?.connection, this.config, this.streams, this.metrics);
    this.requester = new Requester(() => this.live?.connection, this.logger);
    this.tokens = new TokenPublisher(() => this.requireLive().connection, this.config.publishTimeoutMs);
  }

  /** True while the connection is up (false before `connect()`, while reconnecting, and after `close()`). */
  get isConnected(): boolean {
    return this.live?.connection.isUp ?? false;
  }

  /** Core NATS with text payloads, e.g. for the guide's token-stream reader. */
  get connection(): TextConnection {
    return new TextConnection(this.requireLive().connection.nc);
  }

  /** The underlying nats.js connection, for what this client does not wrap. */
  get natsConnection(): NatsConnection {
    return this.requireLive().connection.nc;
  }

  /** The JetStream client and manager of the live connection. */
  get jetstream(): { js: JetStreamClient; jsm: JetStreamManager } {
    const { js, jsm } = this.requireLive().connection;
    return { js, jsm };
  }

  /**
   * Connects, then creates or updates the streams (with `config.provision` false, only checks
   * that they exist) and starts the DLQ watcher. Idempotent.
   *
   * @throws NotProvisionedError naming the missing stream or durable when this client may not create it
   */
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
    const { subscriber } = this.requireLive();
    return subscriber.subscribe(subject, handler as unknown as EventHandler<DomainEvent>, durableName, options);
  }

  /** Sends a request on a core subject and resolves with the reply event. */
  request(subject: string, event: PublishableEvent, timeoutMs = 5000): Promise<DomainEvent> {
    return this.requester.request(subject, event, timeoutMs);
  }

  /**
   * Streams one token to `model.token.stream.<executionId>`; `isComplete` ends the stream.
   * `options.nodeId` names the workflow node the token belongs to.
   */
  publishStream(subject: string, token: string, isComplete: boolean, options: PublishStreamOptions = {}): Promise<void> {
    return this.tokens.publish(subject, token, isComplete, options);
  }

  /**
   * Reads a token stream from its first token (or `fromSeq`), even when started late, and
   * ends after the completion token.
   *
   * @param executionIdOrSubject - an executionId, or the full `model.token.stream.<id>` subject
   */
  subscribeStream(executionIdOrSubject: string, options: SubscribeStreamOptions = {}): AsyncIterable<TokenMessage> {
    const subject = executionIdOrSubject.includes('.') ? executionIdOrSubject : subjects.tokenStream(executionIdOrSubject);
    const { nc, js } = this.requireLive().connection;
    return readTokenStream(
      nc,
      js,
      subject,
      { ...options, idleTimeoutMs: options.idleTimeoutMs ?? this.config.tokenStreamIdleMs },
      { logger: this.logger, lagSeconds: this.metrics.tokenLagSeconds },
    );
  }

  /**
   * Reads stored events back (a flow by correlationId, events caused by one, from a sequence or
   * time) by scanning the stream from the start position; for one flow use `readCorrelation`.
   */
  readEvents(options: ReadEventsOptions = {}): AsyncGenerator<StoredEvent> {
    return readEvents(this.requireLive().connection.js, options);
  }

  /**
   * Reads every stored event of one flow (its `correlationId`, or the eventId of its first
   * event) in stream order, through the correlation index: the cost follows the flow's size and
   * the indexer's lag, not the stream's size. Events the indexer has not acknowledged yet are
   * found by a header scan of that tail, so none is missed.
   */
  readCorrelation(correlationId: string, options: ReadCorrelationOptions = {}): Promise<CorrelationRead> {
    const { js, jsm } = this.requireLive().connection;
    return readCorrelation(js, jsm, correlationId, options);
  }

  /**
   * Runs the correlation indexer: the durable consumer `correlation-indexer` (shared by every
   * instance that runs it) that writes each EVENTS event's sequence into the index
   * `readCorrelation` reads. One service runs it (the gateway); stop it before `close()`.
   * With `config.provision` false it only looks the durable up (`multi-agent provision` creates it).
   */
  startCorrelationIndexer(options: CorrelationIndexerOptions = {}): Promise<CorrelationIndexer> {
    const { js, jsm } = this.requireLive().connection;
    return startCorrelationIndexer(js, jsm, { serviceName: this.serviceName, logger: this.logger, lookupOnly: !this.config.provision }, options);
  }

  /** DLQ inspection and replay. */
  get deadLetters(): DeadLetterReplayer {
    const { js, jsm } = this.requireLive().connection;
    this.replayer ??= new DeadLetterReplayer(js, jsm, this.publisher, this.config.replicas);
    return this.replayer;
  }

  /** Connection, stream and subscription state, for `/healthz` and `/readyz`. */
  health(): HealthReport {
    const connected = this.isConnected;
    const failedStreams = this.streamReport.some((s) => s.action === 'drift-not-updated');
    const nc = this.live?.connection.nc;
    return {
      status: !connected ? 'down' : failedStreams ? 'degraded' : 'ok',
      connected,
      ...(nc === undefined ? {} : { server: nc.getServer() }),
      ...(nc?.info === undefined ? {} : { serverVersion: nc.info.version }),
      streams: this.streamReport,
      subscriptions: (this.live?.subscriber.subscriptions ?? []).map((s) => ({ subject: s.subject, consumer: s.consumer, kind: s.kind })),
    };
  }

  /** Stops taking messages, waits (bounded) for handlers in flight and token acks, then drains the connection. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.connecting?.catch(() => undefined);
    const live = this.live;
    if (live === undefined) return;
    await live.subscriber.stopAll();
    await this.tokens.flush();
    this.requester.close();
    await live.store?.close().catch((err: unknown) => this.logger.warn({ err }, 'closing the idempotency store failed'));
    await live.connection.close();
  }

  private async open(): Promise<void> {
    const connection = await BusConnection.open({
      config: this.config,
      serviceName: this.serviceName,
      logger: this.logger,
      metrics: this.metrics,
      setupTimeoutMs: SETUP_TIMEOUT_MS,
    });
    try {
      if (this.options.setUpStreams !== false) this.streamReport = await ensureStreams(connection.jsm, this.streams, SETUP_TIMEOUT_MS, !this.config.provision);
      for (const s of this.streamReport) {
        if (s.action === 'drift-not-updated') this.logger.warn(s, 'stream config drifted and could not be updated');
        else if (s.action !== 'unchanged') this.logger.info(s, `stream ${s.action}`);
      }
      const opened = this.options.idempotencyStore ?? (await openIdempotencyStore(this.config, connection.nc, SETUP_TIMEOUT_MS));
      // The built-in memory store answers in microseconds and cannot be unreachable: timing its
      // calls would cost more per delivery than it tells.
      const inProcess = this.options.idempotencyStore === undefined && this.config.idempotency.store === 'memory';
      const store = opened === undefined || inProcess ? opened : instrumentStore(opened, this.metrics);
      const subscriber = new Subscriber({
        connection,
        config: this.config,
        serviceName: this.serviceName,
        streams: this.streams,
        publisher: this.publisher,
        store,
        logger: this.logger,
        metrics: this.metrics,
        stopTimeoutMs: this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
      });
      // Publishing needs the connection before the watcher starts: it may write DLQ records at once.
      this.live = { connection, subscriber, store };
      this.metrics.setConsumerLagSource(() => subscriber.consumerLag());
      if (this.options.deadLetterWatcher !== false) await subscriber.startDeadLetterWatcher();
    } catch (err) {
      // A failed connect() must not leave a connection (or half a client) behind.
      await this.live?.subscriber.stopAll();
      this.live = undefined;
      await connection.nc.close().catch(() => undefined);
      throw err;
    }
    this.logger.info({ server: connection.nc.getServer(), version: connection.nc.info?.version }, 'connected to NATS');
  }

  private requireLive(): Live {
    if (this.closing) throw new ClientClosedError();
    if (this.live === undefined) throw new NotConnectedError();
    return this.live;
  }
}
