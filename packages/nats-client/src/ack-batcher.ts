/**
 * Coalesces acks into one socket write. nats.js flushes its outbound buffer on the microtask
 * after the first queued command; acks issued from many handler promise chains would each get
 * their own write. Queuing them and sending the batch on the next macrotask turn makes one.
 */
import type { JsMsg } from '@nats-io/jetstream';

/** Sends acks in batches, at the latest one event-loop turn after they were asked for. */
export class AckBatcher {
  private pending: JsMsg[] = [];

  /** Acks `msg` on the next turn, together with the other acks queued meanwhile. */
  ack(msg: JsMsg): void {
    if (this.pending.length === 0) setImmediate(this.flush);
    this.pending.push(msg);
  }

  /** Sends every queued ack now (before the connection drains). */
  readonly flush = (): void => {
    const batch = this.pending;
    this.pending = [];
    for (const msg of batch) msg.ack();
  };
}
