/**
 * The gateway: the platform's HTTP API and web console (fastify), on the bus through one
 * client. It publishes `workflow.execution.requested`, reads execution state from the
 * EXECUTIONS KV bucket, execution events from the EVENTS stream (by correlationId, through the
 * correlation index its indexer writes) and token streams from TOKENS (as Server-Sent Events).
 * It handles no event; its correlation indexer reads them all.
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { NatsClient } from '@multi-agent/nats-client';
import { ClaimCheckStore, counter, executionLimits, ExecutionStore, histogram, OutboxPublisher } from '@multi-agent/service-kit';
import type { StopService, WorkflowDefinition } from '@multi-agent/service-kit';
import Fastify from 'fastify';
import type { FastifyError } from 'fastify';
import { authenticateRequests } from './auth/authenticate.js';
import type { GatewayAuthOptions } from './auth/authenticate.js';
import { scopeExecutionsToOwner } from './auth/ownership.js';
import type { GatewayContext } from './context.js';
import { HttpError } from './http-error.js';
import { limitRequestRate, limitStreamsPerIdentity } from './limits.js';
import { addSecurityHeaders } from './security-headers.js';
import { registerCancelRoutes } from './routes/cancel.js';
import { traceRequests } from './http-tracing.js';
import { registerConsoleRoutes } from './routes/console.js';
import { registerDeadLetterRoutes } from './routes/dead-letters.js';
import { registerExecutionListRoutes } from './routes/execution-list.js';
import { registerExecutionRoutes } from './routes/executions.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerStreamRoutes } from './routes/streams.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerWorkflowRoutes } from './routes/workflows.js';

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** The workflows that can be started, by ID. */
  workflows: Map<string, WorkflowDefinition>;
  /** Port to listen on; 0 picks a free one (default 3000). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Directory of the console's static files (default: the package's `public/`). */
  publicDir?: string;
  /** Most messages one events request scans: the part of EVENTS the correlation indexer has not indexed yet (default 100 000). */
  eventScanLimit?: number;
  /** SSE keep-alive interval (ms, default 15 000). */
  sseHeartbeatMs?: number;
  /** Token-stream silence after which SSE checks whether the execution ended (ms, default 30 000). */
  tokenIdleMs?: number;
  /** Largest request body (bytes, default 16 MiB); a larger one is refused with 413 `BODY_TOO_LARGE`. */
  bodyLimitBytes?: number;
  /** Who may call the API. Without keys or a JWT provider every API request is refused (401). */
  auth?: GatewayAuthOptions;
  /** Requests per caller per `rateLimitWindowMs` (default 1200). */
  rateLimitMax?: number;
  /** Window of the rate limit (ms, default 60 000). */
  rateLimitWindowMs?: number;
  /** Token streams one caller may hold open at once (default 8). */
  maxStreamsPerIdentity?: number;
}

/** nats-server's default `max_payload`, for a connection that reports none. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** A running gateway: call it to stop; `url` is where it listens. */
export type RunningGateway = StopService & { url: string; port: number };

/** The package's `public/` directory. */
export function defaultPublicDir(): string {
  return fileURLToPath(new URL('../public', import.meta.url));
}

/** The gateway's settings when neither the caller nor the environment sets them. */
export const gatewayDefaults = {
  port: 3000,
  host: '127.0.0.1',
  eventScanLimit: 100_000,
  sseHeartbeatMs: 15_000,
  tokenIdleMs: 30_000,
  bodyLimitBytes: 16 * 1024 * 1024,
  rateLimitMax: 1200,
  rateLimitWindowMs: 60_000,
  maxStreamsPerIdentity: 8,
} as const;

/**
 * Starts the gateway on a connected client and listens.
 *
 * @returns a stop function (closes the HTTP server and its SSE streams and stops the correlation
 *   indexer; the client stays open)
 *   carrying the `url` and `port` it listens on
 */
export async function startGateway(client: NatsClient, options: GatewayOptions): Promise<RunningGateway> {
  const settings = { ...gatewayDefaults, ...options };
  const store = await ExecutionStore.open(client.jetstream.js, { replicas: client.config.replicas });
  const indexer = await client.startCorrelationIndexer();
  const ctx: GatewayContext = {
    client,
    workflows: options.workflows,
    store,
    outbox: new OutboxPublisher(client, store),
    eventScanLimit: settings.eventScanLimit,
    sseHeartbeatMs: settings.sseHeartbeatMs,
    tokenIdleMs: settings.tokenIdleMs,
  };
  const intake = {
    limits: executionLimits(client.natsConnection.info?.max_payload ?? DEFAULT_MAX_PAYLOAD),
    claims: await ClaimCheckStore.open(client.jetstream.js, { replicas: client.config.replicas }),
  };
  const bodyLimit = settings.bodyLimitBytes;
  const registry = client.metrics.registry;
  const requests = counter(registry, 'gateway_http_requests_total', 'HTTP requests, by method, route and status.', ['method', 'route', 'status']);
  const durations = histogram(registry, 'gateway_http_request_duration_seconds', 'HTTP request time (SSE: until the stream ends).', ['method', 'route']);
  const sse = counter(registry, 'gateway_sse_connections_total', 'SSE token streams opened (+) and closed (-), by direction.', ['direction']);

  // Unknown body fields are an error, not silently dropped (ajv's default in fastify removes them).
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit, ajv: { customOptions: { removeAdditional: false } } });
  let ready = false;
  await addSecurityHeaders(app);
  traceRequests(app);
  const { configured } = authenticateRequests(app, options.auth ?? {});
  if (!configured) client.logger.warn('no API keys and no JWT provider configured: every API request is refused (401)');
  await limitRequestRate(app, settings);
  scopeExecutionsToOwner(app, ctx);
  limitStreamsPerIdentity(app, settings);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    durations.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      if (error.status === 401) void reply.header('www-authenticate', 'Bearer realm="multi-agent"');
      return reply.code(error.status).send(error.body());
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({ error: 'BODY_TOO_LARGE', message: `request body larger than ${bodyLimit} bytes`, limitBytes: bodyLimit });
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send({ error: 'UNSUPPORTED_MEDIA_TYPE', message: error.message });
    }
    if (error.validation !== undefined || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return reply.code(400).send({ error: 'INVALID_REQUEST', message: error.message });
    }
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: error.code ?? 'BAD_REQUEST', message: error.message });
    }
    // The details stay in the log; the caller gets the request id to find them.
    client.logger.error({ err: error, requestId: request.id, route: request.routeOptions.url }, 'request failed');
    return reply.code(500).send({ error: 'INTERNAL', message: `internal error (request ${request.id}); the gateway's log has the details`, requestId: request.id });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` }));

  registerOpsRoutes(app, ctx, () => ready);
  registerWorkflowRoutes(app, ctx);
  registerExecutionListRoutes(app, ctx);
  registerExecutionRoutes(app, ctx, intake);
  registerCancelRoutes(app, ctx);
  registerDeadLetterRoutes(app, ctx);
  registerStreamRoutes(app, ctx, () => ready);
  registerTokenRoutes(app, ctx, (delta) => sse.inc({ direction: delta > 0 ? 'opened' : 'closed' }));
  await registerConsoleRoutes(app, options.publicDir ?? defaultPublicDir());

  await app.listen({ port: settings.port, host: settings.host });
  ready = true;
  const { port } = app.server.address() as AddressInfo;
  const { host } = settings;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const stop = async (): Promise<void> => {
    ready = false;
    await app.close();
    await indexer.stop();
  };
  return Object.assign(stop, { url, port });
}
