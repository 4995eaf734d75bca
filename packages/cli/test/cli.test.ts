import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { NatsServer } from '@multi-agent/testing';
import { NatsClient, NonRetryableError } from '@multi-agent/nats-client';
import type { DomainEvent } from '@multi-agent/events';
import { main } from '../src/index.js';

let server: NatsServer;
let client: NatsClient;

/** Runs the command in-process and captures its output. */
async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...argv, '--server', server.url], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

beforeAll(async () => {
  server = await NatsServer.start();
  client = new NatsClient({ servers: [server.url], retryBackoffMs: [20] }, 'billing', { logger: pino({ level: 'silent' }) });
  await client.connect();
});

afterAll(async () => {
  await client.close();
  await server.stop();
});

describe('multi-agent', () => {
  it('lists the platform streams and their consumers', async () => {
    await client.subscribe('vector.streams.*', () => undefined, 'streams-reader');
    const { code, out } = await cli('streams', '--consumers');
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^stream\s+messages/);
    for (const name of ['EVENTS', 'DLQ', 'TOKENS', 'ADVISORIES']) expect(out.some((l) => l.startsWith(name))).toBe(true);
    expect(out.some((l) => /EVENTS\s+streams-reader\s+vector\.streams\.\*/.test(l))).toBe(true);
  });

  it('lists, shows and replays a DLQ record once', async () => {
    let failing = true;
    const handled: DomainEvent[] = [];
    await client.subscribe(
      'vector.invoices.*',
      (e) => {
        if (failing) throw new NonRetryableError('ledger closed');
        handled.push(e);
      },
      'invoice-writer',
    );
    const original = await client.publish({ eventType: 'vector.invoices.created', data: { amount: 12 } });
    const deadline = Date.now() + 10_000;
    while ((await client.deadLetters.list('invoice-writer')).length === 0) {
      if (Date.now() > deadline) throw new Error('no DLQ record');
      await new Promise((r) => setTimeout(r, 20));
    }
    const ls = await cli('dlq', 'ls', '--consumer', 'invoice-writer');
    expect(ls.code).toBe(0);
    expect(ls.out[1]).toMatch(/invoice-writer\s+non-retryable\s+1\s+vector\.invoices\.created\s+NonRetryableError: ledger closed/);
    const seq = ls.out[1]!.split(/\s+/)[0]!;
    const show = await cli('dlq', 'show', seq);
    expect(JSON.parse(show.out.join('\n'))).toMatchObject({ consumer: 'invoice-writer', originalEvent: { eventId: original.eventId } });
    failing = false;
    const replay = await cli('dlq', 'replay', seq);
    expect(replay.out[0]).toMatch(new RegExp(`^${seq}\\s+replayed\\s+-> vector\\.invoices\\.created`));
    expect((await cli('dlq', 'replay', '--consumer', 'invoice-writer')).out[0]).toMatch(/already-replayed/);
    while (handled.length === 0) {
      if (Date.now() > deadline) throw new Error('replayed event not handled');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(handled.map((e) => e.causationId)).toEqual([original.eventId]);
  });

  it('lists the records around a message on a DLQ subject that is not one, and names it', async () => {
    // Anyone who may publish on dlq.* can put garbage there: it must not hide the real records.
    const { seq: garbage } = await client.jetstream.js.publish('dlq.invoice-writer', 'not a record');
    const { seq: wrongShape } = await client.jetstream.js.publish('dlq.invoice-writer', JSON.stringify({ data: { reason: 'nonsense' } }));
    const ls = await cli('dlq', 'ls', '--consumer', 'invoice-writer', '--json');
    expect(ls.code).toBe(0);
    const listed = JSON.parse(ls.out.join('\n')) as { dlqSequence: number; consumer: string }[];
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.map((r) => r.dlqSequence)).not.toContain(garbage);
    expect(listed.every((r) => r.consumer === 'invoice-writer')).toBe(true);
    expect(ls.err).toEqual([
      expect.stringMatching(new RegExp(`^DLQ message ${garbage} on dlq\\.invoice-writer is not JSON`)),
      expect.stringMatching(new RegExp(`^DLQ message ${wrongShape} on dlq\\.invoice-writer is not a DLQ record`)),
    ]);
    // Reading or replaying it by sequence is a typed refusal, not a crash.
    await expect(client.deadLetters.read(garbage)).rejects.toMatchObject({ code: 'DLQ_RECORD_UNREADABLE', dlqSequence: garbage });
    const show = await cli('dlq', 'show', String(garbage));
    expect(show.code).not.toBe(0);
    expect(show.err.join('\n')).toMatch(/is not JSON/);
    await client.jetstream.jsm.streams.deleteMessage('DLQ', garbage);
    await client.jetstream.jsm.streams.deleteMessage('DLQ', wrongShape);
  });

  it('traces a flow as a causation tree', async () => {
    await client.subscribe('vector.trace.start', (_e, ctx) => ctx.publish({ eventType: 'vector.trace.step', data: {} }), 'trace-a');
    await client.subscribe('vector.trace.step', (_e, ctx) => ctx.publish({ eventType: 'vector.trace.done', data: {} }), 'trace-b');
    const root = await client.publish({ eventType: 'vector.trace.start', data: {} });
    let lines: string[] = [];
    const deadline = Date.now() + 10_000;
    while (lines.length < 3) {
      if (Date.now() > deadline) throw new Error(`trace incomplete: ${lines.join(' | ')}`);
      lines = (await cli('trace', root.eventId)).out;
    }
    expect(lines[0]).toMatch(/^vector\.trace\.start\s+\+0ms/);
    expect(lines[1]).toMatch(/^└─ vector\.trace\.step/);
    expect(lines[2]).toMatch(/^ {3}└─ vector\.trace\.done/);
  });

  it('tails events as they are published', async () => {
    const out: string[] = [];
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const { tailCommand } = await import('../src/commands/tail.js');
    const tailing = tailCommand(client, { out: (l) => out.push(l), err: () => undefined }, ['vector.tail.>'], { count: 2, ready });
    await isReady;
    await client.publish({ eventType: 'vector.tail.one', data: { n: 1 } });
    await client.publish({ eventType: 'vector.tail.two', data: { n: 2 } });
    await tailing;
    expect(out.map((l) => l.split(/\s+/)[1])).toEqual(['vector.tail.one', 'vector.tail.two']);
  });

  it('lists the audit trail, filtered by user and time, as a table or JSON; other messages of AUDIT are skipped and said', async () => {
    const before = new Date();
    const alice = { userId: 'alice', role: 'user', via: 'api-key' };
    await client.publish({ eventType: 'audit.execution.started', data: { actor: alice, executionId: 'e-1', workflowId: 'split-bill' } });
    await client.publish({ eventType: 'audit.misc', data: { note: 'not an audit record' } });
    await client.publish({ eventType: 'audit.dead-letters.replayed', data: { actor: { userId: 'root', role: 'admin', via: 'jwt' }, dlqSequences: [4, 7] } });

    const all = await cli('audit', '--json', '--since', before.toISOString());
    expect(all.code).toBe(0);
    const entries = JSON.parse(all.out.join('\n')) as Record<string, unknown>[];
    expect(entries.map((e) => [e.action, e.userId, e.role])).toEqual([
      ['execution.started', 'alice', 'user'],
      ['dead-letters.replayed', 'root', 'admin'],
    ]);
    expect(entries[1]).toMatchObject({ via: 'jwt', dlqSequences: [4, 7] });
    expect(all.err).toEqual([expect.stringMatching(/^skipped 1 message\(s\) of AUDIT that are not audit records/)]);

    const table = await cli('audit', '--user', 'root');
    expect(table.out[0]).toMatch(/^time\s+user\s+role\s+action\s+target/);
    expect(table.out.slice(1)).toEqual([expect.stringMatching(/\s+root\s+admin\s+dead-letters\.replayed\s+dlq 4,7$/)]);
    expect((await cli('audit', '--since', 'yesterday')).code).toBe(2);
  });

  it('answers bad usage with exit code 2 and a server that does not answer with 1', async () => {
    expect((await cli('dlq', 'show', 'abc')).code).toBe(2);
    expect((await cli('bogus')).code).toBe(2);
    const down = await main(['streams', '--server', 'nats://127.0.0.1:1'], { out: () => undefined, err: () => undefined });
    expect(down).toBe(1);
  });

  it('runs as the installed bin', async () => {
    const bin = fileURLToPath(new URL('../bin/multi-agent.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'streams', '--server', server.url]);
    expect(stdout).toMatch(/^stream\s+messages/);
  });
});
