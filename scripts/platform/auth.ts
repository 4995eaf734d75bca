/**
 * Auth for the nats-server `npm start` runs itself: the identities of `multi-agent auth
 * generate` (kept in `.data/nats-auth`, so keys survive restarts), provisioning as `admin`, and
 * the variables each service connects with. The services then run as they do in production:
 * each with its own key and permissions, none creating streams or durables.
 */
import { readFile } from 'node:fs/promises';
import { authGenerate, envFileOf, parseEnvFile, provisionTopology } from '@multi-agent/cli';
import type { ProvisionReport } from '@multi-agent/cli';
import { loadNatsConfig, NatsClient } from '@multi-agent/nats-client';
import type { BusIdentity } from '@multi-agent/service-kit';
import { pino } from 'pino';

/** The generated identities of one `npm start`. */
export interface LocalAuth {
  /** The server config (`nats.conf`, including `auth.conf`). */
  serverConfig: string;
  /** The `NATS_*` variables `identity` connects with. */
  env(identity: BusIdentity): Promise<Record<string, string>>;
}

/** Writes (or refreshes, keeping the keys) the identities under `dir`, for a server storing in `storeDir`. */
export async function prepareLocalAuth(dir: string, storeDir: string, log: (line: string) => void): Promise<LocalAuth> {
  await authGenerate({ out: log, err: log }, { out: dir, rotate: false, port: 4222, storeDir });
  return {
    serverConfig: `${dir}/nats.conf`,
    env: async (identity) => parseEnvFile(await readFile(envFileOf(dir, identity), 'utf8')),
  };
}

/** Provisions the server at `url` as `admin`. */
export async function provisionAsAdmin(url: string, auth: LocalAuth): Promise<ProvisionReport> {
  const config = loadNatsConfig({ ...(await auth.env('admin')), NATS_URL: url });
  const admin = new NatsClient({ ...config, maxReconnectAttempts: 0 }, 'multi-agent-cli', {
    logger: pino({ level: 'warn' }),
    deadLetterWatcher: false,
    setUpStreams: false,
  });
  await admin.connect();
  try {
    return await provisionTopology(admin);
  } finally {
    await admin.close();
  }
}
