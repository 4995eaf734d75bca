/**
 * `npm start`: the whole platform on this machine.
 *
 * 1. NATS: use the server at `NATS_URL` (default nats://localhost:4222) when one answers; if
 *    none does (and the address is local), start `nats-server` with JetStream, its store in
 *    `.data/nats` (`DATA_DIR` to move it), with auth on: the identities of `multi-agent auth
 *    generate` in `.data/nats-auth`, the streams, buckets and durables provisioned as `admin`,
 *    and each service connecting as itself.
 * 2. Start the five services as separate processes (`node --import tsx services/<name>/src/main.ts`),
 *    their log lines prefixed with the service name.
 * 3. Wait until every service answers `/readyz`, then print the web console URL. Unless the
 *    gateway's credentials are configured, an admin API key is made for this run: the gateway
 *    gets only its hash, the key is printed once, in the console URL's fragment.
 * 4. On Ctrl-C (SIGINT) or SIGTERM: stop the gateway (no new work), then the other services
 *    (each finishes the events it holds and drains its connection), then the nats-server it
 *    started. Events not yet handled stay in their durable consumers for the next start.
 */
import { resolve } from 'node:path';
import { createApiKey } from '@multi-agent/gateway-service';
import { maskUrlCredentials } from '@multi-agent/nats-client';
import { freePort, natsServerBinary } from '@multi-agent/testing';
import { prepareLocalAuth, provisionAsAdmin } from './platform/auth.js';
import type { LocalAuth } from './platform/auth.js';
import { prefixer } from './platform/log-format.js';
import { hostPort, NatsServerMissingError, probeNats, startLocalNats } from './platform/nats.js';
import type { LocalNats } from './platform/nats.js';
import { repoRoot, SERVICES, spawnService, waitUntilReady } from './platform/service-process.js';
import type { ServiceProcess } from './platform/service-process.js';

const env = process.env;
const color = process.stdout.isTTY && env.NO_COLOR === undefined;
const width = Math.max(...SERVICES.map((s) => s.length), 'start'.length, 'nats'.length);
const say = prefixer('start', 5, width, color);
const log = (line: string): void => console.log(say(line));

// `split` returns at least one element, so the default never applies.
const [firstNatsUrl = ''] = (env.NATS_URL ?? 'nats://localhost:4222').split(',');
const natsUrl = firstNatsUrl.trim();
/** `natsUrl` as printed: without credentials. */
const shownNatsUrl = maskUrlCredentials(natsUrl);
/** `PORT=0`: any free port, picked once everything before the gateway is up (the banner shows it). */
const requestedGatewayPort = Number(env.PORT ?? 3000);
const gatewayHost = env.HOST ?? '127.0.0.1';
const dataDir = resolve(repoRoot, env.DATA_DIR ?? '.data');
const readyTimeoutMs = Number(env.STARTUP_TIMEOUT_MS ?? 60_000);
/** The key of the person who ran `npm start`, when the gateway has no credentials configured. */
const localKey = ['GATEWAY_API_KEYS', 'GATEWAY_API_KEYS_FILE', 'GATEWAY_JWKS_URL'].some((name) => (env[name] ?? '') !== '')
  ? undefined
  : createApiKey('local', 'admin');

let nats: LocalNats | undefined;
/** The identities of the nats-server this script started; undefined on a server of the user's. */
let auth: LocalAuth | undefined;
const services: ServiceProcess[] = [];
let stopping: Promise<void> | undefined;
let lastSignalAt = 0;

async function shutdown(reason: string, code: number): Promise<void> {
  stopping ??= (async () => {
    log(`${reason}: stopping the platform`);
    const gateway = services.find((s) => s.name === 'gateway');
    if (gateway !== undefined) await gateway.stop();
    await Promise.all(services.filter((s) => s !== gateway).map((s) => s.stop()));
    if (nats !== undefined) {
      log('stopping the nats-server started by npm start');
      await nats.stop();
    }
    log('stopped');
    process.exit(code);
  })();
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    const now = Date.now();
    // `npm start` relays the terminal's SIGINT, so one Ctrl-C can arrive twice at once.
    if (stopping !== undefined && now - lastSignalAt > 1000) {
      log(`second ${signal}: exiting without waiting`);
      for (const s of services) s.child.kill('SIGKILL');
      process.exit(130);
    }
    lastSignalAt = now;
    void shutdown(signal, 0);
  });
}

