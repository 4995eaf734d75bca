/** The `multi-agent` command line: parses arguments (commander) and runs one command. */
import { Argument, Command, CommanderError, InvalidArgumentError } from 'commander';
import type { NatsClient } from '@multi-agent/nats-client';
import { auditCommand } from './commands/audit.js';
import { authGenerate, authK8s, authTable } from './commands/auth.js';
import { bashCompletion, zshCompletion } from './commands/completion.js';
import { dlqList, dlqPurge, dlqReplay, dlqShow } from './commands/dlq.js';
import { doctorCommand } from './commands/doctor.js';
import { provisionCommand } from './commands/provision.js';
import { schemaCommand } from './commands/schema.js';
import { streamsCommand } from './commands/streams.js';
import { EVENT_FAMILIES, tailCommand } from './commands/tail.js';
import { traceCommand } from './commands/trace.js';
import { connectCli } from './connect.js';
import { processIo } from './output.js';
import type { Io } from './output.js';

/** Exit codes: done, failed (e.g. no server answers), bad usage. */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/** Thrown by a command for bad usage its options cannot express (exit code 2). */
export function usageError(command: Command, message: string): never {
  command.error(message, { exitCode: ExitCode.USAGE, code: 'multi-agent.usage' });
}

function positiveInteger(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer`);
    return n;
  };
}

const sequence = positiveInteger('a DLQ sequence');

function positiveNumber(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive number`);
    return n;
  };
}

function isoTime(value: string): Date {
  const time = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : undefined;
  if (time === undefined || Number.isNaN(time.getTime())) throw new InvalidArgumentError('an ISO-8601 time is expected, e.g. 2026-01-31T12:00:00Z');
  return time;
}

/** What every command's action gets. */
interface Run {
  io: Io;
  signal: AbortSignal | undefined;
  /** Connects to the server of `--server` (or NATS_URL); closed after the command. `provisioning` for the provision command. */
  client(provisioning?: boolean): Promise<NatsClient>;
}

