/** Shared test helpers: clients on a test server, event collectors and condition waits. */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { DomainEvent } from '@multi-agent/events';
import { NatsClient } from '../src/index.js';

import { Collector } from '@multi-agent/testing';

export { Collector, waitFor } from '@multi-agent/testing';
import type { NatsClientOptions, NatsConfigInput } from '../src/index.js';

/** A quiet logger (set TEST_LOG=debug to see the client's logs). */
export const testLogger = pino({ level: process.env.TEST_LOG ?? 'silent' });

/** A connected client for `url`, closed by the returned `close`. */
export async function connectClient(
  url: string | string[],
  service = `svc-${randomUUID().slice(0, 8)}`,
  config: NatsConfigInput = {},
  options: NatsClientOptions = {},
): Promise<NatsClient> {
  const client = new NatsClient(
    { servers: Array.isArray(url) ? url : [url], retryBackoffMs: [50], ...config },
    service,
    { logger: testLogger, stopTimeoutMs: 2000, ...options },
  );
  await client.connect();
  return client;
}

/** Connects clients for one test file and closes them all at the end. */
export function clientPool(): { client: typeof connectClient; closeAll: () => Promise<void> } {
  const open: NatsClient[] = [];
  return {
    client: async (...args) => {
      const c = await connectClient(...args);
      open.push(c);
      return c;
    },
    closeAll: async () => {
      await Promise.all(open.splice(0).map((c) => c.close()));
    },
  };
}

/** A unique subject token, so tests sharing a server never see each other's events. */
export function uniqueToken(prefix = 't'): string {
  return `${prefix}${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

/** A test event on a subject of the EVENTS stream. */
export function testEvent(eventType: string, data: Record<string, unknown> = {}, extra: Partial<DomainEvent> = {}): DomainEvent {
  return { eventId: randomUUID(), eventType, timestamp: new Date(), version: '1.0', data, ...extra };
}

/** Publishes an event with `data` on a fresh subject `client` subscribes to, and resolves with it as received. */
export async function roundTrip(client: NatsClient, data: Record<string, unknown>): Promise<{ sent: DomainEvent; received: DomainEvent | undefined }> {
  const ns = uniqueToken();
  const got = new Collector<DomainEvent>();
  await client.subscribe(`vector.${ns}.>`, (e) => got.push(e));
  const sent = testEvent(`vector.${ns}.upserted`, data);
  await client.publish(sent);
  const [received] = await got.waitFor(1);
  return { sent, received };
}
