// Test helpers: a raw NATS protocol client over TCP and polling for conditions.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

/** Polls `check` every 20 ms until it returns a value other than `undefined`/`false`. */
export async function until<T>(check: () => T | false | undefined | Promise<T | false | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The one-letter state of a Linux process (`R`, `S`, `T` stopped, `Z` zombie), or `undefined` if gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Whether `pid` is gone (or a zombie nobody has reaped yet). */
export function processGone(pid: number): boolean {
  const state = processState(pid);
  return state === undefined || state === 'Z' || state === 'X';
}

/** A raw TCP client that accumulates everything it receives as text. */
export class RawClient {
  data = '';
  readonly closed: Promise<void>;
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.data += chunk;
      for (const wake of [...this.waiters]) wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        for (const wake of [...this.waiters]) wake();
        resolve();
      });
    });
  }

  /** Connects to `127.0.0.1:<port>`. */
  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Resolves with all data received once it matches `pattern`; rejects on close or timeout. */
  waitFor(pattern: RegExp, timeoutMs = 5_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms; received: ${JSON.stringify(this.data)}`));
      }, timeoutMs);
      const check = (): void => {
        if (pattern.test(this.data)) {
          finish();
          resolve(this.data);
        } else if (this.socket.destroyed) {
          finish();
          reject(new Error(`connection closed before ${String(pattern)}; received: ${JSON.stringify(this.data)}`));
        }
      };
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves `true` if nothing more arrives within `ms` (a bounded check for absence). */
  async quietFor(ms: number): Promise<boolean> {
    const before = this.data.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.data.length === before;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connects, reads the server's `INFO {...}` line and returns it parsed. */
export async function readInfo(port: number): Promise<Record<string, unknown>> {
  const client = await RawClient.connect(port);
  try {
    const data = await client.waitFor(/^INFO (.*)\r\n/);
    const json = /^INFO (.*)\r\n/.exec(data)?.[1] ?? '{}';
    return JSON.parse(json) as Record<string, unknown>;
  } finally {
    client.close();
  }
}
