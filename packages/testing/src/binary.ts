import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where Debian's `nats-server` package installs the binary (it may not be on `PATH`). */
const DEBIAN_PATH = '/usr/sbin/nats-server';

const INSTALL_HINT = 'install with `apt-get install -y nats-server` or set NATS_SERVER_BIN to the path of a nats-server binary';

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Resolves the `nats-server` executable to run.
 *
 * Order: the `NATS_SERVER_BIN` environment variable (a path, or a bare name looked up on `PATH`;
 * when set it must resolve to an executable file), else `nats-server` on `PATH`, else
 * `/usr/sbin/nats-server`.
 *
 * @param env - where `NATS_SERVER_BIN` and `PATH` are read (default `process.env`)
 * @returns the path of the binary.
 * @throws Error when no binary is found; the message says how to install one
 *   (`apt-get install -y nats-server`) or to set `NATS_SERVER_BIN`.
 */
export function natsServerBinary(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const fromEnv = env.NATS_SERVER_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    const resolved = fromEnv.includes('/') ? fromEnv : (onPath(fromEnv, env.PATH) ?? fromEnv);
    if (isExecutableFile(resolved)) return resolved;
    throw new Error(`NATS_SERVER_BIN=${fromEnv} is not an executable file: ${INSTALL_HINT}`);
  }
  const found = onPath('nats-server', env.PATH) ?? (isExecutableFile(DEBIAN_PATH) ? DEBIAN_PATH : undefined);
  if (found !== undefined) return found;
  throw new Error(`nats-server not found on PATH nor at ${DEBIAN_PATH}: ${INSTALL_HINT}`);
}
