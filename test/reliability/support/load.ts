/**
 * Steady publish load for fault tests: loops that each publish one event after another, retrying
 * an unacknowledged publish with the same eventId, and record every acknowledged eventId.
 */
import type { NatsClient } from '@multi-agent/nats-client';
import { delay, testEvent } from './env.js';
import { publishUntilAcked } from './read-back.js';

export class PublishLoad {
  /** eventIds whose publish was acknowledged. */
  readonly acknowledged = new Set<string>();
  /** Publish calls that failed and were retried. */
  retries = 0;
  /** Retried publishes that found the event already stored (the PubAck was lost, not the event). */
  duplicates = 0;
  private running = true;
  private readonly loops: Promise<void>[];

  /**
   * @param clients - publishers, used round-robin by the loops
   * @param loops - concurrent publish loops
   * @param subject - where to publish
   * @param pauseMs - pause between two publishes of one loop (keeps the stored volume bounded)
   */
  constructor(clients: NatsClient[], loops: number, subject: string, pauseMs: number) {
    this.loops = Array.from({ length: loops }, async (_, l) => {
      const client = clients[l % clients.length]!;
      for (let i = 0; this.running; i++) {
        const event = testEvent(subject, { loop: l, i });
        const outcome = await publishUntilAcked(client, event, 120_000, 100);
        this.retries += outcome.attempts - 1;
        if (outcome.attempts > 1 && outcome.result.duplicate) this.duplicates += 1;
        this.acknowledged.add(event.eventId);
        if (pauseMs > 0) await delay(pauseMs);
      }
    });
  }

  get count(): number {
    return this.acknowledged.size;
  }

  /** Stops the loops after their current publish (which still retries until acknowledged). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}
