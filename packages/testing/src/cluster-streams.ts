import type { NatsCluster } from './nats-cluster.js';
import type { NatsServer } from './nats-server.js';
import { sleep } from './wait.js';

/** The parts of `/jsz?streams=true&consumers=true` read here. */
interface RaftGroupView {
  leader?: string;
  replicas?: { name?: string; current?: boolean; offline?: boolean; lag?: number }[];
}
interface JszDetail {
  account_details?: {
    stream_detail?: { name?: string; cluster?: RaftGroupView; consumer_detail?: { name?: string; cluster?: RaftGroupView }[] }[];
  }[];
}

/** Who holds a replicated stream (or one of its consumers), as its leader sees it. */
export interface ReplicaView {
  /** The leader node. */
  leader: NatsServer;
  /** The other nodes of the group, with whether the leader sees them as current. */
  followers: { server: NatsServer | undefined; name: string; current: boolean; lag: number }[];
}

const POLL_MS = 100;

function running(cluster: NatsCluster): NatsServer[] {
  return cluster.servers.filter((s) => s.running && !s.paused);
}

async function detailOf(node: NatsServer, stream: string): Promise<NonNullable<NonNullable<JszDetail['account_details']>[number]['stream_detail']>[number] | undefined> {
  const jsz = (await node.jsz()) as JszDetail;
  return jsz.account_details?.flatMap((a) => a.stream_detail ?? []).find((d) => d.name === stream);
}

function toView(cluster: NatsCluster, group: RaftGroupView | undefined, leader: NatsServer): ReplicaView {
  return {
    leader,
    followers: (group?.replicas ?? []).map((r) => ({
      server: cluster.servers.find((s) => s.serverName === r.name),
      name: r.name ?? '',
      current: r.current === true && r.offline !== true,
      lag: r.lag ?? 0,
    })),
  };
}

/**
 * The leader and followers of `stream` (or, with `consumer`, of that consumer of it), as the
 * leader itself reports them; `undefined` while there is no running leader.
 */
export async function replicasOf(cluster: NatsCluster, stream: string, consumer?: string): Promise<ReplicaView | undefined> {
  for (const node of running(cluster)) {
    let detail;
    try {
      detail = await detailOf(node, stream);
    } catch {
      continue;
    }
    const group = consumer === undefined ? detail?.cluster : detail?.consumer_detail?.find((c) => c.name === consumer)?.cluster;
    if (group?.leader !== node.serverName) continue;
    return toView(cluster, group, node);
  }
  return undefined;
}

/**
 * Waits until `stream` has a running leader that is not one of `exclude` (e.g. the node you just
 * killed or paused), and returns it.
 */
export async function waitForStreamLeader(
  cluster: NatsCluster,
  stream: string,
  options: { exclude?: NatsServer[]; timeoutMs?: number } = {},
): Promise<NatsServer> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const view = await replicasOf(cluster, stream);
    if (view !== undefined && !(options.exclude ?? []).includes(view.leader)) return view.leader;
    if (Date.now() > deadline) throw new Error(`stream ${stream} has no new leader after ${options.timeoutMs ?? 30_000} ms`);
    await sleep(POLL_MS);
  }
}

/**
 * Waits until `stream` and every one of its consumers have a running leader that sees every
 * running follower as current, i.e. a node that came back has caught up. Run it between two
 * faults so the second does not hit a group that is still recovering from the first.
 */
export async function waitForStreamCurrent(cluster: NatsCluster, stream: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let reason = 'no leader yet';
  for (;;) {
    reason = (await notCurrent(cluster, stream)) ?? '';
    if (reason === '') return;
    if (Date.now() > deadline) throw new Error(`stream ${stream} is not current after ${timeoutMs} ms: ${reason}`);
    await sleep(POLL_MS);
  }
}

async function notCurrent(cluster: NatsCluster, stream: string): Promise<string | undefined> {
  const streamView = await replicasOf(cluster, stream);
  if (streamView === undefined) return `stream ${stream} has no running leader`;
  const groups: { label: string; view: ReplicaView | undefined }[] = [{ label: `stream ${stream}`, view: streamView }];
  const detail = await detailOf(streamView.leader, stream).catch(() => undefined);
  for (const c of detail?.consumer_detail ?? []) {
    if (c.name === undefined) continue;
    groups.push({ label: `consumer ${c.name}`, view: await replicasOf(cluster, stream, c.name) });
  }
  for (const { label, view } of groups) {
    if (view === undefined) return `${label} has no running leader`;
    const behind = view.followers.filter((f) => f.server !== undefined && f.server.running && !f.server.paused && !f.current);
    if (behind.length > 0) return `${label}: ${behind.map((f) => f.name).join(', ')} not current`;
  }
  return undefined;
}
