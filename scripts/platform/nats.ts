/**
 * Finding or starting the NATS server `npm start` uses: probe `NATS_URL`; when nothing answers
 * on a local address, run `nats-server` with JetStream and its store under `.data/`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { maskUrlCredentials } from '@multi-agent/nats-client';

/** What a server said in its INFO line. */
export interface NatsProbe {
  url: string;
  version: string;
  jetstream: boolean;
}

/** Host and port of a `nats://host:port` URL (port 4222 when absent). */
export function hostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url.replace(/^\w+:\/\//, 'http://'));
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port === '' ? 4222 : Number(parsed.port) };
}

/** Connects to `url` and reads the server's INFO line; undefined when nothing (or no NATS server) answers. */
export function probeNats(url: string, timeoutMs = 1500): Promise<NatsProbe | undefined> {
  const { host, port } = hostPort(url);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let buffer = '';
    const done = (result: NatsProbe | undefined): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const end = buffer.indexOf('\r\n');
      if (end === -1) return;
      const line = buffer.slice(0, end);
      if (!line.startsWith('INFO ')) { done(undefined); return; }
      try {
        const info = JSON.parse(line.slice(5)) as { version?: string; jetstream?: boolean };
        done({ url, version: info.version ?? 'unknown', jetstream: info.jetstream === true });
      } catch {
        done(undefined);
      }
    });
  });
}

/** The error `npm start` shows when it needs a nats-server and finds none. */
export class NatsServerMissingError extends Error {
  constructor(url: string) {
    super(
      `No NATS server answers at ${url}, and no nats-server binary was found to start one.\n` +
        '  Install it:   apt-get install -y nats-server\n' +
        '  or point NATS_SERVER_BIN at a nats-server binary, or NATS_URL at a running server (JetStream enabled).',
    );
    this.name = 'NatsServerMissingError';
  }
}

/** A nats-server this script started. */
export interface LocalNats {
  url: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM (the server flushes its store), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Options of {@link startLocalNats}. */
export interface StartLocalNatsOptions {
  url: string;
  /** JetStream store directory (created when missing). */
  storeDir: string;
  binary: string;
  /** A config file (e.g. with accounts and users) whose JetStream store is `storeDir`; the URL's host and port override its own. */
  configFile?: string;
  /** Called with each line the server prints. */
  onLine: (line: string) => void;
  readyTimeoutMs?: number;
}

/** Starts nats-server with JetStream on the URL's host and port, and waits until it answers. */
export async function startLocalNats(options: StartLocalNatsOptions): Promise<LocalNats> {
  const { host, port } = hostPort(options.url);
  mkdirSync(options.storeDir, { recursive: true });
  // Its own process group: a Ctrl-C in the terminal must not stop NATS before the services drained.
  const store = options.configFile === undefined ? ['-js', '-sd', options.storeDir] : ['-c', options.configFile];
  const child = spawn(options.binary, [...store, '-a', host, '-p', String(port), '-n', 'multi-agent-dev'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') options.onLine(line);
    });
  }
  const stop = async (graceMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode} before it was ready (see its log above)`);
    if ((await probeNats(options.url, 500)) !== undefined) return { url: options.url, child, exited, stop };
    if (Date.now() > deadline) {
      await stop(1000);
      throw new Error(`nats-server did not answer at ${maskUrlCredentials(options.url)} within ${options.readyTimeoutMs ?? 15_000} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
