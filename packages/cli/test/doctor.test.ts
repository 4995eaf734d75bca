import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { NatsClient, StreamNames } from '@multi-agent/nats-client';
import { NatsServer } from '@multi-agent/testing';
import { AckPolicy, StorageType } from '@nats-io/jetstream';
import { consumerFinding, main } from '../src/index.js';
import type { DoctorReport } from '../src/index.js';

const servers: NatsServer[] = [];
const clients: NatsClient[] = [];

async function bus(options: { watcher: boolean }): Promise<{ server: NatsServer; client: NatsClient }> {
  const server = await NatsServer.start();
  servers.push(server);
  const client = new NatsClient({ servers: [server.url] }, 'billing', { logger: pino({ level: 'silent' }), deadLetterWatcher: options.watcher });
  clients.push(client);
  await client.connect();
  return { server, client };
}

async function doctor(server: NatsServer | string, ...args: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const url = typeof server === 'string' ? server : server.url;
  const code = await main(['doctor', '--window', '0.3', ...args, '--server', url], { out: (l) => out.push(l), err: (l) => out.push(l) });
  return { code, out };
}

async function report(server: NatsServer | string): Promise<{ code: number; report: DoctorReport }> {
  const { code, out } = await doctor(server, '--json');
  return { code, report: JSON.parse(out.join('\n')) as DoctorReport };
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

afterAll(async () => {
  for (const s of servers) await s.stop();
});

describe('multi-agent doctor', () => {
  it('passes a healthy bus: exit 0, every stream as the topology wants it, the DLQ watcher present', async () => {
    const { server, client } = await bus({ watcher: true });
    await client.subscribe('vector.invoices.*', () => undefined, 'invoice-writer');
    await client.publish({ eventType: 'vector.invoices.created', data: {} });
    const { code, report: r } = await report(server);
    expect(code).toBe(0);
    expect(r.problems).toBe(0);
    expect(r.server.jetstream).toBe(true);
    expect(r.server.version).toMatch(/^\d+\.\d+\.\d+/);
    for (const stream of Object.values(StreamNames)) {
      expect(r.findings).toContainEqual(expect.objectContaining({ check: 'stream', subject: stream, status: 'ok' }));
    }
    expect(r.findings).toContainEqual(expect.objectContaining({ check: 'watcher', status: 'ok' }));
    expect(r.findings).toContainEqual(expect.objectContaining({ check: 'consumer', subject: 'EVENTS/invoice-writer', status: 'ok' }));
    const text = await doctor(server);
    expect(text.code).toBe(0);
    expect(text.out.at(-1)).toMatch(/^healthy \(0 problems/);
  });

  it('fails a broken bus, naming the fix: a stream drifted beyond update, a stuck and an abandoned consumer, no DLQ watcher', async () => {
    const { server, client } = await bus({ watcher: false });
    const { js, jsm } = client.jetstream;
    // TOKENS in memory: storage cannot change on a live stream, so connecting does not repair it.
    await jsm.streams.delete(StreamNames.TOKENS);
    await jsm.streams.add({ name: StreamNames.TOKENS, subjects: ['model.token.>'], storage: StorageType.Memory });
    // stuck: one event delivered, never acknowledged; abandoned: events waiting, nobody pulling.
    await jsm.consumers.add(StreamNames.EVENTS, { durable_name: 'stuck-reader', ack_policy: AckPolicy.Explicit, ack_wait: 60e9, filter_subject: 'vector.stuck' });
    await jsm.consumers.add(StreamNames.EVENTS, { durable_name: 'idle-reader', ack_policy: AckPolicy.Explicit, filter_subject: 'vector.idle' });
    await client.publish({ eventType: 'vector.stuck', data: {} });
    await client.publish({ eventType: 'vector.idle', data: {} });
    expect(await (await js.consumers.get(StreamNames.EVENTS, 'stuck-reader')).next()).not.toBeNull();

    const { code, report: r } = await report(server);
    expect(code).toBe(1);
    const failed = r.findings.filter((f) => f.status === 'fail');
    expect(failed.map((f) => `${f.check} ${f.subject}`).sort()).toEqual([
      'consumer EVENTS/idle-reader',
      'consumer EVENTS/stuck-reader',
      'stream TOKENS',
      'watcher dlq-advisory-watcher',
    ]);
    const about = (subject: string) => failed.find((f) => f.subject === subject)!;
    expect(about('TOKENS').message).toMatch(/^drifted \(storage.*cannot be changed on a live stream/);
    expect(about('TOKENS').fix).toContain('nats stream rm TOKENS');
    expect(about('EVENTS/stuck-reader').message).toMatch(/^stuck: 1 events delivered and not acknowledged/);
    expect(about('EVENTS/stuck-reader').fix).toMatch(/^restart /);
    expect(about('EVENTS/idle-reader').message).toMatch(/^not draining: 1 events waiting/);
    expect(about('EVENTS/idle-reader').fix).toContain('nats consumer rm EVENTS idle-reader');
    expect(about('dlq-advisory-watcher').fix).toMatch(/start any service/);
    expect(r.problems).toBe(4);

    const text = await doctor(server);
    expect(text.code).toBe(1);
    const failLine = text.out.findIndex((l) => l.startsWith('FAIL  stream TOKENS: drifted'));
    expect(failLine).toBeGreaterThan(0);
    expect(text.out[failLine + 1]).toMatch(/^ {6}fix: recreate it/);
    expect(text.out.at(-1)).toBe('4 problems, 5 warnings') // the five services with durables never started here;
  });

  it('warns when a backlog grows while its consumer makes progress', async () => {
    const { client } = await bus({ watcher: true });
    const { js, jsm } = client.jetstream;
    await jsm.consumers.add(StreamNames.EVENTS, { durable_name: 'slow-reader', ack_policy: AckPolicy.Explicit, filter_subject: 'vector.slow' });
    const publish = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await client.publish({ eventType: 'vector.slow', data: {} });
    };
    await publish(2);
    const before = await jsm.consumers.info(StreamNames.EVENTS, 'slow-reader');
    const msg = await (await js.consumers.get(StreamNames.EVENTS, 'slow-reader')).next();
    await msg!.ackAck();
    await publish(3);
    const after = await jsm.consumers.info(StreamNames.EVENTS, 'slow-reader');
    expect(consumerFinding('EVENTS/slow-reader', before, after, 1)).toMatchObject({ status: 'warn', message: 'backlog growing: 2 -> 4 waiting in 1s' });
    expect(consumerFinding('EVENTS/slow-reader', after, after, 1).status).toBe('fail'); // no delivery in the window: not draining
  });

  it('reports a server that does not answer as a finding with its fix', async () => {
    const { code, report: r } = await report('nats://127.0.0.1:1');
    expect(code).toBe(1);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ status: 'fail', check: 'server' });
    expect(r.findings[0]!.fix).toContain('NATS_URL');
  });
});
