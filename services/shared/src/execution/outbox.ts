/**
 * Publishing an execution's outbox: the events a transition decided, stored in the same CAS
 * write as the state change. They are published in order, then removed from the record.
 * A process that dies in between leaves them in the record; whoever looks next (the
 * redelivered event's handler, or a sweeper) publishes them again, and their deterministic
 * eventIds make JetStream keep one copy. No decided event is lost, none is doubled.
 */
import type { NatsClient } from '@multi-agent/nats-client';
import type { ExecutionStore, StoredExecution } from './store.js';

/** Publishes outboxes: the orchestration's after each transition, the gateway's after a cancellation. */
export class OutboxPublisher {
  constructor(
    private readonly client: NatsClient,
    private readonly store: ExecutionStore,
  ) {}

  /** Publishes the outbox of `stored` (if any) and removes the published entries from the record. */
  async flush(stored: StoredExecution | undefined): Promise<void> {
    if (stored === undefined || stored.state.outbox.length === 0) return;
    const { state } = stored;
    for (const entry of state.outbox) {
      try {
        await this.client.publish({
          eventId: entry.eventId,
          eventType: entry.eventType,
          ...(entry.version === undefined ? {} : { version: entry.version }),
          data: entry.data,
          correlationId: state.correlationId,
          ...(entry.causationId === undefined ? {} : { causationId: entry.causationId }),
        });
      } catch (err) {
        // An event larger than the server accepts never will be: drop it rather than wedge the
        // outbox (and every event behind it). The node it dispatched then times out.
        if ((err as { code?: unknown }).code !== 'PAYLOAD_TOO_LARGE') throw err;
        this.client.logger.error({ err, executionId: state.executionId, eventType: entry.eventType }, 'dropping an outbox event too large to publish');
      }
    }
    const published = new Set(state.outbox.map((e) => e.eventId));
    await this.store.mutate(state.executionId, (current) => {
      if (current === undefined || !current.outbox.some((e) => published.has(e.eventId))) return undefined;
      return { ...current, outbox: current.outbox.filter((e) => !published.has(e.eventId)) };
    });
  }
}
