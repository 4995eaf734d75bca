/**
 * The metrics an operator alerts on: each durable consumer's backlog (read from the server at
 * scrape time) and the publish latency histogram.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NatsServer } from '@multi-agent/testing';
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
