/**
 * Security headers (`@fastify/helmet`) with a Content-Security-Policy the console lives within:
 * its scripts, styles and API calls come from this origin only, nothing inline, no frames (so
 * no clickjacking), no plugins. `upgrade-insecure-requests` is left out: the gateway is often
 * reached over plain HTTP on localhost, where it would break the page.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/** Registers the headers on every answer. */
export async function addSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'font-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
      },
    },
  });
}
