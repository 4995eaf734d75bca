/** The `multi-agent` command line: parses arguments and runs one command. */
import { parseArgs } from 'node:util';
import { dlqList, dlqReplay, dlqShow } from './commands/dlq.js';
import { streamsCommand } from './commands/streams.js';
import { EVENT_FAMILIES, tailCommand } from './commands/tail.js';
import { connectCli } from './connect.js';
import { processIo } from './output.js';
import type { Io } from './output.js';
import { causationTree, readFlow, renderTree } from './trace.js';

/** Usage text. */
export const USAGE = `usage: multi-agent <command> [--server nats://host:4222]

  streams [--consumers]          the platform streams (and consumers with their backlog)
  dlq ls [--consumer NAME]       dead-lettered events, oldest first
  dlq show SEQ                   one DLQ record in full
  dlq replay SEQ... | --consumer NAME
                                 republish to the original subject (new eventId, once per record)
  tail [SUBJECT...] [--count N]  print events as they are published (default: every event family)
  trace CORRELATION_ID           the events of one flow as a causation tree

The server defaults to NATS_URL (nats://localhost:4222).`;

/** Runs the command; resolves with the process exit code (0 ok, 1 failed, 2 usage). */
export async function main(argv: string[], io: Io = processIo, signal?: AbortSignal): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        server: { type: 'string' },
        consumer: { type: 'string' },
        consumers: { type: 'boolean' },
        count: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help === true || command === undefined) {
    io.out(USAGE);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  const usage = (why: string): number => {
    io.err(`${why}\n\n${USAGE}`);
    return 2;
  };
  const seqs = rest.slice(1).map(Number);
  if (command === 'dlq' && rest[0] === 'show' && (seqs.length !== 1 || !Number.isInteger(seqs[0]))) return usage('dlq show takes one sequence number');
  if (command === 'dlq' && rest[0] === 'replay' && values.consumer === undefined && (seqs.length === 0 || seqs.some((s) => !Number.isInteger(s)))) {
    return usage('dlq replay takes sequence numbers or --consumer NAME');
  }
  const count = values.count === undefined ? undefined : Number(values.count);
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) return usage('--count takes a positive integer');
  if (command === 'trace' && rest.length !== 1) return usage('trace takes one correlation id');
  if (!['streams', 'dlq', 'tail', 'trace'].includes(command)) return usage(`unknown command "${command}"`);
  if (command === 'dlq' && !['ls', 'show', 'replay'].includes(rest[0] ?? '')) return usage('dlq takes ls, show or replay');

  let client;
  try {
    client = await connectCli(values.server);
  } catch (err) {
    io.err((err as Error).message);
    return 1;
  }
  try {
    switch (command) {
      case 'streams':
        await streamsCommand(client, io, values.consumers === true);
        return 0;
      case 'dlq':
        if (rest[0] === 'ls') await dlqList(client, io, values.consumer);
        else if (rest[0] === 'show') return (await dlqShow(client, io, seqs[0]!)) ? 0 : 1;
        else await dlqReplay(client, io, seqs, values.consumer);
        return 0;
      case 'tail':
        await tailCommand(client, io, rest.length > 0 ? rest : EVENT_FAMILIES, { count, signal: signal ?? interrupted() });
        return 0;
      default: {
        const roots = causationTree(await readFlow(client, rest[0]!));
        if (roots.length === 0) {
          io.err(`no events with correlation id ${rest[0]}`);
          return 1;
        }
        for (const line of renderTree(roots)) io.out(line);
        return 0;
      }
    }
  } catch (err) {
    io.err((err as Error).message);
    return 1;
  } finally {
    await client.close();
  }
}

/** Aborts on Ctrl-C, so `tail` ends cleanly. */
function interrupted(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  return controller.signal;
}