/** Builds the command tree; `exit` receives the exit code of the command that ran. */
export function buildProgram(io: Io, signal?: AbortSignal, exit: (code: number) => void = () => undefined): Command {
  let connected: NatsClient | undefined;
  const program = new Command('multi-agent')
    .description('Operate the Multi-Agent Platform event bus: streams, dead letters, events, flows, contracts, identities, provisioning.')
    .option('--server <url>', 'NATS server URL (default: NATS_URL, or nats://localhost:4222)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, '')),
      writeErr: (text) => io.err(text.replace(/\n$/, '')),
    })
    .showHelpAfterError('(multi-agent --help shows the usage)');

  const run = (command: Command): Run => ({
    io,
    signal,
    client: async (provisioning?: boolean) => {
      connected ??= await connectCli(command.optsWithGlobals<{ server?: string }>().server, provisioning);
      return connected;
    },
  });
  // Runs an action and records its exit code; the client it opened is closed afterwards.
  const action =
    <A extends unknown[]>(fn: (r: Run, ...args: A) => Promise<number | void>) =>
    async (...args: A): Promise<void> => {
      const command = args[args.length - 1] as Command;
      try {
        exit((await fn(run(command), ...args)) ?? ExitCode.OK);
      } finally {
        await connected?.close();
        connected = undefined;
      }
    };

  program
    .command('streams')
    .description('the platform streams, and with --consumers every consumer and its backlog')
    .option('--consumers', 'list the consumers too')
    .option('--json', 'as JSON')
    .action(action(async (r, options: { consumers?: boolean; json?: boolean }) => streamsCommand(await r.client(), r.io, options.consumers === true, options.json === true)));

  const dlq = program.command('dlq').description('dead-lettered events: list, show, replay, purge');
  dlq
    .command('ls')
    .description('DLQ records, oldest first')
    .option('--consumer <name>', 'only the records of this durable consumer')
    .option('--json', 'every record in full, as JSON')
    .action(action(async (r, options: { consumer?: string; json?: boolean }) => dlqList(await r.client(), r.io, options.consumer, options.json === true)));
  dlq
    .command('show')
    .description('one DLQ record in full (JSON)')
    .argument('<seq>', 'DLQ stream sequence', sequence)
    .option('--json', 'the same JSON (accepted like on every read command)')
    .action(action(async (r, seq: number) => ((await dlqShow(await r.client(), r.io, seq)) ? ExitCode.OK : ExitCode.FAILED)));
  dlq
    .command('replay')
    .description('republish to the original subject (new eventId, causationId = the old one), at most once per record')
    .argument('[seq...]', 'DLQ stream sequences', (value: string, previous: number[] | undefined) => [...(previous ?? []), sequence(value)])
    .option('--consumer <name>', 'every record of this durable consumer')
    .action(
      action(async (r, seqs: number[] | undefined, options: { consumer?: string }, command: Command) => {
        if ((seqs === undefined || seqs.length === 0) === (options.consumer === undefined)) {
          usageError(command, 'dlq replay takes sequence numbers or --consumer NAME');
        }
        await dlqReplay(await r.client(), r.io, seqs ?? [], options.consumer);
      }),
    );

  dlq
    .command('purge')
    .description('delete DLQ records for good (asks first on a terminal; --yes to script)')
    .option('--consumer <name>', "only this durable consumer's records")
    .option('--before <time>', 'only records dead-lettered before this ISO-8601 time', isoTime)
    .option('--yes', 'do not ask (required without a terminal)')
    .action(
      action(async (r, options: { consumer?: string; before?: Date; yes?: boolean }, command: Command) => {
        const yes = options.yes === true;
        if (!yes && r.io.confirm === undefined) usageError(command, 'refusing to purge without --yes: there is no terminal to confirm on');
        return dlqPurge(await r.client(), r.io, { ...options, yes });
      }),
    );

  program
    .command('tail')
    .description('print events as they are published (default: every event family), until Ctrl-C')
    .argument('[subject...]', 'subjects to watch (wildcards allowed)')
    .option('--count <n>', 'stop after n events', positiveInteger('--count'))
    .action(
      action(async (r, subjects: string[], options: { count?: number }) => {
        await tailCommand(await r.client(), r.io, subjects.length > 0 ? subjects : EVENT_FAMILIES, {
          ...(options.count === undefined ? {} : { count: options.count }),
          signal: r.signal ?? interrupted(),
        });
      }),
    );

  program
    .command('trace')
    .description('the events of one flow as a causation tree')
    .argument('<correlationId>', "the flow's correlationId (or its first event's eventId)")
    .option('--json', 'the causation tree as JSON')
    .action(action(async (r, correlationId: string, options: { json?: boolean }) => traceCommand(await r.client(), r.io, correlationId, options.json === true)));

  program
    .command('audit')
    .description('who started, cancelled, replayed or purged what through the gateway, and when (the AUDIT stream)')
    .option('--since <time>', 'only records from this ISO-8601 time on', isoTime)
    .option('--user <userId>', 'only what this user did')
    .option('--json', 'the records as a JSON array')
    .action(
      action(async (r, options: { since?: Date; user?: string; json?: boolean }) =>
        auditCommand(await r.client(), r.io, { ...(options.since === undefined ? {} : { since: options.since }), ...(options.user === undefined ? {} : { user: options.user }), json: options.json === true }),
      ),
    );

  program
    .command('doctor')
    .description('check the server, the streams against the topology and every durable consumer; exit code 1 on a problem, with a fix for each')
    .option('--window <seconds>', 'time between the two looks at each consumer', positiveNumber('--window'), 3)
    .option('--json', 'the report as JSON')
    .action(action(async (r, options: { window: number; json?: boolean }) => doctorCommand(() => r.client(), r.io, { windowMs: options.window * 1000, json: options.json === true })));

  program
    .command('provision')
    .description('create the streams, KV buckets, object store and durable consumers (admin identity), and print where the server drifted from the topology; exit code 1 on drift it cannot fix')
    .option('--json', 'the report as JSON')
    .action(action(async (r, options: { json?: boolean }) => provisionCommand(await r.client(true), r.io, options.json === true)));

  const auth = program.command('auth').description('NATS identities and permissions derived from the bus-access declaration');
  auth
    .command('generate')
    .description(
      'write auth.conf, nats.conf and one <identity>.env per identity to --out (keys are kept unless --rotate); --table prints what each identity may do; --k8s prints the authorization block of deploy/k8s/base/nats-config.yaml',
    )
    .option('--out <dir>', 'directory to write to (e.g. .data/nats-auth)')
    .option('--rotate', 'new keys for every identity')
    .option('--port <port>', 'client port of nats.conf', positiveInteger('--port'), 4222)
    .option('--store-dir <dir>', 'JetStream store of nats.conf (default <out>/jetstream)')
    .option('--table', 'print the Markdown table of what each identity may do')
    .option('--k8s', 'print the Kubernetes NATS authorization block: one password user per identity in the cluster, with its permissions')
    .action(
      action(async (r, options: { out?: string; rotate?: boolean; port: number; storeDir?: string; table?: boolean; k8s?: boolean }, command: Command) => {
        if (options.out === undefined && options.table !== true && options.k8s !== true) usageError(command, 'auth generate takes --out DIR, --table or --k8s');
        if (options.table === true) authTable(r.io);
        if (options.k8s === true) authK8s(r.io);
        if (options.out !== undefined) {
          await authGenerate(r.io, { out: options.out, rotate: options.rotate === true, port: options.port, ...(options.storeDir === undefined ? {} : { storeDir: options.storeDir }) });
        }
      }),
    );

  program
    .command('schema')
    .description('write the JSON Schema of every event and the AsyncAPI document of the platform (no server needed)')
    .requiredOption('--out <dir>', 'directory to write to (docs/contracts in this repository)')
    .action(action(async (r, options: { out: string }) => schemaCommand(r.io, options.out)));

  program
    .command('completion')
    .description('print a shell completion script: source <(multi-agent completion bash)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action(
      action(async (r, shell: 'bash' | 'zsh') => {
        r.io.out((shell === 'bash' ? bashCompletion(program) : zshCompletion(program)).trimEnd());
      }),
    );

  return program;
}

/** Runs the command; resolves with the process exit code (0 ok, 1 failed, 2 usage). */
export async function main(argv: string[], io: Io = processIo, signal?: AbortSignal): Promise<number> {
  let code: number = ExitCode.OK;
  const program = buildProgram(io, signal, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? ExitCode.OK : ExitCode.USAGE;
    }
    io.err(err instanceof Error ? err.message : String(err));
    return ExitCode.FAILED;
  }
}

/** Aborts on Ctrl-C, so `tail` ends cleanly. */
function interrupted(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  return controller.signal;
}
