/**
 * The web console: the static files of `public/` (a page, its ES modules, a style sheet), read
 * once at startup (a few dozen kilobytes; no static-file plugin needed).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/auth.js': { file: 'auth.js', type: 'text/javascript; charset=utf-8' },
  '/event-stream.js': { file: 'event-stream.js', type: 'text/javascript; charset=utf-8' },
  '/dom.js': { file: 'dom.js', type: 'text/javascript; charset=utf-8' },
  '/executions.js': { file: 'executions.js', type: 'text/javascript; charset=utf-8' },
  '/dead-letters.js': { file: 'dead-letters.js', type: 'text/javascript; charset=utf-8' },
  '/streams.js': { file: 'streams.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Registers the console routes, serving files from `publicDir`. */
export async function registerConsoleRoutes(app: FastifyInstance, publicDir: string): Promise<void> {
  for (const [route, { file, type }] of Object.entries(FILES)) {
    const body = await readFile(join(publicDir, file));
    // The page asks for the key itself: loading it needs none.
    app.get(route, { config: { access: 'public', rateLimit: false } }, async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').send(body));
  }
}