async function ensureNats(): Promise<string> {
  const probe = await probeNats(natsUrl);
  if (probe !== undefined) {
    if (!probe.jetstream) throw new Error(`the NATS server at ${shownNatsUrl} (${probe.version}) runs without JetStream; restart it with -js`);
    log(`using the NATS server at ${shownNatsUrl} (nats-server ${probe.version}, JetStream on)`);
    return natsUrl;
  }
  const { host } = hostPort(natsUrl);
  if (!['localhost', '127.0.0.1', '::1', '0.0.0.0'].includes(host)) {
    throw new Error(`no NATS server answers at ${shownNatsUrl}; start it there, or unset NATS_URL to run one locally`);
  }
  let binary: string;
  try {
    binary = natsServerBinary(env);
  } catch {
    throw new NatsServerMissingError(shownNatsUrl);
  }
  const storeDir = resolve(dataDir, 'nats');
  const authDir = resolve(dataDir, 'nats-auth');
  auth = await prepareLocalAuth(authDir, storeDir, log);
  log(`no NATS server at ${shownNatsUrl}: starting ${binary} with JetStream (store: ${storeDir}) and auth on (identities: ${authDir})`);
  const natsLine = prefixer('nats', 4, width, color);
  nats = await startLocalNats({ url: natsUrl, storeDir, binary, configFile: auth.serverConfig, onLine: (line) => console.log(natsLine(line)) });
  void nats.exited.then((code) => {
    if (stopping === undefined) void shutdown(`nats-server exited (code ${code})`, 1);
  });
  return natsUrl;
}

async function main(): Promise<void> {
  const url = await ensureNats();
  if (auth !== undefined) {
    const { results } = await provisionAsAdmin(url, auth);
    const changed = results.filter((r) => r.action !== 'unchanged');
    log(`provisioned as admin: ${changed.length === 0 ? 'nothing to change' : changed.map((r) => `${r.kind} ${r.name} ${r.action}`).join(', ')}`);
  }
  const ready: Promise<void>[] = [];
  const metrics: string[] = [];
  // Ports picked here are not bound until a service starts: never hand out one twice.
  const picked = new Set<number>();
  const pickPort = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (!picked.has(port)) {
        picked.add(port);
        return port;
      }
    }
  };
  if (requestedGatewayPort !== 0) picked.add(requestedGatewayPort);
  const gatewayPort = requestedGatewayPort === 0 ? await pickPort() : requestedGatewayPort;
  for (const [index, name] of SERVICES.entries()) {
    const healthPort = name === 'gateway' ? gatewayPort : await pickPort();
    const line = prefixer(name, index, width, color);
    const service = spawnService(name, {
      env: {
        ...env,
        ...(auth === undefined ? {} : await auth.env(name)),
        NATS_URL: url,
        EXIT_WITH_PARENT: '1',
        ...(name === 'gateway' ? { PORT: String(gatewayPort), HOST: gatewayHost, ...(localKey === undefined ? {} : { GATEWAY_API_KEYS: localKey.entry }) } : { SERVICE_HEALTH_PORT: String(healthPort) }),
      },
      onLine: (text) => console.log(line(text)),
      detached: true,
    });
    services.push(service);
    void service.exited.then((code) => {
      if (stopping === undefined) void shutdown(`${name} exited unexpectedly (code ${code})`, 1);
    });
    const host = name === 'gateway' && gatewayHost !== '0.0.0.0' ? gatewayHost : '127.0.0.1';
    ready.push(waitUntilReady(`http://${host}:${healthPort}/readyz`, service, readyTimeoutMs));
    metrics.push(`${name.padEnd(width)} http://${host}:${healthPort}/metrics`);
  }
  await Promise.all(ready);
  const shown = gatewayHost === '0.0.0.0' || gatewayHost === '127.0.0.1' ? 'localhost' : gatewayHost;
  log('all services are ready');
  // The fragment (#key=) never reaches a server: the page moves it to the tab's sessionStorage.
  const access = localKey === undefined ? '' : `#key=${localKey.key}`;
  const keyLine = localKey === undefined ? '' : `  API key:     ${localKey.key}  (admin, this run only: "Authorization: Bearer <key>")\n`;
  console.log(`\n  Web console: http://${shown}:${gatewayPort}/${access}\n  API:         http://${shown}:${gatewayPort}/api/workflows\n${keyLine}  Stop:        Ctrl-C\n`);
  console.log(`  Prometheus metrics (health: /healthz, /readyz on the same ports):\n    ${metrics.join('\n    ')}\n`);
}

main().catch((err: unknown) => {
  console.error(say(err instanceof Error ? err.message : String(err)));
  void shutdown('startup failed', 1);
});
