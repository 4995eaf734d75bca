/**
 * Limits per identity (the authenticated caller's userId): a request rate
 * (`@fastify/rate-limit`, 429 `RATE_LIMITED` with `retry-after`) and a number of open token
 * streams (429 `TOO_MANY_STREAMS`): an SSE answer holds a connection and a NATS subscription
 * for as long as the browser keeps it, so one caller must not hold them all. Public routes
 * (probes, metrics, the console's files) are not limited; a request without a valid token is
 * refused before it is counted.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { identityOf } from './auth/authenticate.js';
import { HttpError } from './http-error.js';

/** The limits. */
export interface RequestLimits {
  /** Requests per identity per window. */
  rateLimitMax: number;
  /** The rate limit's window (ms). */
  rateLimitWindowMs: number;
  /** Token streams one identity may hold open at once. */
  maxStreamsPerIdentity: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers with a long-lived stream: it counts towards `maxStreamsPerIdentity`. */
    sseStream?: boolean;
  }
}

/** Registers the rate limit (before the routes: it attaches to each route as it is added). */
export async function limitRequestRate(app: FastifyInstance, limits: RequestLimits): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: limits.rateLimitMax,
    timeWindow: limits.rateLimitWindowMs,
    // After authentication (onRequest), before the body is read.
    hook: 'preParsing',
    keyGenerator: (request) => identityOf(request).userId,
    errorResponseBuilder: (_request, context) =>
      new HttpError(429, 'RATE_LIMITED', `more than ${context.max} requests in ${limits.rateLimitWindowMs} ms; retry in ${context.after}`, {
        limit: context.max,
        retryAfterMs: context.ttl,
      }),
  });
}

/** Caps the open streams per identity on routes with `config.sseStream` (add after the ownership check). */
export function limitStreamsPerIdentity(app: FastifyInstance, limits: RequestLimits): void {
  const open = new Map<string, number>();
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.config.sseStream !== true) return;
    const { userId } = identityOf(request);
    const count = open.get(userId) ?? 0;
    if (count >= limits.maxStreamsPerIdentity) {
      throw new HttpError(429, 'TOO_MANY_STREAMS', `at most ${limits.maxStreamsPerIdentity} token streams may be open at once per caller; close one first`, {
        limit: limits.maxStreamsPerIdentity,
      });
    }
    open.set(userId, count + 1);
    // The raw response closes when the stream ends, the browser leaves, or the request fails.
    reply.raw.once('close', () => {
      const left = (open.get(userId) ?? 1) - 1;
      if (left > 0) open.set(userId, left);
      else open.delete(userId);
    });
  });
}
