/**
 * Authentication and route access. Every route needs a bearer token unless its config says
 * `access: 'public'` (probes, metrics, the console's static files); `access: 'admin'` routes
 * (the operator routes) need the `admin` role. The token is an API key or, when a JWKS is
 * configured, a JWT (three dot-separated parts; an API key has no dot).
 *
 * A gateway configured with neither keys nor a JWKS starts, but refuses every API request:
 * it fails closed, never open.
 *
 * There are no cookies: a browser never sends the token by itself, so a page of another site
 * cannot make a request in the user's name (with the JSON-only bodies, see `json-only.ts`,
 * this is the CSRF defence).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from '../http-error.js';
import { ApiKeyVerifier } from './api-keys.js';
import type { ApiKeyEntry } from './api-keys.js';
import type { Identity } from './identity.js';
import { JwtVerifier } from './jwt.js';
import type { JwtOptions } from './jwt.js';

/** Who may call the gateway: API keys and/or JWTs of one provider. */
export interface GatewayAuthOptions {
  apiKeys?: readonly ApiKeyEntry[];
  jwt?: JwtOptions;
}

/** Who may call a route (route option `config.access`; default `user`: any authenticated caller). */
export type RouteAccess = 'public' | 'user' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** The caller, once authenticated (null on public routes). */
    identity: Identity | null;
  }
}

/** The caller of an authenticated route. */
export function identityOf(request: FastifyRequest): Identity {
  if (request.identity === null) throw new HttpError(401, 'UNAUTHENTICATED', 'this route needs a bearer token');
  return request.identity;
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer +(\S{1,4096})\s*$/i.exec(header);
  if (match === null) throw new HttpError(401, 'UNAUTHENTICATED', 'the Authorization header must be "Bearer <API key or JWT>"');
  return match[1];
}

/** Adds the authentication hook. Register before the routes. */
export function authenticateRequests(app: FastifyInstance, options: GatewayAuthOptions): { configured: boolean } {
  const keys = new ApiKeyVerifier(options.apiKeys ?? []);
  const jwt = options.jwt === undefined ? undefined : new JwtVerifier(options.jwt);
  const configured = keys.size > 0 || jwt !== undefined;

  const verify = async (token: string): Promise<Identity> => {
    if (jwt !== undefined && token.split('.').length === 3) return jwt.verify(token);
    const identity = keys.verify(token);
    if (identity === undefined) throw new HttpError(401, 'INVALID_TOKEN', 'the bearer token is not a valid API key', { reason: 'UNKNOWN_API_KEY' });
    return identity;
  };

  app.decorateRequest('identity', null);
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access ?? 'user';
    if (access === 'public') return;
    if (!configured) throw new HttpError(401, 'UNAUTHENTICATED', 'this gateway has no API keys or JWT provider configured, so it accepts no API request');
    const token = bearerToken(request);
    if (token === undefined) throw new HttpError(401, 'UNAUTHENTICATED', 'this route needs a bearer token: "Authorization: Bearer <API key or JWT>"');
    request.identity = await verify(token);
    if (access === 'admin' && request.identity.role !== 'admin') throw new HttpError(403, 'FORBIDDEN', 'this route needs the admin role');
  });
  return { configured };
}
