/**
 * Shared helpers of the reliability suite: scale, short client timings, a client pool that is
 * always closed, unique namespaces, condition waits and collectors.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { DomainEvent } from '@multi-agent/events';
import { NatsClient } from '@multi-agent/nats-client';
import type { NatsClientOptions, NatsConfigInput } from '@multi-agent/nats-client';

export { Collector, waitFor } from '@multi-agent/testing';

/** `RELIABILITY_SCALE` (default 1) multiplies message counts for longer local soaks. */
export const SCALE: number = (() => {
  const raw = process.env.RELIABILITY_SCALE?.trim();
  if (raw === undefined || raw === '') return 1;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`RELIABILITY_SCALE: expected a positive number, got "${raw}"`);
  return value;
})();

/** `n` messages at the current scale (at least 1). */
export function scaled(n: number): number {
  return Math.max(1, Math.round(n * SCALE));
}

/** Extra time for tests whose duration grows with the scale. */
export function scaledTimeout(ms: number): number {
  return Math.round(ms * Math.max(1, SCALE));
}

/** A quiet logger (TEST_LOG=debug shows the clients' logs). */
export const testLogger = pino({ level: process.env.TEST_LOG ?? 'silent' });

/** Short timings so faults resolve within a test: 2 s ack_wait, 50 ms retry, fast reconnect. */
export const FAST: NatsConfigInput = {
  ackWaitMs: 2000,
  retryBackoffMs: [50],
  reconnectTimeWait: 100,
  maxReconnectAttempts: -1,
  connectTimeoutMs: 5000,
  publishTimeoutMs: 2000,
};

/** A unique subject token, so scenarios sharing a server never see each other's events. */
export function uniqueToken(prefix = 't'): string {
  return `${prefix}${randomUUID().replace(/-/g, '').slice(0, 10)}`;
}

/** A complete event on a subject of the EVENTS stream. */
export function testEvent(eventType: string, data: Record<string, unknown> = {}, extra: Partial<DomainEvent> = {}): DomainEvent {
  return { eventId: randomUUID(), eventType, timestamp: new Date(), version: '1.0', data, ...extra };
}

/** Resolves after `ms`; used only as a retry backoff or a bounded observation window, never to wait for an event. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolve function outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves with `promise`; rejects (failing the test) when it has not settled after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what = 'a promise to settle'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens clients with the suite's timings and closes every one of them at the end. */
export class ClientPool {
  private readonly open_: NatsClient[] = [];

  /**
   * A connected client. Publisher-only clients should pass `{ deadLetterWatcher: false }` so a
   * hundred of them do not each run the DLQ watcher.
   */
  async open(
    servers: string | string[],
    service = uniqueToken('svc'),
    config: NatsConfigInput = {},
    options: NatsClientOptions = {},
  ): Promise<NatsClient> {
    const client = new NatsClient({ servers: Array.isArray(servers) ? servers : [servers], ...FAST, ...config }, service, {
      logger: testLogger,
      stopTimeoutMs: 2000,
      ...options,
    });
    this.open_.push(client);
    await client.connect();
    return client;
  }

  /** Closes one client; a close that hangs fails the test (close is bounded by `stopTimeoutMs`). */
  async close(client: NatsClient): Promise<void> {
    const i = this.open_.indexOf(client);
    if (i >= 0) this.open_.splice(i, 1);
    await within(client.close().catch(() => undefined), 10_000, `client ${client.serviceName} to close`);
  }

  /** Closes every client still open. */
  async closeAll(): Promise<void> {
    const all = this.open_.splice(0);
    await Promise.all(all.map((c) => within(c.close().catch(() => undefined), 10_000, `client ${c.serviceName} to close`)));
  }
}
