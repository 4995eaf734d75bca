/**
 * Workload 5: request/reply round trips per second on a core subject (no stream), with 1 and
 * with 32 requests in flight.
 * Ours: `client.request(subject, event)` -> a replier `subscribe(subject, handler)` whose return
 *   value is the reply (validated, encoded and decoded as events on both ends).
 * Raw: `nc.request(subject, body)` -> `nc.subscribe(subject, { callback })` that `respond()`s an
 *   envelope of the same size; the requester JSON-parses the reply.
 */
import type { NatsClient } from '@multi-agent/nats-client';
import { alternate, compare, metric, windowed } from '../harness.js';
import type { BenchContext, ResultRow, Sample } from '../harness.js';
import { eventData, openClient, rawEnvelope, token, withServer } from '../fixtures.js';

const WINDOWS = [1, 32] as const;

async function timed(count: number, window: number, request: (i: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await windowed(count, window, request);
  return count / ((performance.now() - started) / 1000);
}

export async function requestWorkload(ctx: BenchContext): Promise<ResultRow[]> {
  const count = ctx.quick ? 1000 : 10_000;
  const plan = ctx.quick ? { rounds: 2, warmup: 1 } : { rounds: 9, warmup: 1 };
  ctx.log(`5 request/reply: ${count} round trips per round, ${WINDOWS.join(' and ')} in flight`);

  return withServer(async (server) => {
    // Requester and replier are separate clients (separate connections), as they would be separate services.
    const requester: NatsClient = await openClient(server);
    const replier: NatsClient = await openClient(server);
    try {
      const subjectOf = (side: string, round: number): string => `tool.execute.${token(ctx.runId, `req${side}${round}`)}.request`;
      const samples = await alternate(ctx, 'request', [
        {
          name: 'ours',
          run: async (round): Promise<Sample> => {
            const subject = subjectOf('ours', round);
            const sub = await replier.subscribe(subject, async () => ({ ok: true, result: 'done' }), undefined, { concurrency: 64 });
            await replier.natsConnection.flush();
            try {
              const sample: Sample = {};
              for (const window of WINDOWS) {
                sample[`w${window}`] = await timed(count, window, (i) => requester.request(subject, { eventType: subject, data: eventData(i) }));
              }
              return sample;
            } finally {
              await sub.stop();
            }
          },
        },
        {
          name: 'raw',
          run: async (round): Promise<Sample> => {
            const subject = subjectOf('raw', round);
            const nc = requester.natsConnection;
            const sub = replier.natsConnection.subscribe(subject, {
              callback: (err, msg) => {
                if (err === null) msg.respond(rawEnvelope(`${subject}.response`, { ok: true, result: 'done' }).body);
              },
            });
            await replier.natsConnection.flush();
            try {
              const sample: Sample = {};
              for (const window of WINDOWS) {
                sample[`w${window}`] = await timed(count, window, async (i) => {
                  const reply = await nc.request(subject, rawEnvelope(subject, eventData(i)).body, { timeout: 5000 });
                  return reply.json<unknown>();
                });
              }
              return sample;
            } finally {
              sub.unsubscribe();
            }
          },
        },
      ], plan);

      return WINDOWS.map((window) =>
        compare({
          workload: '5 request/reply',
          metric: `round trips, ${window} in flight`,
          unit: 'req/s',
          better: 'higher',
          ours: { label: 'request -> subscribe replier', samples: metric(samples, 'ours', `w${window}`) },
          baseline: { label: 'nc.request -> respond()', samples: metric(samples, 'raw', `w${window}`) },
          target: window === 32 ? { min: 0.8 } : undefined,
        }),
      );
    } finally {
      await Promise.all([requester.close(), replier.close()]);
    }
  });
}
