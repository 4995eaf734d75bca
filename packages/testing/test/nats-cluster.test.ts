import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCluster } from '../src/index.js';
import { readInfo, until } from './helpers.js';

describe('NatsCluster', () => {
  let cluster: NatsCluster;
  let nc: NatsConnection | undefined;

  beforeAll(async () => {
    cluster = await NatsCluster.start();
  });

  afterAll(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  it('forms a 3-node JetStream cluster with a meta leader', async () => {
    expect(cluster.servers.map((s) => s.serverName)).toEqual(['n1', 'n2', 'n3']);
    expect(cluster.urls).toEqual(cluster.servers.map((s) => s.url));
    const info = await readInfo(cluster.servers[0]?.port ?? 0);
    expect(info).toMatchObject({ server_name: 'n1', jetstream: true });
    expect(info.connect_urls).toHaveLength(3); // the node gossips every member's client URL
    const leader = await cluster.leaderOf();
    expect(cluster.servers).toContain(leader);
  });

  it('creates an R3 stream and reports its leader', async () => {
    nc = await connect({ servers: cluster.urls });
    const jsm = await jetstreamManager(nc);
    const created = await jsm.streams.add({ name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
    expect(created.config.num_replicas).toBe(3);
    const info = await until(async () => {
      const i = await jsm.streams.info('R3');
      return i.cluster?.replicas?.length === 2 && i.cluster.leader ? i : undefined;
    }, 10_000, 'the R3 stream to have a leader and 2 replicas');
    const leader = await cluster.leaderOf('R3');
    expect(leader?.serverName).toBe(info.cluster?.leader);
    expect(await cluster.leaderOf('NO_SUCH_STREAM')).toBeUndefined();
  });

  it('elects a new meta leader after the leader is SIGKILLed, and takes the node back after restart', async () => {
    const old = await cluster.leaderOf();
    if (!old) throw new Error('no meta leader');
    await old.kill();
    await cluster.waitForJetStream();
    const next = await cluster.leaderOf();
    expect(next).toBeDefined();
    expect(next).not.toBe(old);

    await old.restart();
    await cluster.waitForJetStream();
    const jsz = (await old.jsz()) as { meta_cluster?: { leader?: string } };
    expect(jsz.meta_cluster?.leader).toBe(next?.serverName);
  });
});
