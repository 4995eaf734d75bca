import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsProxy, NatsServer } from '@multi-agent/testing';
import { EventSubjects, SubjectTokenError, ValidationError, subjects } from '@multi-agent/events';
import type { DomainEvent, ExecutionNodeCompletedEvent, TokenMessage } from '@multi-agent/events';
import {
  NatsClient,
  NoRespondersError,
  NoStreamError,
  NotConnectedError,
  PayloadTooLargeError,
  RemoteHandlerError,
  RequestTimeoutError,
  StreamNames,
} from '../src/index.js';
import { Collector, clientPool, connectClient, testEvent, testLogger, uniqueToken, waitFor } from './support.js';

let server: NatsServer;
const { client, closeAll } = clientPool();

beforeAll(async () => {
  server = await NatsServer.start({ maxPayload: 64 * 1024 });
});

afterAll(async () => {
  await closeAll();
  await server.stop();
});

describe('connect and streams', () => {
  it('creates the five platform streams with the designed limits', async () => {
    const c = await client(server.url);
    const { jsm } = c.jetstream;
    const events = await jsm.streams.info(StreamNames.EVENTS);
    expect(events.config.subjects).toEqual(['workflow.>', 'execution.>', 'agent.>', 'tool.execution.>', 'model.inference.>', 'vector.>']);
    expect(events.config.max_msgs).toBe(1_000_000);
    expect(events.config.duplicate_window).toBe(120 * 1e9);
    expect((await jsm.streams.info(StreamNames.DLQ)).config.subjects).toEqual(['dlq.*']);
    expect((await jsm.streams.info(StreamNames.TOKENS)).config.max_bytes).toBeGreaterThan(0);
    expect((await jsm.streams.info(StreamNames.ADVISORIES)).config.subjects[0]).toMatch(/MAX_DELIVERIES/);
    const audit = (await jsm.streams.info(StreamNames.AUDIT)).config;
    expect([audit.subjects, audit.max_age]).toEqual([['audit.>'], 365 * 24 * 3600 * 1e9]);
    expect(c.isConnected).toBe(true);
  });

  it('updates a drifted stream config on connect and never deletes the stream', async () => {
    const c = await client(server.url);
    const { jsm } = c.jetstream;
    const info = await jsm.streams.info(StreamNames.DLQ);
    await jsm.streams.update(StreamNames.DLQ, { ...info.config, max_msgs: 5 });
    const second = await client(server.url);
    const fixed = await second.jetstream.jsm.streams.info(StreamNames.DLQ);
    expect(fixed.config.max_msgs).toBe(-1);
    expect(second.health().streams.find((s) => s.stream === StreamNames.DLQ)).toMatchObject({ action: 'updated', drift: ['max_msgs'] });
  });

  it('fails to connect with a typed error naming the servers', async () => {
    const c = new NatsClient({ servers: ['nats://127.0.0.1:1'], connectTimeoutMs: 500, maxReconnectAttempts: 0 }, 'nobody', { logger: testLogger });
    await expect(c.connect()).rejects.toThrow(NotConnectedError);
    await expect(c.connect()).rejects.toThrow(/127\.0\.0\.1:1/);
  });

  it('refuses to publish before connect', async () => {
    const c = new NatsClient({ servers: [server.url] }, 'early', { logger: testLogger });
    await expect(c.publish(testEvent('vector.early.x'))).rejects.toThrow(NotConnectedError);
  });
});

