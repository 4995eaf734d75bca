/**
 * The operations endpoints every service exposes: `/healthz` (the process is alive),
 * `/readyz` (connected to NATS, streams in place, the service started) and `/metrics`
 * (Prometheus text of the bus client and the service). A plain `node:http` server: the
 * services other than the gateway have no other HTTP surface.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NatsClient } from '@multi-agent/nats-client';
import { Registry } from 'prom-client';

/** What `/healthz` and `/readyz` answer. */
export interface HealthBody {
  service: string;
  status: 'ok' | 'starting' | 'degraded' | 'down';
  nats: { connected: boolean; status: string; server?: string; serverVersion?: string };
  subscriptions: number;
}

/** The health of a service built on `client`; `ready` says whether the service itself has started. */
export function healthBody(service: string, client: NatsClient, ready: boolean): HealthBody {
  const health = client.health();
  const status = health.status !== 'ok' ? health.status : ready ? 'ok' : 'starting';
  return {
    service,
    status,
    nats: {
      connected: health.connected,
      status: health.status,
      ...(health.server === undefined ? {} : { server: health.server }),
      ...(health.serverVersion === undefined ? {} : { serverVersion: health.serverVersion }),
    },
    subscriptions: health.subscriptions.length,
  };
}

/** The Prometheus text of several registries (the client's and the service's own). */
export async function metricsText(registries: Registry[]): Promise<{ contentType: string; body: string }> {
  // Each registry's own text: merging them into a new registry would drop their default
  // labels, and with them the `service` label dashboards and alerts group by.
  const texts = await Promise.all(registries.map((registry) => registry.metrics()));
  return { contentType: Registry.PROMETHEUS_CONTENT_TYPE, body: texts.join('\n') };
}

/** Options of {@link startOpsServer}. */
export interface OpsServerOptions {
  service: string;
  client: NatsClient;
  port: number;
  host?: string;
  /** Whether the service has finished starting. */
  ready: () => boolean;
  /** Registries to expose besides the client's. */
  registries?: Registry[];
}

/** A running ops server. */
export interface OpsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the ops HTTP server (port 0 picks a free port). */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (path === '/healthz') {
      json(200, { ...healthBody(options.service, options.client, options.ready()), status: 'ok' });
    } else if (path === '/readyz') {
      const body = healthBody(options.service, options.client, options.ready());
      json(body.status === 'ok' ? 200 : 503, body);
    } else if (path === '/metrics') {
      metricsText([options.client.metrics.registry, ...(options.registries ?? [])]).then(
        ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
        (err: unknown) => json(500, { error: String(err) }),
      );
    } else {
      json(404, { error: `no route ${path}` });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
