import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { NatsClient, NonRetryableError } from '@multi-agent/nats-client';
import { NatsServer, waitFor } from '@multi-agent/testing';
import { main } from '../src/index.js';
import type { Io } from '../src/index.js';

let server: NatsServer;
let client: NatsClient;
/** A time between the first two records of `ledger` and its third. */
let between: Date;

/** Runs the command with a terminal answering `answer` (or with no terminal), capturing output and questions. */
async function purge(args: string[], answer?: boolean): Promise<{ code: number; out: string[]; err: string[]; asked: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const asked: string[] = [];
  const io: Io = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    ...(answer === undefined ? {} : { confirm: async (question: string) => (asked.push(question), answer) }),
  };
  const code = await main(['dlq', 'purge', ...args, '--server', server.url], io);
  return { code, out, err, asked };
}

/** The DLQ as stored: consumer and original eventId of each record, read back from the stream. */
async function remaining(): Promise<string[]> {
  return (await client.deadLetters.list()).map(({ record }) => `${record.consumer}:${(record.originalEvent?.data as { n: number }).n}`);
}

async function deadLetter(consumer: string, n: number): Promise<void> {
  await client.publish({ eventType: `vector.${consumer}.failed`, data: { n } });
  await waitFor(async () => (await remaining()).includes(`${consumer}:${n}`) || undefined, 10_000, `the DLQ record ${consumer}:${n}`);
}

beforeAll(async () => {
  server = await NatsServer.start();
  client = new NatsClient({ servers: [server.url], maxDeliverAttempts: 1 }, 'purge-test', { logger: pino({ level: 'silent' }) });
  await client.connect();
  for (const consumer of ['ledger', 'mailer']) {
    await client.subscribe(`vector.${consumer}.*`, () => {
      throw new NonRetryableError('rejected');
    }, consumer);
  }
  await deadLetter('ledger', 1);
  await deadLetter('ledger', 2);
  await deadLetter('mailer', 1);
  between = new Date();
  await deadLetter('ledger', 3);
  await deadLetter('mailer', 2);
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describe('multi-agent dlq purge', () => {
  it('refuses without a terminal and without --yes, and takes only ISO times', async () => {
    const refused = await purge([]);
    expect(refused.code).toBe(2);
    expect(refused.err.join('\n')).toMatch(/refusing to purge without --yes/);
    expect((await purge(['--before', 'yesterday', '--yes'])).code).toBe(2);
    expect(await remaining()).toHaveLength(5);
  });

  it('asks on a terminal and purges nothing when the answer is no', async () => {
    const declined = await purge(['--consumer', 'ledger'], false);
    expect(declined.asked).toEqual(['Purge 3 DLQ records of consumer ledger? This cannot be undone.']);
    expect(declined.code).toBe(1);
    expect(await remaining()).toHaveLength(5);
  });

  it('purges one consumer\'s records dead-lettered before a time, with --yes', async () => {
    const result = await purge(['--consumer', 'ledger', '--before', between.toISOString(), '--yes']);
    expect(result).toMatchObject({ code: 0, asked: [] });
    expect(result.out).toEqual([`purged 2 DLQ records of consumer ledger dead-lettered before ${between.toISOString()}`]);
    expect(await remaining()).toEqual(['mailer:1', 'ledger:3', 'mailer:2']);
  });

  it('purges every record before a time across consumers after a yes on the terminal', async () => {
    const result = await purge(['--before', between.toISOString()], true);
    expect(result.asked).toEqual([`Purge 1 DLQ record dead-lettered before ${between.toISOString()}? This cannot be undone.`]);
    expect(result.code).toBe(0);
    expect(await remaining()).toEqual(['ledger:3', 'mailer:2']);
  });

  it('purges everything with --yes and then finds nothing to purge', async () => {
    expect((await purge(['--yes'])).out).toEqual(['purged 2 DLQ records']);
    expect(await remaining()).toEqual([]);
    expect(await purge(['--consumer', 'mailer', '--yes'])).toMatchObject({ code: 0, out: ['nothing to purge: no DLQ records of consumer mailer'] });
  });
});
