import { NatsServer } from '@multi-agent/testing';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { ReplyMux } from '../packages/nats-client/src/reply-mux.js';
import { lastMessageOf, publishToStream } from '../packages/nats-client/src/stream-publish.js';
import { headers } from '@nats-io/nats-core';
const server = await NatsServer.start();
const nc = await connect({ servers: server.url, noAsyncTraces: true });
const js = jetstream(nc);
await new Kvm(js).create('B', { history: 1, ttl: 600000 });
const mux = new ReplyMux(nc);
async function windowed(n: number, w: number, f: (i: number) => Promise<unknown>) { let i = 0; await Promise.all(Array.from({ length: w }, async () => { while (i < n) { const k = i++; await f(k); } })); }
const N = 20000;
for (const round of [0, 1]) {
  let t = performance.now();
  await windowed(N, 64, (i) => { const h = headers(); h.set('Nats-Expected-Last-Subject-Sequence', '0'); return publishToStream(mux, `$KV.B.r${round}k${i}`, 'x', h, 5000); });
  console.log('create', round, (N / ((performance.now() - t) / 1000)).toFixed(0), '/s');
  t = performance.now();
  await windowed(N, 64, (i) => lastMessageOf(mux, 'KV_B', `$KV.B.r${round}k${i}`, 5000));
  console.log('get present', round, (N / ((performance.now() - t) / 1000)).toFixed(0), '/s');
  t = performance.now();
  await windowed(N, 64, (i) => lastMessageOf(mux, 'KV_B', `$KV.B.absent${round}k${i}`, 5000));
  console.log('get absent', round, (N / ((performance.now() - t) / 1000)).toFixed(0), '/s');
  t = performance.now();
  await windowed(N, 64, (i) => publishToStream(mux, `$KV.B.p${round}k${i}`, 'x', undefined, 5000));
  console.log('put', round, (N / ((performance.now() - t) / 1000)).toFixed(0), '/s');
}
mux.close(); await nc.close(); await server.stop();
