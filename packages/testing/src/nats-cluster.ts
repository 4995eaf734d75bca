import { randomBytes } from 'node:crypto';
import { freePort } from './free-port.js';
import { httpGet, httpGetJson } from './http.js';
import { NatsServer, PortInUseError } from './nats-server.js';
import { sleep } from './wait.js';

/** Options of {@link NatsCluster.start}. */
export interface NatsClusterOptions {
  /** Number of nodes. Default 3. */
  size?: number;
  /** Enable JetStream on every node (separate store dirs). Default `true`. */
  jetstream?: boolean;
  /** Echo every node's log lines to stderr, prefixed with its name. Default `false`. */
  debug?: boolean;
  /** `max_payload` of every node, in bytes. */
  maxPayload?: number;
}

/** The parts of `/jsz` this module reads. */
interface Jsz {
  meta_cluster?: {
    leader?: string;
    replicas?: { name?: string; current?: boolean }[];
  };
  account_details?: {
    stream_detail?: { name?: string; cluster?: { leader?: string } }[];
  }[];
}

const DEFAULT_WAIT_MS = 20_000;
const POLL_MS = 50;
const START_ATTEMPTS = 3;

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

/**
 * A cluster of real `nats-server` processes on loopback: nodes named `n1`..`nN`, each routing to
 * all the others, JetStream on (each node with its own temp store) unless disabled. The cluster
 * name is random, so clusters of parallel tests never join each other.
 *
 * Each node is a {@link NatsServer}: kill, pause, restart them one by one for fault tests, then
 * {@link NatsCluster.waitForJetStream} before asserting.
 */
export class NatsCluster {
  /** The nodes, `n1` first. */
  readonly servers: NatsServer[];
  /** The cluster name shared by all nodes. */
  readonly name: string;

  private constructor(name: string, servers: NatsServer[]) {
    this.name = name;
    this.servers = servers;
  }

  /**
   * Starts all nodes in parallel and resolves when the cluster is usable: with JetStream, when
   * {@link NatsCluster.waitForJetStream} succeeds; without, when every node has its routes.
   * Retries with fresh route ports if one was taken meanwhile.
   */
  static async start(options: NatsClusterOptions = {}): Promise<NatsCluster> {
    const size = options.size ?? 3;
    if (!Number.isInteger(size) || size < 1) throw new Error(`NatsCluster size must be a positive integer, got ${size}`);
    const name = `test-${randomBytes(4).toString('hex')}`;
    for (let attempt = 1; ; attempt++) {
      const routePorts = await distinctFreePorts(size);
      const routes = routePorts.map((port) => `nats-route://127.0.0.1:${port}`);
      const results = await Promise.allSettled(
        routePorts.map((port, i) =>
          NatsServer.start({
            serverName: `n${i + 1}`,
            jetstream: options.jetstream ?? true,
            debug: options.debug ?? false,
            ...(options.maxPayload !== undefined ? { maxPayload: options.maxPayload } : {}),
            cluster: { name, port, routes: routes.filter((_, j) => j !== i) },
          }),
        ),
      );
      const servers = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) {
        await Promise.all(servers.map((s) => s.stop()));
        if (failure.reason instanceof PortInUseError && attempt < START_ATTEMPTS) continue;
        throw failure.reason;
      }
      const cluster = new NatsCluster(name, servers);
      try {
        if (options.jetstream === false) await cluster.waitForRoutes(DEFAULT_WAIT_MS);
        else await cluster.waitForJetStream();
      } catch (err) {
        await cluster.stop();
        throw err;
      }
      return cluster;
    }
  }

  /** Client URLs of all nodes (running or not), in node order. */
  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  /**
   * Resolves when the JetStream meta group has a leader that every running node agrees on, the
   * leader sees every other running node as a current peer, and every running node's `/healthz`
   * answers 200. Paused nodes are skipped. Rejects with the last reason after `timeoutMs`
   * (default 20 s).
   */
  async waitForJetStream(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    await this.poll(timeoutMs, 'JetStream meta group is not ready', () => this.jetStreamNotReady());
  }

  /**
   * The node that is the JetStream meta leader, or, given a stream name, the node that leads that
   * stream, as reported by `/jsz` of the responsive nodes. `undefined` when there is no leader
   * right now or the reported leader is not running (a stale view right after a kill).
   */
  async leaderOf(stream?: string): Promise<NatsServer | undefined> {
    for (const node of this.responsive()) {
      let jsz: Jsz;
      try {
        jsz = (await node.jsz()) as Jsz;
      } catch {
        continue;
      }
      const leaderName =
        stream === undefined
          ? jsz.meta_cluster?.leader
          : jsz.account_details
              ?.flatMap((a) => a.stream_detail ?? [])
              .find((d) => d.name === stream)?.cluster?.leader;
      const leader = this.responsive().find((s) => leaderName !== undefined && s.serverName === leaderName);
      if (leader) return leader;
    }
    return undefined;
  }

  /** Stops every node (see {@link NatsServer.stop}). Idempotent. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }

  private responsive(): NatsServer[] {
    return this.servers.filter((s) => s.running && !s.paused);
  }

  private async poll(timeoutMs: number, what: string, notReady: () => Promise<string | undefined>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let reason: string | undefined;
      try {
        reason = await notReady();
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
      }
      if (reason === undefined) return;
      if (Date.now() > deadline) throw new Error(`${what} after ${timeoutMs} ms: ${reason}`);
      await sleep(POLL_MS);
    }
  }

  /** Why JetStream is not ready yet, or `undefined` when it is. */
  private async jetStreamNotReady(): Promise<string | undefined> {
    const nodes = this.responsive();
    if (nodes.length === 0) return 'no node is running';
    const views = await Promise.all(
      nodes.map(async (node) => {
        const health = await httpGet(node.monitorPort, '/healthz', 1_000);
        const jsz = (await httpGetJson(node.monitorPort, '/jsz', 1_000)) as Jsz;
        return { node, healthy: health.status === 200, health: health.body, jsz };
      }),
    );
    for (const view of views) {
      if (!view.healthy) return `${view.node.serverName} /healthz: ${view.health.trim()}`;
    }
    const leaders = new Set(views.map((v) => v.jsz.meta_cluster?.leader ?? ''));
    const [leaderName] = leaders;
    if (leaders.size !== 1 || !leaderName) return `nodes disagree on the meta leader: ${[...leaders].join(', ') || 'none'}`;
    const leaderView = views.find((v) => v.node.serverName === leaderName);
    if (!leaderView) return `meta leader ${leaderName} is not a running node`;
    const current = new Set(
      (leaderView.jsz.meta_cluster?.replicas ?? []).filter((r) => r.current === true).map((r) => r.name),
    );
    const behind = nodes.filter((n) => n !== leaderView.node && !current.has(n.serverName));
    if (behind.length > 0) return `meta leader ${leaderName} does not see ${behind.map((n) => n.serverName).join(', ')} as current`;
    return undefined;
  }

  private async waitForRoutes(timeoutMs: number): Promise<void> {
    await this.poll(timeoutMs, 'cluster routes are not up', async () => {
      for (const node of this.responsive()) {
        const routez = (await httpGetJson(node.monitorPort, '/routez', 1_000)) as { num_routes?: number };
        if ((routez.num_routes ?? 0) < this.servers.length - 1) {
          return `${node.serverName} has ${routez.num_routes ?? 0} of ${this.servers.length - 1} routes`;
        }
      }
      return undefined;
    });
  }
}