describe('publish and subscribe', () => {
  it('round-trips an event: Date timestamp, data, lineage and unknown fields', async () => {
    const ns = uniqueToken();
    const c = await client(server.url);
    const got = new Collector<DomainEvent>();
    await c.subscribe(`vector.${ns}.>`, (e) => got.push(e));
    const sent = { ...testEvent(`vector.${ns}.upserted`, { n: 1 }, { correlationId: 'corr-1' }), extra: 'kept' };
    const result = await c.publish(sent);
    expect(result).toMatchObject({ stream: 'EVENTS', duplicate: false });
    const [received] = await got.waitFor(1);
    expect(received!.timestamp).toBeInstanceOf(Date);
    expect(received!.timestamp.getTime()).toBe(sent.timestamp.getTime());
    expect(received).toMatchObject({ eventId: sent.eventId, data: { n: 1 }, correlationId: 'corr-1', extra: 'kept' });
  });

  it('stores an eventId published twice once (duplicate window)', async () => {
    const ns = uniqueToken();
    const c = await client(server.url);
    const event = testEvent(`vector.${ns}.upserted`);
    const first = await c.publish(event);
    const second = await c.publish(event);
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
  });

  it('fills eventId, timestamp and version when the caller leaves them out', async () => {
    const ns = uniqueToken();
    const c = await client(server.url);
    const got = new Collector<DomainEvent>();
    await c.subscribe(`vector.${ns}.*`, (e) => got.push(e));
    await c.publish({ eventType: `vector.${ns}.upserted`, data: { x: 1 } });
    const [e] = await got.waitFor(1);
    expect(e!.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(e!.version).toBe('1.0');
  });

  it('splits the events of a shared durable between two instances, each event handled once', async () => {
    const ns = uniqueToken();
    const a = await client(server.url, 'splitter');
    const b = await client(server.url, 'splitter');
    const seen = new Collector<{ who: string; id: string }>();
    await a.subscribe(`vector.${ns}.*`, async (e) => {
      seen.push({ who: 'a', id: e.eventId });
      await new Promise((r) => setTimeout(r, 5));
    });
    await b.subscribe(`vector.${ns}.*`, async (e) => {
      seen.push({ who: 'b', id: e.eventId });
      await new Promise((r) => setTimeout(r, 5));
    });
    const ids = [];
    for (let i = 0; i < 60; i++) ids.push((await a.publish(testEvent(`vector.${ns}.upserted`, { i }))).eventId);
    await seen.waitFor(60);
    expect(new Set(seen.items.map((s) => s.id)).size).toBe(60);
    expect(seen.items.length).toBe(60);
    expect(seen.items.some((s) => s.who === 'a')).toBe(true);
    expect(seen.items.some((s) => s.who === 'b')).toBe(true);
  });

  it('gives every instance every event with { broadcast: true }', async () => {
    const ns = uniqueToken();
    const a = await client(server.url, 'caster');
    const b = await client(server.url, 'caster');
    const gotA = new Collector<DomainEvent>();
    const gotB = new Collector<DomainEvent>();
    await a.subscribe(`vector.${ns}.*`, (e) => gotA.push(e), undefined, { broadcast: true });
    await b.subscribe(`vector.${ns}.*`, (e) => gotB.push(e), undefined, { broadcast: true });
    for (let i = 0; i < 10; i++) await a.publish(testEvent(`vector.${ns}.upserted`, { i }));
    await gotA.waitFor(10);
    await gotB.waitFor(10);
    expect(gotA.items.map((e) => e.data)).toEqual(gotB.items.map((e) => e.data));
  });

  it('keeps a handler that runs past ack_wait alive with working(), without redelivery', async () => {
    const ns = uniqueToken();
    const c = await client(server.url, undefined, { ackWaitMs: 1000 });
    let runs = 0;
    const done = new Collector<number>();
    await c.subscribe(`vector.${ns}.*`, async (_e, ctx) => {
      runs += 1;
      await new Promise((r) => setTimeout(r, 3000));
      done.push(ctx.attempt);
    });
    await c.publish(testEvent(`vector.${ns}.slow`));
    await done.waitFor(1, 10_000);
    const info = await c.jetstream.jsm.consumers.info('EVENTS', c.health().subscriptions[0]!.consumer);
    await waitFor(async () => (await c.jetstream.jsm.consumers.info('EVENTS', info.name)).num_ack_pending === 0);
    expect(runs).toBe(1);
    expect(done.items).toEqual([1]);
    // Delivered once (num_redelivered is always 0 once acked; the consumer sequence counts every delivery).
    expect((await c.jetstream.jsm.consumers.info('EVENTS', info.name)).delivered.consumer_seq).toBe(1);
  });

  it('drops a subscription the caller stopped from health(), and stops taking its events', async () => {
    const ns = uniqueToken();
    const c = await client(server.url);
    const got = new Collector<DomainEvent>();
    const sub = await c.subscribe(`vector.${ns}.*`, (e) => got.push(e));
    expect(c.health().subscriptions.map((s) => s.subject)).toContain(`vector.${ns}.*`);
    await sub.stop();
    expect(c.health().subscriptions.map((s) => s.subject)).not.toContain(`vector.${ns}.*`);
    await c.publish(testEvent(`vector.${ns}.after-stop`));
    const info = await waitFor(async () => {
      const i = await c.jetstream.jsm.consumers.info('EVENTS', sub.consumer);
      return i.num_pending === 1 ? i : undefined;
    });
    expect(info.num_ack_pending).toBe(0);
    expect(got.items).toHaveLength(0);
  });

  it('fills correlationId and causationId in ctx.publish', async () => {
    const ns = uniqueToken();
    const c = await client(server.url);
    const caused = new Collector<DomainEvent>();
    await c.subscribe(`vector.${ns}.first`, (_e, ctx) => ctx.publish({ eventType: `vector.${ns}.second`, data: {} }));
    await c.subscribe(`vector.${ns}.second`, (e) => caused.push(e));
    const first = await c.publish(testEvent(`vector.${ns}.first`));
    const [second] = await caused.waitFor(1);
    expect(second).toMatchObject({ correlationId: first.eventId, causationId: first.eventId });
  });

  it('accepts the guide-typed handler for a platform subject', async () => {
    const c = await client(server.url);
    const executionId = uniqueToken('exec');
    const got = new Collector<string>();
    await c.subscribe(
      EventSubjects.EXECUTION_NODE_COMPLETED,
      async (event: ExecutionNodeCompletedEvent) => {
        if (event.data.executionId === executionId) got.push(event.data.nodeId);
      },
      `node-completed-${executionId}`,
      { deliverPolicy: 'new' },
    );
    await c.publish({ eventType: EventSubjects.EXECUTION_NODE_COMPLETED, data: { executionId, nodeId: 'n1', output: 1 } });
    expect(await got.waitFor(1)).toEqual(['n1']);
  });
});

describe('bad input', () => {
  it('rejects an event that violates its schema before sending anything', async () => {
    const c = await client(server.url);
    await expect(
      c.publish({ eventType: EventSubjects.WORKFLOW_EXECUTION_REQUESTED, data: { workflowId: 'w', userId: 'u' } }),
    ).rejects.toThrow(ValidationError);
  });

  it('rejects an unsafe executionId in a subject builder and in publishStream', async () => {
    const c = await client(server.url);
    expect(() => subjects.tokenStream('a.b')).toThrow(SubjectTokenError);
    expect(() => subjects.tokenStream('*')).toThrow(SubjectTokenError);
    await expect(c.publishStream('model.token.stream.a b', 'x', false)).rejects.toThrow(SubjectTokenError);
    await expect(c.publishStream('model.token.stream.>', 'x', false)).rejects.toThrow(SubjectTokenError);
  });

  it('rejects a payload above the server max_payload with a typed error', async () => {
    const c = await client(server.url);
    await expect(c.publish(testEvent(`vector.${uniqueToken()}.big`, { blob: 'x'.repeat(70 * 1024) }))).rejects.toThrow(
      PayloadTooLargeError,
    );
  });

  it('refuses a subject no stream stores instead of dropping the event', async () => {
    const c = await client(server.url);
    await expect(c.publish(testEvent('nowhere.to.go'))).rejects.toThrow(NoStreamError);
  });
});

describe('request/reply', () => {
  it('returns the value a handler returns as the reply', async () => {
    const c = await client(server.url, 'tools');
    const subject = `tool.execute.${uniqueToken()}`;
    await c.subscribe(`${subject}.request`, (req) => ({ echoed: req.data }));
    const reply = await c.request(`${subject}.request`, { eventType: `${subject}.request`, data: { a: 1 } }, 2000);
    expect(reply.data).toEqual({ echoed: { a: 1 } });
    expect(reply.eventType).toBe(`${subject}.response`);
  });

  it('resolves from a tool.execute.response event carrying correlationId (the guide replier)', async () => {
    const c = await client(server.url, 'guide-tools');
    const subject = `tool.execute.${uniqueToken()}`;
    await c.subscribe(`${subject}.request`, async (request) => {
      await c.publish({ eventType: `${subject}.response`, correlationId: request.eventId, data: { result: 42 } });
    });
    const reply = await c.request(`${subject}.request`, { eventType: `${subject}.request`, data: {} }, 2000);
    expect(reply.data).toEqual({ result: 42 });
  });

  it('fails at once with NoRespondersError when nobody listens', async () => {
    const c = await client(server.url);
    const started = Date.now();
    await expect(c.request('tool.execute.nobody.request', { eventType: 'tool.execute.nobody.request' }, 5000)).rejects.toThrow(
      NoRespondersError,
    );
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('fails with RequestTimeoutError when the replier is too slow', async () => {
    const c = await client(server.url, 'slow-tools');
    const subject = `tool.execute.${uniqueToken()}.request`;
    await c.subscribe(subject, () => new Promise((r) => setTimeout(() => r('late'), 1500)));
    await expect(c.request(subject, { eventType: subject }, 300)).rejects.toThrow(RequestTimeoutError);
  });

  it('carries a replier error back as RemoteHandlerError', async () => {
    const c = await client(server.url, 'bad-tools');
    const subject = `tool.execute.${uniqueToken()}.request`;
    await c.subscribe(subject, () => {
      throw new Error('tool exploded');
    });
    await expect(c.request(subject, { eventType: subject }, 2000)).rejects.toThrow(RemoteHandlerError);
    await expect(c.request(subject, { eventType: subject }, 2000)).rejects.toThrow(/tool exploded/);
  });
});

describe('token streaming', () => {
  it('lets a late subscribeStream read every token in order and end on completion', async () => {
    const c = await client(server.url);
    const executionId = uniqueToken('exec');
    const subject = subjects.tokenStream(executionId);
    for (let i = 0; i < 20; i++) await c.publishStream(subject, `t${i} `, false);
    const reading = (async () => {
      const tokens: string[] = [];
      for await (const t of c.subscribeStream(executionId)) tokens.push(t.token);
      return tokens;
    })();
    for (let i = 20; i < 30; i++) await c.publishStream(subject, `t${i} `, false);
    await c.publishStream(subject, '', true);
    const tokens = await reading;
    expect(tokens.slice(0, -1)).toEqual(Array.from({ length: 30 }, (_, i) => `t${i} `));
    expect(tokens.at(-1)).toBe('');
  });

  it('numbers on from the stored tokens when another producer continues a stream', async () => {
    const a = await client(server.url, 'producer-a');
    const b = await client(server.url, 'producer-b');
    const executionId = uniqueToken('exec');
    const subject = subjects.tokenStream(executionId);
    await a.publishStream(subject, 'one ', false);
    await a.publishStream(subject, 'two ', false);
    // Producer a is gone once its tokens are stored (publishStream does not wait for each ack).
    await waitFor(async () => {
      const last = await a.jetstream.jsm.streams.getMessage('TOKENS', { last_by_subj: subject });
      return last?.json<{ seq: number }>().seq === 2;
    });
    await b.publishStream(subject, 'three ', false);
    await b.publishStream(subject, '', true);
    const read: string[] = [];
    for await (const t of a.subscribeStream(executionId, { idleTimeoutMs: 2000 })) read.push(`${t.seq}:${t.token}`);
    expect(read).toEqual(['1:one ', '2:two ', '3:three ', '4:']);
  });

  it('reads a live token whose core delivery was lost back from the stream, in order', async () => {
    const proxy = await NatsProxy.start({ port: server.port });
    try {
      const reader = await client(proxy.url);
      const producer = await client(server.url);
      const executionId = uniqueToken('exec');
      const subject = subjects.tokenStream(executionId);
      let dropped = 0;
      // Drop the plain pub/sub copy of token 5 (JetStream deliveries carry a $JS.ACK reply).
      proxy.onServerOp((op) => {
        const isCoreCopy = op.subject === subject && !(op.reply ?? '').startsWith('$JS.ACK');
        if (isCoreCopy && dropped === 0 && op.payload?.toString().includes('"seq":5')) {
          dropped += 1;
          return 'drop';
        }
        return 'pass';
      });
      const seen = new Collector<number>();
      const reading = (async () => {
        for await (const t of reader.subscribeStream(executionId, { idleTimeoutMs: 5000 })) seen.push(t.seq);
      })();
      for (let i = 1; i <= 4; i++) await producer.publishStream(subject, `t${i}`, false);
      await seen.waitFor(4); // the reader is live now: its core subscription predates token 5
      for (let i = 5; i <= 10; i++) await producer.publishStream(subject, `t${i}`, false);
      await producer.publishStream(subject, '', true);
      await reading;
      expect(seen.items).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
      expect(dropped).toBe(1);
    } finally {
      await proxy.stop();
    }
  });

  it('carries the node of each token: two nodes writing one stream at once keep their own order, and tokens without a node still read', async () => {
    const c = await client(server.url);
    const executionId = uniqueToken('exec');
    const subject = subjects.tokenStream(executionId);
    await c.publishStream(subject, 'before ', false); // as a producer that predates node ids writes
    const node = async (nodeId: string): Promise<void> => {
      for (let i = 0; i < 50; i++) await c.publishStream(subject, `${nodeId}${i} `, false, { nodeId });
    };
    await Promise.all([node('optimist'), node('sceptic')]);
    await c.publishStream(subject, '', true);
    const read: TokenMessage[] = [];
    for await (const t of c.subscribeStream(executionId)) read.push(t);
    expect(read.map((t) => t.seq)).toEqual(read.map((_, i) => i + 1));
    expect(read[0]).toEqual({ token: 'before ', isComplete: false, seq: 1 });
    for (const nodeId of ['optimist', 'sceptic']) {
      expect(read.filter((t) => t.nodeId === nodeId).map((t) => t.token)).toEqual(Array.from({ length: 50 }, (_, i) => `${nodeId}${i} `));
    }
    // The two nodes' tokens alternate in the stream: neither waited for the other to finish.
    const sceptics = read.filter((t) => t.nodeId === 'sceptic').map((t) => t.seq);
    expect(Math.min(...sceptics)).toBeLessThan(Math.max(...read.filter((t) => t.nodeId === 'optimist').map((t) => t.seq)));
    await expect(c.publishStream(subject, 'x', false, { nodeId: 'a.b' })).rejects.toThrow(SubjectTokenError);
  });

  it('resumes from fromSeq', async () => {
    const c = await client(server.url);
    const executionId = uniqueToken('exec');
    const subject = subjects.tokenStream(executionId);
    for (let i = 1; i <= 5; i++) await c.publishStream(subject, `t${i}`, false);
    await c.publishStream(subject, '', true);
    const seqs: number[] = [];
    for await (const t of c.subscribeStream(executionId, { fromSeq: 4 })) seqs.push(t.seq);
    expect(seqs).toEqual([4, 5, 6]);
  });

  it('serves a plain core subscriber with { token, isComplete } as the guide shows', async () => {
    const c = await client(server.url);
    const executionId = uniqueToken('exec');
    const subscription = c.connection.subscribe(`model.token.stream.${executionId}`);
    const reading = (async () => {
      const shown: string[] = [];
      for await (const msg of subscription) {
        const { token, isComplete } = JSON.parse(msg.data) as { token: string; isComplete: boolean };
        if (isComplete) break;
        shown.push(token);
      }
      return shown;
    })();
    await c.natsConnection.flush();
    for (const t of ['Hel', 'lo']) await c.publishStream(`model.token.stream.${executionId}`, t, false);
    await c.publishStream(`model.token.stream.${executionId}`, '', true);
    expect(await reading).toEqual(['Hel', 'lo']);
  });
});

describe('reconnect', () => {
  it('keeps a subscription working across a server restart on the same store', async () => {
    const own = await NatsServer.start();
    try {
      const c = await connectClient(own.url, 'restarter', { reconnectTimeWait: 100 });
      const ns = uniqueToken();
      const got = new Collector<DomainEvent>();
      await c.subscribe(`vector.${ns}.*`, (e) => got.push(e));
      await c.publish(testEvent(`vector.${ns}.before`));
      await got.waitFor(1);
      await own.restart();
      await waitFor(() => c.isConnected, 15_000, 'reconnect');
      await c.publish(testEvent(`vector.${ns}.after`));
      const items = await got.waitFor(2, 20_000);
      expect(items.map((e) => e.eventType)).toEqual([`vector.${ns}.before`, `vector.${ns}.after`]);
      await c.close();
    } finally {
      await own.stop();
    }
  });
});
