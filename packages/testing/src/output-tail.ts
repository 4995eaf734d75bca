// Internal: keeps the last lines a child process wrote, for error messages.
import type { Readable } from 'node:stream';

/** Ring buffer of the last `max` output lines of a process, optionally echoed to stderr. */
export class OutputTail {
  private readonly lines: string[] = [];
  private partial = '';
  private sinceMark = 0;

  constructor(
    private readonly max: number,
    private readonly echoPrefix: string | undefined,
  ) {}

  /** Reads `stream` line by line into the buffer. */
  attach(stream: Readable | null): void {
    if (!stream) return;
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.push(chunk));
    stream.on('end', () => this.flush());
  }

  /** Marks the start of a new process run, so a restart's errors are easy to tell apart. */
  mark(text: string): void {
    this.flush();
    this.add(`--- ${text} ---`);
    this.sinceMark = 0;
  }

  /** The buffered lines written after the last {@link OutputTail.mark}. */
  textSinceMark(): string {
    const lines = this.sinceMark === 0 ? [] : this.lines.slice(-this.sinceMark);
    return [...lines, ...(this.partial ? [this.partial] : [])].join('\n');
  }

  /** The buffered lines, oldest first. */
  text(): string {
    return [...this.lines, ...(this.partial ? [this.partial] : [])].join('\n');
  }

  private push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.add(line);
  }

  private flush(): void {
    if (this.partial) this.add(this.partial);
    this.partial = '';
  }

  private add(line: string): void {
    this.lines.push(line);
    this.sinceMark += 1;
    if (this.lines.length > this.max) this.lines.shift();
    if (this.echoPrefix !== undefined) process.stderr.write(`${this.echoPrefix}${line}\n`);
  }
}
