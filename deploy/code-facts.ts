/**
 * What the deployment files must agree with, read from the code itself rather than restated:
 * the services, the port and paths of each one's ops server, and every environment variable
 * the services read.
 */
import { gatewayDefaults } from '@multi-agent/gateway-service';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, RUNTIME_WORKSPACES } from './image/assemble.js';

export { SERVICES, type ServiceName } from '../scripts/platform/service-process.js';

const read = (path: string): string => readFileSync(join(repoRoot, path), 'utf8');

/** Capture group 1 of every match of `pattern` (which must have a non-optional group 1) in `text`. */
function captures(text: string, pattern: RegExp, where: string): string[] {
  return [...text.matchAll(pattern)].map((m) => {
    const value = m[1];
    if (value === undefined) throw new Error(`${where}: ${String(pattern)} matched "${m[0]}" without capturing group 1`);
    return value;
  });
}

/** Where a service answers `/healthz`, `/readyz` and `/metrics`. */
export interface OpsEndpoint {
  /** The variable that sets the port. */
  portVariable: 'PORT' | 'SERVICE_HEALTH_PORT';
  /** The variable that sets the listen address (the code defaults to 127.0.0.1). */
  hostVariable: 'HOST' | 'SERVICE_HEALTH_HOST';
  /** The port when the variable is unset. */
  defaultPort: number;
  /** Paths the server answers. */
  paths: string[];
}

/** The ops endpoint of `service`, from its `main.ts` and the ops server (or the gateway's own routes). */
export function opsEndpoint(service: string): OpsEndpoint {
  const main = read(`services/${service}/src/main.ts`);
  const healthPort = /defaultHealthPort:\s*(\d+|false)/.exec(main)?.[1];
  if (healthPort === undefined) throw new Error(`services/${service}/src/main.ts sets no defaultHealthPort`);
  if (healthPort !== 'false') {
    const server = read('services/shared/src/ops-server.ts');
    return {
      portVariable: 'SERVICE_HEALTH_PORT',
      hostVariable: 'SERVICE_HEALTH_HOST',
      defaultPort: Number(healthPort),
      paths: captures(server, /path === '([^']+)'/g, 'services/shared/src/ops-server.ts'),
    };
  }
  // A service that serves the ops paths itself (the gateway) does so on its HTTP port.
  if (service !== 'gateway' || !/envInt\(env, 'PORT', gatewayDefaults\.port\b/.test(main)) {
    throw new Error(`services/${service}/src/main.ts serves no ops port of its own that this check knows`);
  }
  const routes = read(`services/${service}/src/routes/ops.ts`);
  return {
    portVariable: 'PORT',
    hostVariable: 'HOST',
    defaultPort: gatewayDefaults.port,
    paths: captures(routes, /app\.get\('([^']+)'/g, `services/${service}/src/routes/ops.ts`),
  };
}

/** How the code reads a variable: a helper called with `(env, 'NAME', ...)`, or `env.NAME` / `env['NAME']`. */
const ENV_READS = [
  /\(\s*env\s*,\s*'([A-Z][A-Z0-9_]*)'/g,
  /\b(?:process\.)?env\.([A-Z][A-Z0-9_]*)\b/g,
  /\benv\[['"]([A-Z][A-Z0-9_]*)['"]\]/g,
];

function sourceText(workspace: string): string {
  const files = readdirRecursive(join(repoRoot, workspace, 'src'));
  return files.map((file) => readFileSync(file, 'utf8')).join('\n');
}

function readdirRecursive(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? readdirRecursive(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Every environment variable the image's entry and the code of the runtime workspaces read. */
export function envVariablesRead(): Set<string> {
  const names = new Set<string>();
  const texts = [read('deploy/image/service.ts'), ...RUNTIME_WORKSPACES.map(sourceText)];
  for (const text of texts) for (const pattern of ENV_READS) for (const name of captures(text, pattern, 'environment reads')) names.add(name);
  return names;
}
