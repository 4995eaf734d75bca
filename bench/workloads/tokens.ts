/**
 * Workload 4: token streaming, 10,000 tokens from one producer to one reader, in two phases:
 * - burst: tokens sent back to back; tokens/s from the first send to the last token read;
 * - paced: tokens sent at a steady rate; per-token latency (send call -> token read) p50/p99.
 *
 * Ours: `publishStream` (JetStream, TOKENS stream, acks in a window) -> `subscribeStream`
 *   (ordered consumer, decoded and checked `{ token, isComplete, seq }`).
 * Baseline (the target's): raw core `nc.publish` -> `nc.subscribe`, JSON-parsing each token, on a
 *   subject no stream stores: nothing is persisted, nothing acknowledged.
 * Reference (no target): raw JetStream, `js.publish` (same window) -> an ordered consumer, to
 *   tell what JetStream itself costs from what our wrapper costs.
 *
 * Every reader is started 50 ms before the first token, so consumer setup is not timed.
 */
import { StreamNames } from '@multi-agent/nats-client';
import type { NatsClient } from '@multi-agent/nats-client';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { PubAck } from '@nats-io/jetstream';
import { alternate, compare, latencySummary, metric, paced, sleep, within } from '../harness.js';
import type { BenchContext, ResultRow, Sample } from '../harness.js';
import { openClient, token as runToken, withServer } from '../fixtures.js';

const PACED_RATE = 2000;
/** Our `publishStream` keeps 256 acks in flight; the raw JetStream reference uses the same window. */
const JS_WINDOW = 256;
const WORDS = ' the model streams one token after another until the answer is complete'.split(/(?= )/);

interface TokenBody {
  token: string;
  isComplete: boolean;
  seq: number;
}

/** The pieces one side plugs into the common burst/paced procedure. */
interface Pipe {
  /** Starts the reader; `onToken(seq)` is called for each token read, in order. */
  read(onToken: (seq: number) => void): Promise<void>;
  /** Sends token `seq` (1-based); the last one has `isComplete`. */
  send(seq: number, isComplete: boolean): Promise<void> | void;
  /** Waits for what the sender still has in flight. */
  flush(): Promise<void>;
}

/** One phase: send `count` tokens (back to back, or at `rate`), read them all, time both. */
async function runPhase(pipe: Pipe, count: number, rate: number | undefined): Promise<{ rate: number; p50: number; p99: number }> {
  const sentAt = new Float64Array(count + 1);
  const latencies: number[] = [];
  let lastReadAt = 0;
  const reader = pipe.read((seq) => {
    lastReadAt = performance.now();
    const sent = sentAt[seq];
    if (sent === undefined) throw new Error(`read token ${seq}, which is not one of the ${count} sent`);
    latencies.push(lastReadAt - sent);
  });
  await sleep(50);
  const started = performance.now();
  const sendOne = (i: number): Promise<void> | void => {
    sentAt[i + 1] = performance.now();
    return pipe.send(i + 1, i + 1 === count);
  };
  if (rate === undefined) {
    for (let i = 0; i < count; i++) await sendOne(i);
  } else {
    await paced(count, rate, sendOne);
  }
  await pipe.flush();
  await within(60_000, 'reading the token stream', reader);
  if (latencies.length !== count) throw new Error(`read ${latencies.length} tokens of ${count}`);
  return { rate: count / ((lastReadAt - started) / 1000), ...latencySummary(latencies) };
}

function tokenText(seq: number): string {
  const word = WORDS[seq % WORDS.length];
  if (word === undefined) throw new Error('WORDS is empty: no token text');
  return word;
}

function oursPipe(client: NatsClient, executionId: string): Pipe {
  const subject = `model.token.stream.${executionId}`;
  let last: Promise<void> = Promise.resolve();
  return {
    read: async (onToken) => {
      for await (const t of client.subscribeStream(executionId)) onToken(t.seq);
    },
    send: (seq, isComplete) => {
      last = client.publishStream(subject, tokenText(seq), isComplete);
      return last;
    },
    flush: () => last,
  };
}

const encoder = new TextEncoder();

