/**
 * `@multi-agent/nats-client`: the NATS JetStream client of the Multi-Agent Platform.
 *
 * @packageDocumentation
 */
export { NatsClient, deriveDurableName } from './client.js';
export type { HealthReport, NatsClientOptions } from './client.js';
export { builtinNatsConfig, defaultNatsConfig, loadNatsConfig, parseServers } from './config.js';
export type { IdempotencyStoreKind, NatsConfig } from './config.js';
export * from './errors.js';
export type { EventHandler, HandlerContext, SubscribeOptions, Subscription } from './handler.js';
export type { PublishableEvent, PublishResult } from './publisher.js';
export type { SubscribeStreamOptions } from './token-reader.js';
export type { TextConnection, TextMsg, TextSubscription } from './text-connection.js';
export { MemoryIdempotencyStore } from './idempotency/memory-store.js';
export { KvIdempotencyStore } from './idempotency/kv-store.js';
export { RedisIdempotencyStore } from './idempotency/redis-store.js';
export { idempotencyKey } from './idempotency/store.js';
export type { ClaimResult, IdempotencyStore, Lease } from './idempotency/store.js';
export { readEvents } from './event-log.js';
export type { ReadEventsOptions, StoredEvent } from './event-log.js';
export { DeadLetterReplayer, REPLAY_BUCKET, replayEventId } from './replay.js';
export type { ReplayResult, StoredDeadLetter } from './replay.js';
export { DEAD_LETTER_WATCHER } from './dead-letter-watcher.js';
export { deadLetterEventId } from './dead-letter.js';
export { AdvisorySubjects, StreamNames, platformStreams, streamFor, subjectWithin } from './topology.js';
export type { StreamSpec } from './topology.js';
export type { StreamReconcileResult } from './streams.js';
export type { ClientMetrics } from './metrics.js';
export type { Logger } from './logger.js';
