/**
 * What the container image does, proven without a Docker engine: the tree the Dockerfile
 * builds (`deploy/image/assemble.ts`: the workspaces packed and installed with `--omit=dev`
 * into an empty directory) runs each of the five services with the image's own command, and
 * each one gets ready, drains on SIGTERM and exits 0. The workspaces' declared dependencies
 * are exactly what their code imports, so the tree has what the code needs and no more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, NatsServer, ServiceProcess, waitFor } from '@multi-agent/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { assembleRuntime, IMAGE_COMMAND, lockedPackages, pinnedVersions, PROVISION_JOB_ARGS, repoRoot, RUNTIME_WORKSPACES, WORKFLOWS_SUBDIR } from './image/assemble.js';
import { importedPackages } from './image/imports.js';
import { opsEndpoint, SERVICES } from './code-facts.js';
import { scaledConsumers } from './k8s/render.js';

/** The drain budget the test gives a service (`SERVICE_STOP_TIMEOUT_MS`); the manifests' grace period is longer. */
const STOP_TIMEOUT_MS = 10_000;

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
}

const manifestOf = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** Every file under `dir` with its size and modification time. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const stat = statSync(path);
        files.set(path, `${stat.size}:${stat.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return files;
}

/** Whether Node would find `name` from `dir` (walking up through `node_modules`, stopping at `top`). */
function resolvableFrom(dir: string, name: string, top: string): boolean {
  for (let d = dir; d.startsWith(top); d = dirname(d)) {
    if (existsSync(join(d, 'node_modules', name, 'package.json'))) return true;
  }
  return false;
}

/** Runs the image's command (`node --import tsx service.ts`) in the tree `app`. */
function startImageCommand(app: string, name: string, env: Record<string, string>): Promise<ServiceProcess> {
  const [, ...execArgv] = IMAGE_COMMAND;
  const script = execArgv.pop()!;
  return ServiceProcess.start(join(app, script), { cwd: app, execArgv, name, env });
}

describe('workspace dependencies', () => {
  it.each(RUNTIME_WORKSPACES)('%s declares exactly the packages its code imports', (workspace) => {
    const dir = join(repoRoot, workspace);
    const { runtime, typeOnly } = importedPackages([join(dir, 'src'), join(dir, 'bin')]);
    const declared = Object.keys(manifestOf(dir).dependencies ?? {}).sort();
    // Type-only imports need the package at build time only; they may be declared or not.
    expect(declared.filter((name) => !typeOnly.has(name))).toEqual([...runtime].sort());
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const instruction = (name: string): string[] => [...dockerfile.matchAll(new RegExp(`^${name}\\s+(.+)$`, 'gm'))].map((m) => m[1]!);

  it('builds the tree this test runs, and starts it with the same command under tini, as a numeric non-root user', () => {
    expect(instruction('RUN').some((r) => r.startsWith('npm ci --omit=dev'))).toBe(true);
    expect(instruction('RUN').some((r) => r.startsWith('node --import tsx deploy/image/assemble.ts /app'))).toBe(true);
    expect(instruction('WORKDIR').at(-1)).toBe('/app');
    expect(JSON.parse(instruction('CMD').at(-1)!)).toEqual(IMAGE_COMMAND);
    expect(JSON.parse(instruction('ENTRYPOINT').at(-1)!)).toEqual(['/usr/bin/tini', '--']);
    const user = instruction('USER').at(-1)!;
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(instruction('FROM').every((f) => /^node:20-slim\b/.test(f))).toBe(true);
  });
});

describe('the image tree (packed workspaces installed with --omit=dev)', () => {
  let app: string;
  let server: NatsServer;
  let before: Map<string, string>;

  beforeAll(async () => {
    app = mkdtempSync(join(tmpdir(), 'image-app-'));
    await assembleRuntime(app);
    before = snapshot(app);
    server = await NatsServer.start();
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (app !== undefined) rmSync(app, { recursive: true, force: true });
  });

  it('holds no dev dependency: the test tooling is not installed', () => {
    for (const dev of ['vitest', 'typescript', 'eslint', '@multi-agent/testing']) {
      expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    }
  });

  it('installs the versions the repository lockfile pins (what CI tested)', () => {
    const pinned = pinnedVersions();
    const installed = lockedPackages(join(app, 'package-lock.json'));
    const checked = installed.filter(({ name }) => pinned.has(name));
    expect(checked.length).toBeGreaterThan(50);
    for (const { name, version } of checked) expect(version, name).toBe(pinned.get(name));
  });

  it('every installed workspace finds each package its code imports', () => {
    for (const workspace of RUNTIME_WORKSPACES) {
      const { name } = manifestOf(join(repoRoot, workspace));
      const installed = join(app, 'node_modules', name);
      const { runtime } = importedPackages([join(installed, 'src'), join(installed, 'bin')]);
      const missing = [...runtime].filter((pkg) => !resolvableFrom(installed, pkg, app));
      expect(missing, `${name} imports packages missing from the image`).toEqual([]);
    }
  });

  it.each(SERVICES)('%s starts with the image command, gets ready, and exits 0 within its drain time on SIGTERM', async (service) => {
    const ops = opsEndpoint(service);
    const port = await freePort();
    const child = await startImageCommand(app, service, {
      SERVICE: service,
      NATS_URL: server.url,
      [ops.portVariable]: String(port),
      WORKFLOWS_DIR: join(app, WORKFLOWS_SUBDIR),
      SERVICE_STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS),
      NODE_ENV: 'production',
    });
    try {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })).status === 200 || !child.running,
        30_000,
        `${service} /readyz`,
      );
      expect(child.running, child.output()).toBe(true);
      // Every path the code serves (the probes and the scrape use them) answers.
      for (const path of ops.paths) expect((await fetch(`http://127.0.0.1:${port}${path}`)).status, path).toBe(200);
      const started = Date.now();
      const exit = await child.kill('SIGTERM');
      expect(exit, child.output()).toEqual({ code: 0, signal: null });
      expect(Date.now() - started).toBeLessThan(STOP_TIMEOUT_MS);
    } finally {
      await child.stop();
    }
  }, 60_000);

  it('refuses to start without a known SERVICE, naming the choices', async () => {
    const child = await startImageCommand(app, 'no-service', { SERVICE: 'billing' });
    expect(await child.exited).toEqual({ code: 64, signal: null });
    expect(child.output()).toContain('SERVICE must be one of gateway, orchestration, agent, tool, model; got "billing"');
  });

  it('the gateway serves the web console from the installed package', async () => {
    const port = await freePort();
    const gateway = await startImageCommand(app, 'gateway', { SERVICE: 'gateway', NATS_URL: server.url, PORT: String(port), WORKFLOWS_DIR: join(app, WORKFLOWS_SUBDIR) });
    try {
      const page = await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
        return response.status === 200 ? response.text() : undefined;
      }, 30_000, 'the console page');
      expect(page).toContain('<html');
    } finally {
      await gateway.stop();
    }
  });

  it('the operator command works from the tree (kubectl exec ... node_modules/.bin/multi-agent)', async () => {
    const cli = await ServiceProcess.start(join(app, 'node_modules/.bin/multi-agent'), {
      cwd: app,
      name: 'multi-agent',
      args: ['streams', '--consumers'],
      env: { NATS_URL: server.url },
    });
    expect(await cli.exited, cli.output()).toEqual({ code: 0, signal: null });
    expect(cli.lines.join('\n')).toContain('EVENTS');
  });

  it('each consumer the autoscalers watch is one the services created', async () => {
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const live = new Set<string>();
      for await (const stream of jsm.streams.list()) {
        for await (const consumer of jsm.consumers.list(stream.config.name)) live.add(`${stream.config.name}/${consumer.name}`);
      }
      const watched = scaledConsumers();
      expect(watched.length).toBeGreaterThan(0);
      for (const { stream, consumer } of watched) expect(live, `${stream}/${consumer}`).toContain(`${stream}/${consumer}`);
    } finally {
      await nc.close();
    }
  });

  it('the provisioning Job\'s command runs the CLI\'s provision from the tree', async () => {
    const [node, script, ...args] = PROVISION_JOB_ARGS;
    expect(node).toBe('node');
    const provision = await ServiceProcess.start(join(app, script), { cwd: app, name: 'provision', args, env: { NATS_URL: server.url } });
    expect(await provision.exited, provision.output()).toEqual({ code: 0, signal: null });
    expect(provision.lines.join('\n')).toMatch(/stream\s+EVENTS/);
  });

  it('the services wrote nothing into the tree (read-only root filesystem; /tmp is the only writable place)', () => {
    expect(snapshot(app)).toEqual(before);
  });
});
