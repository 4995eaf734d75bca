/**
 * `multi-agent provision`: creates every stream, bucket and declared durable, changes nothing
 * on a second run, brings drifted consumers back and reports what it cannot fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { pino } from 'pino';
import { main } from '@multi-agent/cli';
import { CORRELATION_INDEXER, NatsClient, platformStreams } from '@multi-agent/nats-client';
import { declaredDurables, PLATFORM_KV_BUCKETS, PLATFORM_OBJECT_STORES } from '@multi-agent/service-kit';
import { NatsServer } from '@multi-agent/testing';

let server: NatsServer;
let client: NatsClient;

async function provision(): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await main(['provision', '--server', server.url], { out: (l) => out.push(l), err: (l) => out.push(l) });
  return { code, out };
}

const line = (out: string[], name: string): string | undefined => out.find((l) => l.split(/\s+/)[1] === name);

beforeAll(async () => {
  server = await NatsServer.start();
  client = new NatsClient({ servers: [server.url] }, 'provision-test', { logger: pino({ level: 'silent' }), deadLetterWatcher: false, setUpStreams: false });
  await client.connect();
});

afterAll(async () => {
  await client.close();
  await server.stop();
});

describe('provision', () => {
  it('creates the streams, buckets, object store and every declared durable', async () => {
    const { code, out } = await provision();
    expect(code).toBe(0);
    const { jsm } = client.jetstream;
    for (const stream of ['EVENTS', 'DLQ', 'TOKENS', 'ADVISORIES', 'KV_IDEMPOTENCY', 'KV_DELIVERY_ATTEMPTS', 'KV_DLQ_REPLAYS', 'KV_EXECUTIONS', 'OBJ_EXECUTION_INPUTS']) {
      expect((await jsm.streams.info(stream)).config.name).toBe(stream);
    }
    for (const d of declaredDurables()) {
      const info = await jsm.consumers.info(d.stream, d.durable);
      expect(info.config).toMatchObject({ filter_subject: d.filterSubject, deliver_policy: d.deliverPolicy });
      const description =
        d.service === undefined ? 'service=eventbus dead-letter watcher' : d.durable === CORRELATION_INDEXER ? `service=${d.service} correlation indexer` : `service=${d.service}`;
      expect(info.config.description).toBe(description);
      expect(line(out, `${d.stream}/${d.durable}`)).toMatch(/created/);
    }
  });

  it('creates one correlation indexer on all of EVENTS, retrying every event until indexed', async () => {
    const indexers = declaredDurables().filter((d) => d.durable === CORRELATION_INDEXER);
    expect(indexers).toEqual([{ service: 'gateway', stream: 'EVENTS', durable: CORRELATION_INDEXER, filterSubject: '>', deliverPolicy: 'all' }]);
    const info = await client.jetstream.jsm.consumers.info('EVENTS', CORRELATION_INDEXER);
    expect(info.config).toMatchObject({ filter_subject: '>', max_deliver: -1 });
  });

  it('changes nothing when run again', async () => {
    const { code, out } = await provision();
    expect(code).toBe(0);
    const rows = out.slice(1).filter((l) => /^(stream|bucket|object-store|durable)\s/.test(l));
    expect(rows.length).toBe(platformStreams().length + PLATFORM_KV_BUCKETS.length + PLATFORM_OBJECT_STORES.length + declaredDurables().length);
    expect(rows.filter((l) => !/\sunchanged\s*$/.test(l))).toEqual([]);
  });

  it('brings a drifted durable back, and reports drift it cannot fix and durables nobody declares', async () => {
    const { jsm } = client.jetstream;
    const [first, second] = declaredDurables().filter((d) => d.stream === 'EVENTS');
    await jsm.consumers.update(first!.stream, first!.durable, { ack_wait: nanos(5000) });
    await jsm.consumers.delete(second!.stream, second!.durable);
    await jsm.consumers.add(second!.stream, { durable_name: second!.durable, filter_subject: 'vector.other', ack_policy: AckPolicy.Explicit });
    await jsm.consumers.add('EVENTS', { durable_name: 'someone-else', filter_subject: 'vector.x', ack_policy: AckPolicy.Explicit });
    const { code, out } = await provision();
    expect(code).toBe(1);
    expect(line(out, `EVENTS/${first!.durable}`)).toMatch(/updated\s+ack_wait/);
    expect(line(out, `EVENTS/${second!.durable}`)).toMatch(/drift-not-updated\s+filter_subject/);
    expect(out).toContain('note: durable someone-else on EVENTS is in no service\'s declaration (left alone)');
    expect((await jsm.consumers.info(first!.stream, first!.durable)).config.ack_wait).toBe(nanos(30_000));
  });
});
