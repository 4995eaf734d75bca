/**
 * What the workloads share besides the harness: a fresh nats-server per workload, clients built
 * the same way everywhere, the ~300-byte event payload, the hand-written envelope a raw
 * `@nats-io/*` user would publish, raw pull consumers configured like ours, and waits on the
 * server's view of a consumer.
 */
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { NatsClient } from '@multi-agent/nats-client';
import type { NatsClientOptions, NatsConfigInput } from '@multi-agent/nats-client';
import { NatsServer } from '@multi-agent/testing';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { sleep, within } from './harness.js';

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const silent = pino({ level: 'silent' });

/** Starts a fresh nats-server (free port, temp store), runs `work` against it, and stops it. */
export async function withServer<T>(work: (server: NatsServer) => Promise<T>): Promise<T> {
  const server = await NatsServer.start();
  try {
    return await work(server);
  } finally {
    await server.stop();
  }
}

/** A connected client as a service would build one; `close()` it when done. */
export async function openClient(
  server: NatsServer,
  config: NatsConfigInput = {},
  options: NatsClientOptions = {},
): Promise<NatsClient> {
  const client = new NatsClient({ servers: [server.url], ...config }, 'bench', { logger: silent, ...options });
  await client.connect();
  return client;
}

/** Runs `work` with clients opened by `open`, closing all of them afterwards. */
export async function withClients<C extends Record<string, NatsClient>, T>(
  open: () => Promise<C>,
  work: (clients: C) => Promise<T>,
): Promise<T> {
  const clients = await open();
  try {
    return await work(clients);
  } finally {
    await Promise.all(Object.values(clients).map((c) => c.close()));
  }
}

/** A subject token unique to this run and purpose, e.g. `b1a2b3c4pub3`. */
export function token(runId: string, purpose: string): string {
  return `${runId}${purpose}`.replace(/[^A-Za-z0-9_-]/g, '');
}

/** An EVENTS subject for one round: `vector.<runId><purpose>.upserted`. */
export function eventSubject(runId: string, purpose: string): string {
  return `vector.${token(runId, purpose)}.upserted`;
}

const FILLER = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor '.repeat(4);

/**
 * The event `data` of every workload: ~300 bytes of JSON. `sentAt` (performance.now() of this
 * process, ms) lets latency workloads time publish -> handler start.
 */
export function eventData(seq: number, sentAt = 0): { collection: string; ids: string[]; seq: number; sentAt: number; text: string } {
  return { collection: 'bench-docs', ids: [`doc-${seq}`, `chunk-${seq}-0`], seq, sentAt, text: FILLER.slice(0, 200) };
}

const encoder = new TextEncoder();

/**
 * The envelope a raw `@nats-io/*` user would write by hand (same fields and bytes as ours on the
 * wire body): a fresh UUID, an ISO timestamp, `version` 1.0. Returns the id for `msgID`.
 */
export function rawEnvelope(subject: string, data: unknown): { id: string; body: Uint8Array } {
  const id = randomUUID();
  const body = encoder.encode(JSON.stringify({ eventId: id, eventType: subject, timestamp: new Date().toISOString(), version: '1.0', data }));
  return { id, body };
}

/** `max_ack_pending` our subscription engine sets for a given concurrency; raw consumers get the same. */
export function maxAckPendingFor(concurrency: number): number {
  return concurrency === 1 ? 1 : Math.max(1000, concurrency * 4);
}

/** Adds a raw durable pull consumer configured like our subscription's (explicit ack, same filter and limits). */
export async function addRawConsumer(jsm: JetStreamManager, stream: string, durable: string, subject: string, concurrency: number): Promise<void> {
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: subject,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: maxAckPendingFor(concurrency),
  });
}

/**
 * Waits until the server sees nothing pending and nothing unacknowledged on a consumer: the
 * moment a drain is really over (every ack has reached the server).
 */
export async function waitForAcked(jsm: JetStreamManager, stream: string, consumer: string, timeoutMs = 120_000): Promise<void> {
  await within(
    timeoutMs,
    `acks of ${stream}/${consumer}`,
    (async () => {
      for (;;) {
        const info = await jsm.consumers.info(stream, consumer);
        if (info.num_pending === 0 && info.num_ack_pending === 0) return;
        await sleep(1);
      }
    })(),
  );
}

/** Deletes a consumer, ignoring one that is gone already. */
export async function deleteConsumer(jsm: JetStreamManager, stream: string, consumer: string): Promise<void> {
  await jsm.consumers.delete(stream, consumer).catch(() => false);
}
