/**
 * The process entry of a service (`services/<name>/src/main.ts`): build the bus client from
 * the environment, start the service, serve `/healthz` `/readyz` `/metrics`, and shut down
 * gracefully on SIGINT/SIGTERM (stop taking events, finish the ones in flight, drain).
 */
import { ClientErrorCodes, createLogger, envBool, envInt, errorCode, loadNatsConfig, NatsClient } from '@multi-agent/nats-client';
import type { Env, Logger } from '@multi-agent/nats-client';
import { startOpsServer } from './ops-server.js';
import type { OpsServer } from './ops-server.js';
import { collectDefaultMetrics } from 'prom-client';
import { startTracing } from './telemetry.js';
import type { Tracing } from './telemetry.js';

/** Stops a started service (not its client). */
export type StopService = () => Promise<void>;

/** What a service's `main.ts` gives {@link runService}. */
export interface ServiceEntry {
  /** Service name: the client's name, so durable consumers are shared by its replicas. */
  name: string;
  /** Starts the service on a connected client. */
  start(client: NatsClient, env: Env, logger: Logger): Promise<StopService>;
  /** Port of the ops server when `SERVICE_HEALTH_PORT` is unset; `false` when the service serves them itself. */
  defaultHealthPort: number | false;
}

/**
 * The client config of a service process: the environment (`NATS_*`), with the KV
 * idempotency store as default, since replicas in several processes must share it.
 */
export function serviceNatsConfig(env: Env = process.env): ReturnType<typeof loadNatsConfig> {
  return loadNatsConfig({ NATS_IDEMPOTENCY_STORE: 'kv', ...env });
}

const NOT_WORTH_RETRYING: ReadonlySet<string> = new Set([ClientErrorCodes.NOT_PROVISIONED, ClientErrorCodes.PERMISSION_DENIED, ClientErrorCodes.CONFIG]);

/** Connects, retrying while the server is not up yet (e.g. `npm start` just launched it). */
async function connectWithRetry(client: NatsClient, timeoutMs: number, logger: Logger): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await client.connect();
      return;
    } catch (err) {
      // Waiting cannot fix a missing provisioning, a refused permission or a bad setting.
      if (Date.now() > deadline || NOT_WORTH_RETRYING.has(errorCode(err) ?? '')) throw err;
      if (attempt === 1) logger.warn({ err: (err as Error).message }, 'NATS not reachable yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * Runs a service as a process until SIGINT/SIGTERM (or, with `EXIT_WITH_PARENT=1`, until its
 * stdin closes: the parent `npm start` died). Exits 0 after a graceful stop, 1 on a startup
 * failure or an uncaught error.
 */
export async function runService(entry: ServiceEntry, env: Env = process.env): Promise<void> {
  const logger = createLogger(entry.name, { level: env.LOG_LEVEL ?? 'info' });
  let client: NatsClient | undefined;
  let stop: StopService | undefined;
  let ops: OpsServer | undefined;
  let tracing: Tracing | undefined;
  let ready = false;
  let shuttingDown: Promise<void> | undefined;

  const shutdown = (reason: string, code = 0): Promise<void> => {
    shuttingDown ??= (async () => {
      logger.info({ reason }, 'shutting down: finishing events in flight, then draining');
      ready = false;
      try {
        await stop?.();
        await client?.close();
        await ops?.close();
        // After the client: the spans of the last events handled are exported too.
        await tracing?.shutdown();
        logger.info('stopped');
      } catch (err) {
        logger.error({ err }, 'error while shutting down');
        code = 1;
      }
      process.exit(code);
    })();
    return shuttingDown;
  };

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (shuttingDown !== undefined) {
        logger.warn(`second ${signal}: exiting now`);
        process.exit(1);
      }
      void shutdown(signal);
    });
  }
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    void shutdown('uncaught exception', 1);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection');
    void shutdown('unhandled rejection', 1);
  });

  try {
    const startupTimeoutMs = envInt(env, 'NATS_STARTUP_TIMEOUT_MS', 30_000, 0);
    const withParent = envBool(env, 'EXIT_WITH_PARENT', false);
    // Before the client exists: its first publish and delivery are traced already.
    tracing = startTracing(entry.name, env);
    if (tracing !== undefined) logger.info('exporting traces by OTLP/HTTP');
    client = new NatsClient(serviceNatsConfig(env), entry.name, { logger, stopTimeoutMs: envInt(env, 'SERVICE_STOP_TIMEOUT_MS', 15_000, 0) });
    // Once per process, on the registry /metrics serves: CPU, memory, event-loop lag, GC, handles.
    collectDefaultMetrics({ register: client.metrics.registry });
    if (entry.defaultHealthPort !== false) {
      const c = client;
      ops = await startOpsServer({
        service: entry.name,
        client: c,
        port: envInt(env, 'SERVICE_HEALTH_PORT', entry.defaultHealthPort, 0, 65535),
        host: env.SERVICE_HEALTH_HOST ?? '127.0.0.1',
        ready: () => ready && c.isConnected,
      });
    }
    await connectWithRetry(client, startupTimeoutMs, logger);
    stop = await entry.start(client, env, logger);
    ready = true;
    logger.info({ ops: ops?.url }, `${entry.name} service ready`);
    if (withParent) {
      process.stdin.on('end', () => void shutdown('parent exited'));
      process.stdin.resume();
    }
  } catch (err) {
    logger.fatal({ err }, `${entry.name} service failed to start`);
    await client?.close().catch(() => undefined);
    await ops?.close();
    await tracing?.shutdown().catch(() => undefined);
    process.exit(1);
  }
}
