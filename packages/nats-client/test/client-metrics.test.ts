/**
 * The client metrics an operator watches, each read back after making the thing happen on a
 * real server: each durable consumer's backlog (read from the server at scrape time), publish
 * latency, redeliveries, the idempotency store's call times and failures, and whether the
 * client is connected.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Registry } from 'prom-client';
import { NatsServer } from '@multi-agent/testing';
import { MemoryIdempotencyStore } from '../src/index.js';
import type { ClaimResult } from '../src/index.js';
import { clientPool, testEvent, uniqueToken, waitFor } from './support.js';

let server: NatsServer;
const pool = clientPool();

beforeAll(async () => {
  server = await NatsServer.start();
});
afterAll(async () => {
  await pool.closeAll();
  await server.stop();
});

/** The value of the series of `name` whose labels include `labels` (0 when there is none). */
async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`${name} is not registered`);
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l) && (v as { metricName?: string }).metricName !== `${name}_bucket`);
  return match?.value ?? 0;
}

/** A memory store whose first claim fails, as an unreachable store's would. */
class FlakyStore extends MemoryIdempotencyStore {
  private failed = false;

  override claim(key: string, leaseMs: number): Promise<ClaimResult> {
    if (!this.failed) {
      this.failed = true;
      return Promise.reject(new Error('store unreachable'));
    }
    return super.claim(key, leaseMs);
  }
}

it('counts a redelivery per delivery with a delivery count above 1', async () => {
  const client = await pool.client(server.url);
  const subject = `execution.${uniqueToken('redeliver')}.step`;
  let attempts = 0;
  await client.subscribe(subject, () => {
    attempts += 1;
    if (attempts < 3) throw new Error('transient');
  });
  await client.publish(testEvent(subject));
  await waitFor(async () => (await value(client.metrics.registry, 'eventbus_consumed_total', { subscription: subject, outcome: 'acked' })) === 1, 10_000, 'the third attempt acked');
  expect(await value(client.metrics.registry, 'eventbus_redelivered_total', { subscription: subject })).toBe(2);
});

it('times idempotency store calls by operation and counts the failed ones', async () => {
  const store = new FlakyStore({ ttlMs: 60_000, maxEntries: 1000 });
  const client = await pool.client(server.url, undefined, {}, { idempotencyStore: store });
  const subject = `execution.${uniqueToken('store')}.step`;
  await client.subscribe(subject, () => undefined);
  await client.publish(testEvent(subject));
  const { registry } = client.metrics;
  await waitFor(async () => (await value(registry, 'eventbus_consumed_total', { subscription: subject, outcome: 'acked' })) === 1, 10_000, 'the event acked after the store came back');
  // The failed claim is retried in place: no nak, so the outage spends none of the event's deliveries.
  expect(await value(registry, 'eventbus_consumed_total', { subscription: subject, outcome: 'store_error' })).toBe(0);
  expect(await value(registry, 'eventbus_redelivered_total', { subscription: subject })).toBe(0);
  expect(await value(registry, 'eventbus_idempotency_store_errors_total', { operation: 'claim' })).toBe(1);
  expect(await value(registry, 'eventbus_idempotency_store_errors_total', { operation: 'complete' })).toBe(0);
  // Two claims (the failed one is timed too) and one completion.
  const count = async (operation: string): Promise<number> => {
    const { values } = await registry.getSingleMetric('eventbus_idempotency_store_duration_seconds')!.get();
    return values.find((v) => (v as { metricName?: string }).metricName === 'eventbus_idempotency_store_duration_seconds_count' && v.labels.operation === operation)?.value ?? 0;
  };
  expect(await count('claim')).toBe(2);
  expect(await count('complete')).toBe(1);
});

it('reports the connection as 1 while connected and 0 while reconnecting and after close', async () => {
  const own = await NatsServer.start();
  try {
    const client = await pool.client(own.url, undefined, { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const connected = (): Promise<number> => value(client.metrics.registry, 'eventbus_connected');
    expect(await connected()).toBe(1);
    await own.kill();
    await waitFor(async () => (await connected()) === 0, 10_000, 'the gauge to drop');
    await own.restart();
    await waitFor(async () => (await connected()) === 1, 15_000, 'the gauge back after the reconnect');
    await client.close();
    expect(await connected()).toBe(0);
  } finally {
    await own.stop();
  }
});

/** The value of one series in the Prometheus text, or undefined when it is absent. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

it('reports each durable consumer pending and ack-pending backlog, and publish latency', async () => {
  const client = await pool.client(server.url, undefined, { concurrency: 2 });
  const subject = `execution.${uniqueToken('lag')}.step`;
  const durable = uniqueToken('lag');
  let release!: () => void;
  const blocked = new Promise<void>((resolve) => (release = resolve));
  let started = 0;
  const sub = await client.subscribe(subject, async () => {
    started += 1;
    await blocked;
  }, durable);
  for (let i = 0; i < 10; i++) await client.publish(testEvent(subject, { i }));
  await waitFor(() => started === 2, 10_000, 'two handlers holding events');

  const consumer = `consumer="${durable}"`;
  let text = '';
  await waitFor(async () => {
    text = await client.metrics.registry.metrics();
    return sample(text, 'eventbus_consumer_pending_messages', consumer) === 8;
  }, 10_000, 'pending 8 in the scrape');
  expect(sample(text, 'eventbus_consumer_ack_pending_messages', consumer)).toBe(2);
  expect(text).toContain('stream="EVENTS"');
  expect(sample(text, 'eventbus_publish_duration_seconds_count', 'stream="EVENTS"')).toBeGreaterThanOrEqual(10);

  release();
  await waitFor(async () => {
    text = await client.metrics.registry.metrics();
    return sample(text, 'eventbus_consumer_pending_messages', consumer) === 0 && sample(text, 'eventbus_consumer_ack_pending_messages', consumer) === 0;
  }, 15_000, 'the backlog to drain in the scrape');
  await sub.stop();
  expect(sample(await client.metrics.registry.metrics(), 'eventbus_consumer_pending_messages', consumer)).toBeUndefined();
});

it('reports the age of the tokens a late reader takes from the TOKENS stream', async () => {
  const client = await pool.client(server.url);
  const subject = `model.token.stream.${uniqueToken('lag')}`;
  for (const [i, token] of ['a', 'b', 'c'].entries()) await client.publishStream(subject, token, i === 2);
  // Read after the stream is complete: every token comes from storage.
  const readFrom = Date.now();
  const read: string[] = [];
  for await (const message of client.subscribeStream(subject)) read.push(message.token);
  const readTook = (Date.now() - readFrom) / 1000;
  expect(read).toEqual(['a', 'b', 'c']);
  const metric = client.metrics.registry.getSingleMetric('eventbus_token_stream_lag_seconds');
  const { values } = await metric!.get();
  const series = (suffix: string): number => values.find((v) => (v as { metricName?: string }).metricName === `eventbus_token_stream_lag_seconds_${suffix}`)?.value ?? 0;
  expect(series('count')).toBe(3);
  expect(series('sum')).toBeGreaterThan(0);
  // Ages, not read times: each token is older than the read took, and far from minutes old.
  expect(series('sum')).toBeLessThan(3 * (readTook + 5));
});