function body(seq: number, isComplete: boolean): Uint8Array {
  return encoder.encode(JSON.stringify({ token: tokenText(seq), isComplete, seq }));
}

function corePipe(client: NatsClient, subject: string): Pipe {
  const nc = client.natsConnection;
  const sub = nc.subscribe(subject);
  return {
    read: async (onToken) => {
      for await (const msg of sub) {
        const t = msg.json<TokenBody>();
        onToken(t.seq);
        if (t.isComplete) break;
      }
    },
    send: (seq, isComplete) => nc.publish(subject, body(seq, isComplete)),
    flush: () => nc.flush(),
  };
}

function jetStreamPipe(client: NatsClient, subject: string): Pipe {
  const { js } = client.jetstream;
  const pending: Promise<PubAck>[] = [];
  return {
    read: async (onToken) => {
      const consumer = await js.consumers.get(StreamNames.TOKENS, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
      const messages = await consumer.consume({ max_messages: 512 });
      for await (const msg of messages) {
        const t = msg.json<TokenBody>();
        onToken(t.seq);
        if (t.isComplete) break;
      }
      messages.stop();
    },
    send: async (seq, isComplete) => {
      pending.push(js.publish(subject, body(seq, isComplete)));
      if (pending.length > JS_WINDOW) await pending.shift();
    },
    flush: async () => {
      await Promise.all(pending.splice(0));
    },
  };
}

export async function tokensWorkload(ctx: BenchContext): Promise<ResultRow[]> {
  const count = ctx.quick ? 2000 : 10_000;
  const pacedCount = ctx.quick ? 600 : 10_000;
  const plan = ctx.quick ? { rounds: 1, warmup: 1 } : { rounds: 5, warmup: 1 };
  ctx.log(`4 tokens: ${count} tokens burst, ${pacedCount} tokens at ${PACED_RATE}/s`);

  return withServer(async (server) => {
    const client: NatsClient = await openClient(server);
    try {
      const id = (side: string, phase: string, round: number): string => runToken(ctx.runId, `tok${side}${phase}${round}`);
      const side = (name: string, pipe: (id: string) => Pipe) => ({
        name,
        run: async (round: number): Promise<Sample> => {
          const burst = await runPhase(pipe(id(name, 'b', round)), count, undefined);
          const steady = await runPhase(pipe(id(name, 'p', round)), pacedCount, PACED_RATE);
          return { rate: burst.rate, p50: steady.p50, p99: steady.p99 };
        },
      });
      const samples = await alternate(ctx, 'tokens', [
        side('ours', (executionId) => oursPipe(client, executionId)),
        side('core', (executionId) => corePipe(client, `bench.tokens.${executionId}`)),
        side('js', (executionId) => jetStreamPipe(client, `model.token.stream.${executionId}`)),
      ], plan);
      await client.jetstream.jsm.streams.purge(StreamNames.TOKENS);

      const ours = 'publishStream -> subscribeStream';
      const core = { label: 'core nc.publish -> nc.subscribe', name: 'core' };
      const js = { label: 'raw JetStream js.publish -> ordered consumer', name: 'js' };
      const row = (m: 'rate' | 'p50' | 'p99', base: typeof core, target?: number): ResultRow =>
        compare({
          workload: '4 tokens',
          metric:
            m === 'rate'
              ? `${count.toLocaleString('en-US')} tokens back to back`
              : `per-token latency ${m}, ${pacedCount.toLocaleString('en-US')} tokens at ${PACED_RATE}/s`,
          unit: m === 'rate' ? 'tokens/s' : 'ms',
          better: m === 'rate' ? 'higher' : 'lower',
          ours: { label: ours, samples: metric(samples, 'ours', m) },
          baseline: { label: base.label, samples: metric(samples, base.name, m) },
          target: target === undefined ? undefined : m === 'rate' ? { min: target } : { max: target },
          note: base === js ? 'reference: what JetStream itself costs' : undefined,
        });
      return [row('rate', core), row('p50', core, 1.3), row('p99', core), row('rate', js, 0.9), row('p50', js), row('p99', js)];
    } finally {
      await client.close();
    }
  });
}
