/**
 * One platform service as a child process: `node --import tsx services/<name>/src/main.ts`,
 * its output split into lines, stopped with SIGTERM (graceful: finish events in flight, drain)
 * and SIGKILL after a grace period.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The five services, in the order they are started (the gateway last: it is the front door). */
export const SERVICES = ['tool', 'model', 'agent', 'orchestration', 'gateway'] as const;

/** A service name. */
export type ServiceName = (typeof SERVICES)[number];

/** A running service process. */
export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  /** Exit code (or signal name) once exited. */
  exited: Promise<number | string | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<number | string | null>;
  /** SIGKILL at once (a crash). */
  kill(): Promise<number | string | null>;
}

/** Options of {@link spawnService}. */
export interface SpawnServiceOptions {
  env: NodeJS.ProcessEnv;
  /** Called with each output line (stdout and stderr). */
  onLine?: (line: string) => void;
  /** Own process group, so a terminal Ctrl-C reaches only the parent (which stops services in order). */
  detached?: boolean;
}

/** Starts `services/<name>/src/main.ts` in a new Node process with tsx. */
export function spawnService(name: string, options: SpawnServiceOptions): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', `services/${name}/src/main.ts`], {
    cwd: repoRoot,
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') options.onLine?.(line);
    });
  }
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    exited,
    stop: async (graceMs = 20_000) => {
      if (running()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
    kill: async () => {
      if (running()) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** Polls `url` until it answers 200, the process exits, or the deadline passes. */
export async function waitUntilReady(url: string, service: ServiceProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // An object, not a `let`: the flag is set by the callback, which the compiler's narrowing does not see.
  const state = { exited: false };
  void service.exited.then(() => (state.exited = true));
  for (;;) {
    if (state.exited) throw new Error(`${service.name} exited before it was ready (see its log above)`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${service.name} was not ready at ${url} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
