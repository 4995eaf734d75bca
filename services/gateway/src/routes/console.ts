/**
 * The web console: three static files from `public/`, read once at startup (a handful of
 * kilobytes; no static-file plugin needed).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Registers the console routes, serving files from `publicDir`. */
export async function registerConsoleRoutes(app: FastifyInstance, publicDir: string): Promise<void> {
  for (const [route, { file, type }] of Object.entries(FILES)) {
    const body = await readFile(join(publicDir, file));
    app.get(route, async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').send(body));
  }
}
