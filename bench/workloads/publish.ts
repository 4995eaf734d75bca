/**
 * Workload 1: publish throughput to EVENTS, acks awaited in a window of 256 in flight.
 * Ours: `NatsClient.publish(event)` (envelope fill, validation, encoding, headers, Nats-Msg-Id).
 * Raw: `js.publish(subject, body, { msgID })` with a hand-built envelope of the same bytes.
 */
import { StreamNames } from '@multi-agent/nats-client';
import { alternate, compare, metric, windowed } from '../harness.js';
import type { BenchContext, ResultRow } from '../harness.js';
import { eventData, eventSubject, openClient, rawEnvelope, withServer } from '../fixtures.js';

export const WINDOW = 256;

export async function publishWorkload(ctx: BenchContext): Promise<ResultRow[]> {
  const count = ctx.quick ? 4000 : 30_000;
  const plan = ctx.quick ? { rounds: 3, warmup: 1 } : { rounds: 11, warmup: 1 };
  ctx.log(`1 publish: ${count} events per round, ${WINDOW} in flight`);

  return withServer(async (server) => {
    const client = await openClient(server);
    try {
      const { js, jsm } = client.jetstream;
      const purge = (subject: string) => jsm.streams.purge(StreamNames.EVENTS, { filter: subject });

      const samples = await alternate(ctx, 'publish', [
        {
          name: 'ours',
          run: async (round) => {
            const subject = eventSubject(ctx.runId, `pubours${round}`);
            const started = performance.now();
            await windowed(count, WINDOW, (i) => client.publish({ eventType: subject, data: eventData(i) }));
            const rate = count / ((performance.now() - started) / 1000);
            await purge(subject);
            return { rate };
          },
        },
        {
          name: 'raw',
          run: async (round) => {
            const subject = eventSubject(ctx.runId, `pubraw${round}`);
            const started = performance.now();
            await windowed(count, WINDOW, (i) => {
              const { id, body } = rawEnvelope(subject, eventData(i));
              return js.publish(subject, body, { msgID: id });
            });
            const rate = count / ((performance.now() - started) / 1000);
            await purge(subject);
            return { rate };
          },
        },
      ], plan);

      return [
        compare({
          workload: '1 publish',
          metric: `publish to EVENTS, ${WINDOW} acks in flight`,
          unit: 'events/s',
          better: 'higher',
          ours: { label: 'NatsClient.publish', samples: metric(samples, 'ours', 'rate') },
          baseline: { label: 'js.publish + msgID', samples: metric(samples, 'raw', 'rate') },
          target: { min: 0.9 },
        }),
      ];
    } finally {
      await client.close();
    }
  });
}
