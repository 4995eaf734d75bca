/** Where commands write: lines, colour, a progress line and a confirmation prompt, each only where a terminal is. */
import { createInterface } from 'node:readline/promises';

/** The command's output (injected so tests can read it and play the terminal). */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Colour on stdout: a terminal, and `NO_COLOR` unset. Off when absent. */
  colour?: boolean;
  /** Shows (or, with `undefined`, clears) a transient progress line; present only when stderr is a terminal. */
  status?(line: string | undefined): void;
  /** Asks a yes/no question; present only when stdin and stderr are a terminal. */
  confirm?(question: string): Promise<boolean>;
}

/** The streams a terminal Io writes to and reads from (`process.*` in the command). */
export interface TerminalStreams {
  stdout: { isTTY?: boolean; write(text: string): unknown };
  stderr: { isTTY?: boolean; write(text: string): unknown };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

async function ask(streams: TerminalStreams, question: string): Promise<boolean> {
  const rl = createInterface({ input: streams.stdin, output: streams.stderr as NodeJS.WritableStream });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * An Io on real streams: colour when stdout is a terminal and NO_COLOR is empty or unset
 * (https://no-color.org), a progress line when stderr is a terminal, questions when stdin and
 * stderr are.
 */
export function terminalIo(streams: TerminalStreams, env: NodeJS.ProcessEnv): Io {
  return {
    out: (line) => void streams.stdout.write(`${line}\n`),
    err: (line) => void streams.stderr.write(`${line}\n`),
    colour: streams.stdout.isTTY === true && (env.NO_COLOR ?? '') === '',
    ...(streams.stderr.isTTY === true ? { status: (line: string | undefined) => void streams.stderr.write(`\r\x1b[2K${line ?? ''}`) } : {}),
    ...(streams.stdin.isTTY === true && streams.stderr.isTTY === true ? { confirm: (question: string) => ask(streams, question) } : {}),
  };
}

/** stdout/stderr/stdin of this process. */
export const processIo: Io = terminalIo(process, process.env);

/** Colours a command uses. */
export type Colour = 'red' | 'yellow' | 'green' | 'bold' | 'dim';

// SGR codes: on, off.
const SGR: Record<Colour, [number, number]> = { red: [31, 39], yellow: [33, 39], green: [32, 39], bold: [1, 22], dim: [2, 22] };

/** `text` in `colour` when the output takes colour, else unchanged. */
export function paint(io: Io, colour: Colour, text: string): string {
  if (io.colour !== true) return text;
  const [on, off] = SGR[colour];
  return `\x1b[${on}m${text}\x1b[${off}m`;
}

/** Prints a value as JSON (for `--json`). */
export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** Left-aligned columns sized to their widest cell. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Prints a table, its header bold on a colour terminal. */
export function printTable(io: Io, header: string[], rows: string[][]): void {
  const [head = '', ...body] = table(header, rows);
  io.out(paint(io, 'bold', head));
  for (const line of body) io.out(line);
}

/** Shortens text to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const PROGRESS_INTERVAL_MS = 100;

/** A progress line for a long operation; silent where `io` has no status line. */
export class Progress {
  private shownAt = 0;

  constructor(
    private readonly io: Io,
    private readonly label: string,
  ) {}

  /** Reports `done` (of `total`, when known); redraws at most every 100 ms. */
  update(done: number, total?: number): void {
    if (this.io.status === undefined) return;
    const now = Date.now();
    if (now - this.shownAt < PROGRESS_INTERVAL_MS && done !== total) return;
    this.shownAt = now;
    this.io.status(`${this.label}: ${done}${total === undefined ? '' : `/${total}`}`);
  }

  /** Clears the line. */
  done(): void {
    if (this.shownAt > 0) this.io.status?.(undefined);
  }
}
