/**
 * A SERVER span per HTTP request (OpenTelemetry HTTP semantic conventions), continuing a
 * `traceparent` the caller sent. Route handlers run inside it, so the events they publish
 * (an execution request) start their trace here. Without a registered tracer provider the
 * spans are no-ops.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Probes and scrapes: a trace each would only bury the requests worth following. */
const UNTRACED_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** Adds the request span hooks to `app`. */
export function traceRequests(app: FastifyInstance): void {
  const tracer = trace.getTracer('@multi-agent/gateway');
  const spans = new WeakMap<FastifyRequest, Span>();
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (UNTRACED_ROUTES.has(route)) return;
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(
      `${request.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': route } },
      parent,
    );
    spans.set(request, span);
  });
  // Entered only now: the body is read in the socket's own async context, after onRequest.
  app.addHook('preHandler', (request, _reply, done) => {
    const span = spans.get(request);
    if (span === undefined) done();
    else context.with(trace.setSpan(ROOT_CONTEXT, span), done);
  });
  app.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request);
    if (span === undefined) return;
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
}
