/**
 * Test support: platform services as separate processes (the path `npm start` uses), so a test
 * can SIGKILL one mid-work and start it again.
 */
import { spawnService, waitUntilReady } from '../../../scripts/platform/service-process.js';
import type { ServiceProcess } from '../../../scripts/platform/service-process.js';
import type { NatsClient } from '@multi-agent/nats-client';
import type { ExecutionStore } from '@multi-agent/service-kit';
import { NatsServer, freePort } from '@multi-agent/testing';
import { connectService, openStore } from './platform.js';

/** Options of {@link ServiceProcesses}. */
export interface ProcessOptions {
  natsUrl: string;
  /** Extra environment for every service. */
  env?: Record<string, string>;
  /** Extra environment per service. */
  envFor?: Record<string, Record<string, string>>;
}

/** Services running as processes. */
export class ServiceProcesses {
  private readonly running = new Map<string, { process: ServiceProcess; healthPort: number }>();
  private readonly logs = new Map<string, string[]>();

  constructor(private readonly options: ProcessOptions) {}

  /** Starts `name` and waits until its `/readyz` answers 200. */
  async start(name: string): Promise<ServiceProcess> {
    const healthPort = await freePort();
    const lines = this.logs.get(name) ?? [];
    this.logs.set(name, lines);
    const echo = process.env.TEST_LOG !== undefined && process.env.TEST_LOG !== 'silent';
    const child = spawnService(name, {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        NATS_URL: this.options.natsUrl,
        NATS_RETRY_BACKOFF_MS: '200',
        SERVICE_HEALTH_PORT: String(healthPort),
        PORT: String(healthPort),
        LOG_LEVEL: process.env.TEST_LOG ?? 'info',
        EXIT_WITH_PARENT: '1',
        ...this.options.env,
        ...this.options.envFor?.[name],
      },
      onLine: (line) => {
        lines.push(line);
        if (lines.length > 300) lines.shift();
        if (echo) console.log(`[${name}] ${line}`);
      },
    });
    this.running.set(name, { process: child, healthPort });
    try {
      await waitUntilReady(`http://127.0.0.1:${healthPort}/readyz`, child, 30_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${this.log(name)}`);
    }
    return child;
  }

  /** The ops (or, for the gateway, HTTP) base URL of a running service. */
  url(name: string): string {
    const entry = this.running.get(name);
    if (entry === undefined) throw new Error(`${name} is not running`);
    return `http://127.0.0.1:${entry.healthPort}`;
  }

  /** SIGKILL, like a crash: nothing is finished, acked or drained. */
  async kill(name: string): Promise<void> {
    await this.running.get(name)?.process.kill();
    this.running.delete(name);
  }

  /** The last lines a service printed (for failure messages). */
  log(name: string): string {
    return (this.logs.get(name) ?? []).join('\n');
  }

  /** Stops every running service gracefully (SIGTERM). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.process.stop(10_000)));
    this.running.clear();
  }
}

/** A NATS server, the back-end services as processes, and an observer client on the execution store. */
export interface Backend {
  server: NatsServer;
  processes: ServiceProcesses;
  observer: NatsClient;
  store: ExecutionStore;
  /** Stops the observer, the processes and the server. */
  stop(): Promise<void>;
}

/** Starts a server and the tool, model, agent and orchestration services as processes. */
export async function startBackend(options: Omit<ProcessOptions, 'natsUrl'> = {}): Promise<Backend> {
  const server = await NatsServer.start();
  const processes = new ServiceProcesses({ ...options, natsUrl: server.url });
  let observer: NatsClient | undefined;
  let store: ExecutionStore;
  try {
    await Promise.all(['tool', 'model', 'agent', 'orchestration'].map((name) => processes.start(name)));
    observer = await connectService(server.url, 'observer');
    store = await openStore(observer);
  } catch (err) {
    // A start that fails half way must not leave processes or a server behind.
    await observer?.close();
    await processes.stopAll();
    await server.stop();
    throw err;
  }
  return {
    server,
    processes,
    observer,
    store,
    stop: async () => {
      await observer.close();
      await processes.stopAll();
      await server.stop();
    },
  };
}
