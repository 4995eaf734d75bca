import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { NatsClient, NonRetryableError, StreamNames } from '@multi-agent/nats-client';
import { NatsServer, waitFor } from '@multi-agent/testing';
import { buildProgram, main } from '../src/index.js';
import type { Io } from '../src/index.js';
import { bashCompletion, zshCompletion } from '../src/commands/completion.js';
import { terminalIo } from '../src/output.js';

let server: NatsServer;
let client: NatsClient;
let failedEventId = '';

/** Runs the command in-process with `io` extras (colour, a status line), capturing everything. */
async function cli(argv: string[], extra: Partial<Io> = {}): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...argv, '--server', server.url], { out: (l) => out.push(l), err: (l) => err.push(l), ...extra });
  return { code, out, err };
}

const json = async (...argv: string[]): Promise<unknown> => {
  const { code, out } = await cli([...argv, '--json']);
  expect(code).toBe(0);
  return JSON.parse(out.join('\n'));
};

beforeAll(async () => {
  server = await NatsServer.start();
  client = new NatsClient({ servers: [server.url], maxDeliverAttempts: 1 }, 'output-test', { logger: pino({ level: 'silent' }) });
  await client.connect();
  let failing = true;
  await client.subscribe('vector.orders.*', (e) => {
    if (failing) throw new NonRetryableError(`order ${(e.data as { n: number }).n} rejected`);
  }, 'order-writer');
  for (const n of [1, 2, 3]) {
    const published = await client.publish({ eventType: 'vector.orders.created', data: { n } });
    failedEventId ||= published.eventId;
  }
  await waitFor(async () => (await client.deadLetters.list('order-writer')).length === 3 || undefined, 10_000, 'three DLQ records');
  failing = false;
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describe('--json on the read commands', () => {
  it('streams: each stream with the counts the server holds, and its consumers', async () => {
    const view = (await json('streams', '--consumers')) as { streams: { name: string; messages: number }[]; consumers: { name: string }[] };
    const events = await client.jetstream.jsm.streams.info(StreamNames.EVENTS);
    expect(view.streams.map((s) => s.name)).toEqual(['EVENTS', 'DLQ', 'TOKENS', 'ADVISORIES', 'AUDIT', 'EVENT_INDEX']);
    expect(view.streams[0]!.messages).toBe(events.state.messages);
    expect(view.consumers.map((c) => c.name)).toContain('order-writer');
  });

  it('dlq ls and dlq show: the records in full', async () => {
    const records = (await json('dlq', 'ls', '--consumer', 'order-writer')) as { dlqSequence: number; consumer: string; errorMessage: string }[];
    expect(records.map((r) => r.errorMessage)).toEqual(['order 1 rejected', 'order 2 rejected', 'order 3 rejected']);
    const shown = (await json('dlq', 'show', String(records[0]!.dlqSequence))) as { consumer: string; originalEvent: { eventId: string } };
    expect(shown).toMatchObject({ consumer: 'order-writer', originalEvent: { eventId: failedEventId } });
  });

  it('trace: the causation tree', async () => {
    const tree = (await json('trace', failedEventId)) as { seq: number; event: { eventId: string }; children: unknown[] }[];
    expect(tree).toHaveLength(1);
    expect(tree[0]).toMatchObject({ event: { eventId: failedEventId }, children: [] });
  });
});

describe('colour and progress', () => {
  it('colours only when the Io takes colour', async () => {
    const plain = await cli(['dlq', 'ls']);
    expect(plain.out.join('\n')).not.toContain('\x1b[');
    const coloured = await cli(['dlq', 'ls'], { colour: true });
    expect(coloured.out[0]!.startsWith('\x1b[1mseq')).toBe(true);
  });

  it('shows replay progress on the status line only, and clears it', async () => {
    const status: (string | undefined)[] = [];
    const { code, out } = await cli(['dlq', 'replay', '--consumer', 'order-writer'], { status: (line) => status.push(line) });
    expect(code).toBe(0);
    expect(out.map((l) => l.split(/\s+/)[1])).toEqual(['replayed', 'replayed', 'replayed']);
    expect(status.filter((s) => s !== undefined).at(-1)).toBe('replaying DLQ records: 3/3');
    expect(status.at(-1)).toBeUndefined();
    expect(out.join('\n')).not.toContain('replaying DLQ records');
  });

  it('takes colour, the status line and questions from the terminal, and honours NO_COLOR', async () => {
    const stream = (isTTY: boolean) => Object.assign(new PassThrough(), { isTTY });
    const tty = { stdout: stream(true), stderr: stream(true), stdin: stream(true) };
    const terminal = terminalIo(tty, {});
    expect(terminal.colour).toBe(true);
    expect('status' in terminal && 'confirm' in terminal).toBe(true);
    const asked: string[] = [];
    tty.stderr.on('data', (chunk: Buffer) => asked.push(chunk.toString()));
    const answer = terminal.confirm!('Purge 3 DLQ records?');
    tty.stdin.write('yes\n');
    expect(await answer).toBe(true);
    expect(asked.join('')).toContain('Purge 3 DLQ records? [y/N] ');
    expect(terminalIo(tty, { NO_COLOR: '1' }).colour).toBe(false);
    const piped = terminalIo({ stdout: stream(false), stderr: stream(false), stdin: stream(false) }, {});
    expect(piped.colour).toBe(false);
    expect('status' in piped || 'confirm' in piped).toBe(false);
  });
});

describe('multi-agent completion', () => {
  const program = buildProgram({ out: () => undefined, err: () => undefined });

  /** What bash completes for the words typed so far (the last one being completed). */
  async function complete(...typed: string[]): Promise<string[]> {
    const words = ['multi-agent', ...typed].map((w) => `'${w}'`).join(' ');
    const script = `${bashCompletion(program)}\nCOMP_WORDS=(${words}); COMP_CWORD=${typed.length}; _multi_agent_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const { stdout } = await promisify(execFile)('bash', ['-c', script]);
    return stdout.split('\n').filter((l) => l !== '');
  }

  it('completes commands, subcommands and options in bash', async () => {
    expect(await complete('d')).toEqual(['dlq', 'doctor']);
    expect(await complete('dlq', 'p')).toEqual(['purge']);
    expect(await complete('dlq', 'purge', '--')).toEqual(['--consumer', '--before', '--yes', '--server', '--help']);
    expect(await complete('--server', 'nats://x:4222', 'doctor', '--w')).toEqual(['--window']);
  });

  it('prints the bash and zsh scripts', async () => {
    const bash = await cli(['completion', 'bash']);
    expect(bash.out.join('\n')).toBe(bashCompletion(program).trimEnd());
    const zsh = await cli(['completion', 'zsh']);
    expect(zsh.out.join('\n').split('\n')[0]).toBe('#compdef multi-agent');
    expect(zsh.out.join('\n')).toBe(zshCompletion(program).trimEnd());
    expect(zsh.out.join('\n')).toContain(`(" dlq purge") candidates=('--consumer:only this durable consumer'\\''s records'`);
    expect((await cli(['completion', 'fish'])).code).toBe(2);
  });
});
