import { spawn, type ChildProcess } from 'node:child_process';
import { trackChild } from './children.js';
import { settlesWithin } from './wait.js';

/** Options of {@link ServiceProcess.start}. */
export interface ServiceProcessOptions {
  /** Arguments after the script. */
  args?: string[];
  /** Environment of the child, merged over this process's environment (`undefined` removes a variable). */
  env?: Record<string, string | undefined>;
  /** Node flags before the script, e.g. `['--import', 'tsx']` to run a TypeScript file. Default none. */
  execArgv?: string[];
  /** Working directory. Default this process's. */
  cwd?: string;
  /** A label for error messages and echoed output. Default the script's file name. */
  name?: string;
  /** Echo the child's output to this process's stderr. Default `false`. */
  debug?: boolean;
  /** Resolve `start()` only once a stdout line matches this (e.g. `/^READY/`). */
  readyLine?: RegExp | string;
  /** How long `start()` waits for `readyLine` (ms). Default 20 000. */
  readyTimeoutMs?: number;
}

/** How a {@link ServiceProcess} ended. */
export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const STOP_GRACE_MS = 5_000;
const TAIL_LINES = 100;

function matches(line: string, pattern: RegExp | string): boolean {
  return typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line);
}

/**
 * Your service (or any Node script) as a real child process, for crash tests: wait for a line it
 * prints, then SIGKILL it at that exact point, SIGSTOP it, or let it run to the end. Its stdout
 * lines are kept for assertions. Like the servers, a child still running when the test process
 * exits is SIGKILLed.
 *
 * @example
 * ```ts
 * const worker = await ServiceProcess.start('test/fixtures/worker.ts', {
 *   execArgv: ['--import', 'tsx'],
 *   env: { NATS_URL: server.url, NATS_IDEMPOTENCY_STORE: 'kv' },
 *   readyLine: 'READY',
 * });
 * await worker.waitForLine(/^EFFECT /);
 * await worker.kill(); // SIGKILL, like a crash
 * ```
 */
export class ServiceProcess {
  /** Label used in messages. */
  readonly name: string;
  /** Everything the child wrote to stdout so far, line by line. */
  readonly lines: string[] = [];
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ServiceExit>;

  private readonly child: ChildProcess;
  private readonly tail: string[] = [];
  private readonly echo: string | undefined;
  private stderrPartial = '';
  private exitInfo: ServiceExit | undefined;
  private partial = '';
  private readonly lineWaiters = new Set<() => void>();

  private constructor(script: string, options: ServiceProcessOptions) {
    this.name = options.name ?? script.split('/').at(-1) ?? script;
    this.echo = options.debug === true ? `[${this.name}] ` : undefined;
    const env = Object.fromEntries(Object.entries({ ...process.env, ...options.env }).filter(([, value]) => value !== undefined));
    this.child = spawn(process.execPath, [...(options.execArgv ?? []), script, ...(options.args ?? [])], {
      cwd: options.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(this.child);
    this.exited = new Promise<ServiceExit>((resolve) => {
      const done = (info: ServiceExit): void => {
        if (this.exitInfo) return;
        this.exitInfo = info;
        this.flushPartial();
        for (const wake of this.lineWaiters) wake();
        resolve(info);
      };
      // 'close': by then every line it wrote has been read.
      this.child.once('close', (code, signal) => done({ code, signal }));
      this.child.once('error', () => done({ code: null, signal: null }));
    });
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => this.onStdout(chunk));
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      const parts = (this.stderrPartial + chunk).split('\n');
      this.stderrPartial = parts.pop() ?? '';
      for (const line of parts) this.keep(`stderr: ${line}`);
    });
  }

  /**
   * Runs `node [execArgv] script [args]`. Resolves once the process runs, or, with
   * `readyLine`, once it printed a matching stdout line; rejects (with its output) if it exits first.
   */
  static async start(script: string, options: ServiceProcessOptions = {}): Promise<ServiceProcess> {
    const service = new ServiceProcess(script, options);
    if (options.readyLine !== undefined) {
      try {
        await service.waitForLine(options.readyLine, options.readyTimeoutMs ?? 20_000);
      } catch (err) {
        await service.kill();
        throw err;
      }
    }
    return service;
  }

  /** PID of the process (also after it exited). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the process has not exited yet. */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** The last stdout and stderr lines, for error messages. */
  output(): string {
    return [...this.tail, ...(this.stderrPartial ? [`stderr: ${this.stderrPartial}`] : [])].join('\n');
  }

  /**
   * Resolves with the first stdout line (printed so far or later) matching `pattern` that comes
   * after line index `from` (default 0). Rejects after `timeoutMs` or when the process exits
   * without printing it, with the process's last output in the message.
   */
  async waitForLine(pattern: RegExp | string, timeoutMs = 10_000, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let index = from;
    for (;;) {
      for (const line of this.lines.slice(index)) {
        index += 1;
        if (matches(line, pattern)) return line;
      }
      if (this.exitInfo) {
        const how = this.exitInfo.signal ?? `code ${String(this.exitInfo.code)}`;
        throw new Error(`${this.name} exited (${how}) without printing ${String(pattern)}; its last output:\n${this.output()}`);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`${this.name} did not print ${String(pattern)} within ${timeoutMs} ms; its last output:\n${this.output()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, remaining);
        function wake(): void {
          clearTimeout(timer);
          resolve();
        }
        const waiter = (): void => {
          this.lineWaiters.delete(waiter);
          wake();
        };
        this.lineWaiters.add(waiter);
      });
    }
  }

  /** Sends `signal` (default SIGKILL, like a crash) and resolves when the process has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ServiceExit> {
    if (this.exitInfo) return this.exitInfo;
    this.child.kill(signal);
    if (signal !== 'SIGKILL' && signal !== 'SIGSTOP') this.child.kill('SIGCONT');
    return this.exited;
  }

  /** Freezes the process (SIGSTOP). */
  pause(): void {
    if (this.running) this.child.kill('SIGSTOP');
  }

  /** Continues a paused process (SIGCONT). */
  resume(): void {
    if (this.running) this.child.kill('SIGCONT');
  }

  /** SIGTERM, then SIGKILL if it has not exited within 5 s. Idempotent. */
  async stop(): Promise<ServiceExit> {
    if (this.exitInfo) return this.exitInfo;
    this.child.kill('SIGTERM');
    this.child.kill('SIGCONT');
    if (!(await settlesWithin(this.exited, STOP_GRACE_MS))) this.child.kill('SIGKILL');
    return this.exited;
  }

  private onStdout(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.addLine(line);
  }

  /** Keeps a line of output (stdout or stderr) for error messages, echoing it when debugging. */
  private keep(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (this.echo !== undefined) process.stderr.write(`${this.echo}${line}\n`);
  }

  private flushPartial(): void {
    if (this.partial !== '') this.addLine(this.partial);
    this.partial = '';
  }

  private addLine(line: string): void {
    this.lines.push(line);
    this.keep(line);
    for (const wake of [...this.lineWaiters]) wake();
  }
}
