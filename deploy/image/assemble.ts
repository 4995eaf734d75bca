/**
 * Builds the image's application tree, `/app`: the runtime workspace packages packed with
 * `npm pack` and installed with `--omit=dev` into an empty directory, as a user of the
 * registry would get them, at the versions the repository's lockfile pins. A dependency a
 * package imports but does not declare is missing there, which is what the image test
 * checks. The Dockerfile runs this file (`node --import tsx deploy/image/assemble.ts /app`);
 * so does `deploy/image.test.ts`.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Workspaces that ship in the image (not `packages/testing`: tests only). */
export const RUNTIME_WORKSPACES = [
  'packages/events',
  'packages/nats-client',
  'packages/cli',
  'services/shared',
  'services/gateway',
  'services/orchestration',
  'services/agent',
  'services/tool',
  'services/model',
] as const;

/** The image's command, run in the tree's root (the Dockerfile's `CMD`). */
export const IMAGE_COMMAND = ['node', '--import', 'tsx', 'service.ts'] as const;

/** The provisioning Job's command, run in the tree's root instead of `CMD`: the CLI's `provision` (deploy/k8s/base/provision-job.yaml). */
export const PROVISION_JOB_ARGS = ['node', 'node_modules/@multi-agent/cli/bin/multi-agent.js', 'provision'] as const;

/** Where the workflow definitions are in the tree (the services' `WORKFLOWS_DIR`). */
export const WORKFLOWS_SUBDIR = 'workflows';

/** The name of the package installed at a lockfile `packages` key (`node_modules/a/node_modules/@s/b` -> `@s/b`). */
export function packageAt(lockKey: string): string {
  return lockKey.slice(lockKey.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** Installed packages of a lockfile (`packages` section), without workspace links. */
export function lockedPackages(lockfile: string): { name: string; version: string }[] {
  const { packages } = JSON.parse(readFileSync(lockfile, 'utf8')) as { packages: Record<string, { version?: string; link?: boolean }> };
  return Object.entries(packages)
    .flatMap(([key, { version, link }]) =>
      key.includes('node_modules/') && link !== true && version !== undefined ? [{ name: packageAt(key), version }] : [],
    );
}

/**
 * The version the repository's lockfile resolves each third-party package to, for packages
 * it resolves to exactly one version: the image gets the versions CI tested. Packages with
 * several versions in the lockfile are left to their dependents' ranges.
 */
export function pinnedVersions(): Map<string, string> {
  const versions = new Map<string, Set<string>>();
  for (const { name, version } of lockedPackages(join(repoRoot, 'package-lock.json'))) {
    const seen = versions.get(name) ?? new Set<string>();
    seen.add(version);
    versions.set(name, seen);
  }
  return new Map(
    [...versions].flatMap(([name, v]): [string, string][] => {
      const [only, ...more] = v;
      return only !== undefined && more.length === 0 && !name.startsWith('@multi-agent/') ? [[name, only]] : [];
    }),
  );
}

interface PackResult {
  name: string;
  filename: string;
}

/**
 * Packs the runtime workspaces and installs them with their production dependencies into
 * `dest`, with the service entry and the workflow definitions beside them.
 */
export async function assembleRuntime(dest: string): Promise<void> {
  const packs = join(dest, 'packs');
  mkdirSync(packs, { recursive: true });
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packs, ...RUNTIME_WORKSPACES.flatMap((w) => ['-w', w])], {
    cwd: repoRoot,
    maxBuffer: 64 * 1024 * 1024,
  });
  const packed = JSON.parse(stdout) as PackResult[];
  const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string>; engines: unknown };
  const pinned = pinnedVersions();
  // The services run from their TypeScript sources.
  const tsx = pinned.get('tsx') ?? root.devDependencies.tsx;
  if (tsx === undefined) throw new Error('no tsx version: neither the lockfile nor the root devDependencies have tsx, which the services run with');
  pinned.delete('tsx'); // npm refuses an override of a direct dependency
  const manifest = {
    name: 'multi-agent-platform-image',
    private: true,
    type: 'module',
    engines: root.engines,
    dependencies: { ...Object.fromEntries(packed.map((p) => [p.name, `file:packs/${p.filename}`])), tsx },
    overrides: Object.fromEntries(pinned),
  };
  writeFileSync(join(dest, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  copyFileSync(fileURLToPath(new URL('./service.ts', import.meta.url)), join(dest, 'service.ts'));
  cpSync(join(repoRoot, WORKFLOWS_SUBDIR), join(dest, WORKFLOWS_SUBDIR), { recursive: true });
  await run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: dest,
    maxBuffer: 64 * 1024 * 1024,
  });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dest = process.argv[2];
  if (dest === undefined) {
    console.error('usage: node --import tsx deploy/image/assemble.ts <destination directory>');
    process.exit(64);
  }
  await assembleRuntime(resolve(dest));
}
