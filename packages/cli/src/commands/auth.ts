/**
 * `multi-agent auth generate --out <dir>`: the NATS server config of the platform identities
 * (`auth.conf`, `nats.conf`) and one `<identity>.env` per identity, derived from the
 * bus-access declaration. Existing keys are kept unless `--rotate`. `--k8s` prints the
 * password-user `authorization` block of the Kubernetes NATS config instead.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BUS_IDENTITIES, natsPermissionsOf } from '@multi-agent/service-kit';
import type { BusIdentity } from '@multi-agent/service-kit';
import type { Io } from '../output.js';
import { identityKey, writeEnvFile } from '../auth/keys.js';
import { renderAuthConfig, renderPasswordAuthorization, renderServerConfig } from '../auth/server-config.js';
import { permissionsTable } from '../auth/table.js';

/** Options of {@link authGenerate}. */
export interface AuthGenerateOptions {
  out: string;
  /** New keys for every identity (the old ones stop working once the server reloads). */
  rotate: boolean;
  /** Client port of `nats.conf`. */
  port: number;
  /** JetStream store of `nats.conf`; default `<out>/jetstream`. */
  storeDir?: string;
}

/** Writes the configs and env files; lists what it wrote (never a seed). */
export async function authGenerate(io: Io, options: AuthGenerateOptions): Promise<void> {
  const dir = resolve(options.out);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const users = BUS_IDENTITIES.map((identity) => ({ key: identityKey(dir, identity, options.rotate), permissions: natsPermissionsOf(identity) }));
  const authConfig = join(dir, 'auth.conf');
  await writeFile(authConfig, renderAuthConfig(users), { mode: 0o600 });
  await chmod(authConfig, 0o600);
  await writeFile(join(dir, 'nats.conf'), renderServerConfig({ port: options.port, storeDir: resolve(options.storeDir ?? join(dir, 'jetstream')) }));
  for (const { key } of users) await writeEnvFile(dir, key);
  io.out(`wrote auth.conf, nats.conf and ${users.length} identity env files (${BUS_IDENTITIES.join(', ')}) to ${dir}${options.rotate ? ' with new keys' : ''}`);
}

/** Prints what each identity may do, as Markdown. */
export function authTable(io: Io): void {
  io.out(permissionsTable());
}

/**
 * The identities with a workload in the Kubernetes manifests: the services and `admin` (the
 * provisioning Job). `readonly` is an operator's identity and has no pod there.
 */
const K8S_IDENTITIES: readonly BusIdentity[] = BUS_IDENTITIES.filter((identity) => identity !== 'readonly');

/** Prints the `authorization` block of deploy/k8s/base/nats-config.yaml (a deploy test compares the checked-in copy). */
export function authK8s(io: Io): void {
  io.out(renderPasswordAuthorization(K8S_IDENTITIES.map((identity) => ({ identity, permissions: natsPermissionsOf(identity) }))));
}
