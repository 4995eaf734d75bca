/**
 * Workload 3: end-to-end latency, publish call -> handler start, at a fixed moderate rate.
 * The publisher stamps `data.sentAt` (performance.now()) just before publishing; the handler
 * reads it on entry. Publishes are paced and not awaited one by one (acks overlap).
 * Ours: `publish` -> durable `subscribe` (memory idempotency store, the default), concurrency C.
 * Raw: `js.publish` + msgID -> `consume({ max_messages: C })`, JSON-parsing the body to read the stamp.
 */
import { StreamNames } from '@multi-agent/nats-client';
import type { DomainEvent } from '@multi-agent/events';
import { alternate, compare, latencySummary, metric, paced, sleep, within } from '../harness.js';
import type { BenchContext, ResultRow } from '../harness.js';
import { addRawConsumer, deleteConsumer, eventData, eventSubject, openClient, rawEnvelope, token, withServer } from '../fixtures.js';
import { CONCURRENCY } from './consume.js';

const RATE = 1000;

function sentAtOf(data: unknown): number {
  return (data as { sentAt: number }).sentAt;
}

export async function latencyWorkload(ctx: BenchContext): Promise<ResultRow[]> {
  const count = ctx.quick ? 500 : 4000;
  const plan = ctx.quick ? { rounds: 2, warmup: 1 } : { rounds: 9, warmup: 1 };
  ctx.log(`3 latency: ${count} events per round at ${RATE}/s`);

  return withServer(async (server) => {
    const client = await openClient(server);
    try {
      const { js, jsm } = client.jetstream;
      const durable = (side: string, round: number): string => `bench-${token(ctx.runId, `lat${side}${round}`)}`;

      const samples = await alternate(ctx, 'latency', [
        {
          name: 'ours',
          run: async (round) => {
            const subject = eventSubject(ctx.runId, `latours${round}`);
            const latencies: number[] = [];
            let resolveAll: () => void = () => undefined;
            const all = new Promise<void>((resolve) => (resolveAll = resolve));
            const sub = await client.subscribe(
              subject,
              async (event: DomainEvent) => {
                latencies.push(performance.now() - sentAtOf(event.data));
                if (latencies.length === count) resolveAll();
              },
              durable('ours', round),
              { concurrency: CONCURRENCY },
            );
            try {
              await sleep(50); // let the first fetch reach the server
              const acks: Promise<unknown>[] = [];
              await paced(count, RATE, (i) => {
                acks.push(client.publish({ eventType: subject, data: eventData(i, performance.now()) }));
              });
              await Promise.all(acks);
              await within(60_000, 'latency (ours)', all);
            } finally {
              await sub.stop();
              await deleteConsumer(jsm, StreamNames.EVENTS, durable('ours', round));
              await jsm.streams.purge(StreamNames.EVENTS, { filter: subject });
            }
            return latencySummary(latencies);
          },
        },
        {
          name: 'raw',
          run: async (round) => {
            const subject = eventSubject(ctx.runId, `latraw${round}`);
            await addRawConsumer(jsm, StreamNames.EVENTS, durable('raw', round), subject, CONCURRENCY);
            const consumer = await js.consumers.get(StreamNames.EVENTS, durable('raw', round));
            const messages = await consumer.consume({ max_messages: CONCURRENCY });
            const latencies: number[] = [];
            const reader = (async () => {
              for await (const msg of messages) {
                const event = msg.json<{ data: unknown }>();
                latencies.push(performance.now() - sentAtOf(event.data));
                msg.ack();
                if (latencies.length === count) break;
              }
            })();
            try {
              await sleep(50);
              const acks: Promise<unknown>[] = [];
              await paced(count, RATE, (i) => {
                const { id, body } = rawEnvelope(subject, eventData(i, performance.now()));
                acks.push(js.publish(subject, body, { msgID: id }));
              });
              await Promise.all(acks);
              await within(60_000, 'latency (raw)', reader);
            } finally {
              messages.stop();
              await deleteConsumer(jsm, StreamNames.EVENTS, durable('raw', round));
              await jsm.streams.purge(StreamNames.EVENTS, { filter: subject });
            }
            return latencySummary(latencies);
          },
        },
      ], plan);

      const row = (p: 'p50' | 'p99', target: number): ResultRow =>
        compare({
          workload: '3 latency',
          metric: `publish -> handler start ${p} at ${RATE}/s`,
          unit: 'ms',
          better: 'lower',
          ours: { label: 'publish -> subscribe (memory store)', samples: metric(samples, 'ours', p) },
          baseline: { label: 'js.publish -> consume()', samples: metric(samples, 'raw', p) },
          target: { max: target },
        });
      return [row('p50', 1.1), row('p99', 1.5)];
    } finally {
      await client.close();
    }
  });
}
