/**
 * `@multi-agent/nats-client`: the NATS JetStream client of the Multi-Agent Platform.
 *
 * The public API only; everything else in `src/` is internal and may change. The exported
 * names are recorded in `api-report.md` beside this package's README, and a test fails when
 * the two differ.
 *
 * @packageDocumentation
 */

// The client and its configuration.
export { NatsClient } from './client.js';
export type { HealthReport, NatsClientOptions } from './client.js';
export { defaultNatsConfig, loadNatsConfig, parseServers } from './config.js';
export type { IdempotencyStoreKind, NatsConfig, NatsConfigInput } from './config.js';
export { envBool, envFile, envInt, envIntList, envOneOf, envString, envUrl } from './env.js';
export type { Env } from './env.js';
export { deriveDurableName } from './subscriber.js';

// Publishing, subscribing, request/reply and token streams.
export type { EventHandler, HandlerContext, SubscribeOptions, Subscription } from './handler.js';
export type { PublishableEvent, PublishResult } from './publisher.js';
export type { SubscribeStreamOptions } from './token-reader.js';
export type { PublishStreamOptions } from './token-publisher.js';
export type { TextConnection, TextMsg, TextSubscription } from './text-connection.js';
export type { ReadEventsOptions, StoredEvent } from './event-log.js';

// Reading one flow through the correlation index, and the indexer that writes it.
export { CORRELATION_INDEXER, correlationIndexSubject } from './correlation-index.js';
export type { CorrelationRead, ReadCorrelationOptions } from './correlation-index.js';
export type { CorrelationIndexer, CorrelationIndexerOptions } from './correlation-indexer.js';

// The errors the client throws; each carries a stable `code` (decide on it, not on the class).
export {
  ClientErrorCodes,
  errorCode,
  AuthFailedError,
  asPermissionError,
  ClientClosedError,
  ConfigError,
  HandlerTimeoutError,
  JetStreamUnavailableError,
  NoRespondersError,
  NonRetryableError,
  NoStreamError,
  NotConnectedError,
  NotProvisionedError,
  DeadLetterUnreadableError,
  PayloadTooLargeError,
  PermissionError,
  PROVISION_COMMAND,
  PublishError,
  RemoteHandlerError,
  RequestTimeoutError,
  StreamIdleError,
  TlsFailedError,
} from './errors.js';

// Idempotency stores, for a store shared in-process or one of your own.
export { KvIdempotencyStore } from './idempotency/kv-store.js';
export { MemoryIdempotencyStore } from './idempotency/memory-store.js';
export { RedisIdempotencyStore } from './idempotency/redis-store.js';
export { idempotencyKey } from './idempotency/store.js';
export type { ClaimResult, IdempotencyStore, Lease } from './idempotency/store.js';

// Dead letters and the platform's topology, for operators' tools and access declarations.
export type { DeadLetterListing, DeadLetterReplayer, ReplayResult, StoredDeadLetter, UnreadableDeadLetter } from './replay.js';
export { replayEventId } from './replay.js';
export { DEAD_LETTER_WATCHER } from './dead-letter-watcher.js';
export { ATTEMPT_LEDGER_BUCKET } from './attempt-ledger.js';
export { AdvisorySubjects, CORRELATION_INDEX_PREFIX, StreamNames, platformStreams, streamFor, subjectWithin } from './topology.js';
export type { StreamSpec } from './topology.js';
export { responseSubjectOf } from './reply.js';

// Provisioning (an admin act): what `multi-agent provision` creates ahead of the services.
export { provisionBucket, provisionClientBuckets, provisionCorrelationIndexer, provisionDeadLetterWatcher, provisionDurable, provisionStreams } from './provision.js';
export type { DurableConsumerSpec, ProvisionResult } from './provision.js';
export type { StreamReconcileResult } from './streams.js';
export type { ClientMetrics } from './metrics.js';

// Logging without secrets: every service builds its logger here.
export { createLogger } from './logger.js';
export type { Logger, LoggerOptions } from './logger.js';
export { LOG_REDACT_PATHS, maskUrlCredentials, REDACTED, SECRET_FIELD_NAMES } from './redact.js';
