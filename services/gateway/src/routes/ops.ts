/** `/healthz` (alive), `/readyz` (connected and started) and `/metrics` (Prometheus) of the gateway. */
import { healthBody, metricsText } from '@multi-agent/service-kit';
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';

/** Registers the ops routes. */
export function registerOpsRoutes(app: FastifyInstance, ctx: GatewayContext, ready: () => boolean): void {
  // Probes and the scrape need no token and no rate limit (they reveal no execution).
  const config = { access: 'public', rateLimit: false } as const;
  app.get('/healthz', { config }, async () => ({ ...healthBody('gateway', ctx.client, ready()), status: 'ok' }));
  app.get('/readyz', { config }, async (_request, reply) => {
    const body = healthBody('gateway', ctx.client, ready());
    return reply.code(body.status === 'ok' ? 200 : 503).send(body);
  });
  app.get('/metrics', { config }, async (_request, reply) => {
    const { contentType, body } = await metricsText([ctx.client.metrics.registry]);
    return reply.type(contentType).send(body);
  });
}
