/**
 * Builds the image's application tree, `/app`: the runtime workspace packages packed with
 * `npm pack` and installed with `--omit=dev` into an empty directory, as a user of the
 * registry would get them. A dependency a package imports but does not declare is missing
 * there, which is what the image test checks. The Dockerfile runs this file
 * (`node --import tsx deploy/image/assemble.ts /app`); so does `deploy/image.test.ts`.
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

/** Where the workflow definitions are in the tree (the services' `WORKFLOWS_DIR`). */
export const WORKFLOWS_SUBDIR = 'workflows';

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
  const manifest = {
    name: 'multi-agent-platform-image',
    private: true,
    type: 'module',
    engines: root.engines,
    dependencies: {
      ...Object.fromEntries(packed.map((p) => [p.name, `file:packs/${p.filename}`])),
      // The services run from their TypeScript sources.
      tsx: root.devDependencies.tsx,
    },
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
