/** Where commands write: lines, colour, a progress line and a confirmation prompt, each only where a terminal is. */
import { createInterface } from 'node:readline/promises';
import { styleText } from 'node:util';

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

/** https://no-color.org: a non-empty NO_COLOR turns colour off. */
function colourWanted(env: NodeJS.ProcessEnv): boolean {
  return process.stdout.isTTY && (env.NO_COLOR ?? '') === '';
}

async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** stdout/stderr, with colour, progress and prompts where they are terminals. */
export const processIo: Io = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
  colour: colourWanted(process.env),
  ...(process.stderr.isTTY ? { status: (line: string | undefined) => void process.stderr.write(`\r\x1b[2K${line ?? ''}`) } : {}),
  ...(process.stdin.isTTY && process.stderr.isTTY ? { confirm: ask } : {}),
};

/** Colours a command uses. */
export type Colour = 'red' | 'yellow' | 'green' | 'bold' | 'dim';

/** `text` in `colour` when the output takes colour, else unchanged. */
export function paint(io: Io, colour: Colour, text: string): string {
  return io.colour === true ? styleText(colour, text) : text;
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
