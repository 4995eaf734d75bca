/** What a subscription handler receives and what `subscribe()` accepts and returns. */
import type { BaseEvent, DomainEvent } from '@multi-agent/events';
import type { Logger } from './logger.js';
import type { PublishableEvent, PublishResult } from './publisher.js';

/** Per-delivery context passed to a handler as its second argument. */
export interface HandlerContext {
  /** The concrete subject the event arrived on. */
  subject: string;
  /**
   * 1 for the first run of this handler for this event, 2 for the first retry, ... Counted across
   * processes and instances: a delivery lost to another event's crash is not an attempt.
   */
  attempt: number;
  /** Attempts allowed before the event is dead-lettered. */
  maxAttempts: number;
  /** The stream and sequence of the stored event (undefined for core NATS subjects). */
  stream?: string;
  streamSequence?: number;
  /** The consumer (durable name) or queue group handling it. */
  consumer: string;
  /** Aborted when the handler timed out or the client is closing: long work should stop. */
  signal: AbortSignal;
  /** Publishes an event caused by this one: `correlationId` and `causationId` are filled in. */
  publish(event: PublishableEvent): Promise<PublishResult>;
  logger: Logger;
}

/**
 * A subscription handler. Resolving acks the event; throwing retries it (a `NonRetryableError`
 * dead-letters it at once). On a core request subject the resolved value is the reply.
 */
export type EventHandler<E extends BaseEvent = BaseEvent & { data?: unknown }> = (
  event: E,
  ctx: HandlerContext,
) => unknown;

/** Options of `subscribe()`; every one has a default from the client config. */
export interface SubscribeOptions {
  /** Every instance gets every event (its own ephemeral consumer) instead of sharing the work. */
  broadcast?: boolean;
  /** Handlers running at once; `1` handles events strictly in order. */
  concurrency?: number;
  /** Handler attempts before dead-lettering (the consumer's `max_deliver` gets headroom above it). */
  maxDeliverAttempts?: number;
  /** Delay before each retry (ms), by attempt; the last entry repeats. */
  retryBackoffMs?: number[];
  /** Fail an attempt that runs longer than this (ms); 0 = no limit. */
  handlerTimeoutMs?: number;
  /** Consumer `ack_wait` (ms). */
  ackWaitMs?: number;
  /** Where a new consumer starts: `all` (default for durable: nothing published before is missed), `new` (default for broadcast), `last`. */
  deliverPolicy?: 'all' | 'new' | 'last';
  /** Exactly-once effect through the client's idempotency store (default true when the client has a store). */
  idempotency?: boolean;
}

/** A live subscription. */
export interface Subscription {
  /** The subscribed subject or pattern. */
  readonly subject: string;
  /** Durable consumer name, ephemeral consumer name, or core queue group. */
  readonly consumer: string;
  /** `durable` and `ephemeral` are JetStream consumers; `core` is a core NATS (queue) subscription. */
  readonly kind: 'durable' | 'ephemeral' | 'core';
  /** Stops taking messages and waits (bounded) for handlers in flight. The durable consumer stays on the server. */
  stop(): Promise<void>;
}

/** What publishes an event caused by another: the publisher's `publishCausedBy`. */
export interface CausedPublisher {
  publishCausedBy(event: PublishableEvent, cause: DomainEvent): Promise<PublishResult>;
}

/** `ctx.publish` of a delivery of `cause`. */
export function publishCausedByOf(publisher: CausedPublisher, cause: DomainEvent): HandlerContext['publish'] {
  // Returned rather than written as a property of the context literal: under tsx (esbuild
  // keepNames) a named arrow costs a defineProperty call on every delivery.
  return (next) => publisher.publishCausedBy(next, cause);
}
