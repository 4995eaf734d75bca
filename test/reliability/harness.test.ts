/**
 * The harness pieces the reliability suite added to @multi-agent/testing (NatsProxy,
 * ServiceProcess, readStream/auditStream), checked on their own so a failing scenario points at
 * the bus, not at the harness.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/nats-core';
import { NatsProxy, NatsServer, ServiceProcess, auditStream, readStream } from '@multi-agent/testing';
import type { NatsOp } from '@multi-agent/testing';
import { uniqueToken } from './support/env.js';

const support = fileURLToPath(new URL('./support/', import.meta.url));
let server: NatsServer;

beforeAll(async () => {
  server = await NatsServer.start();
});

afterAll(async () => {
  await server?.stop();
});

describe('harness', () => {
  it('NatsProxy frames whole operations in both directions, even large payloads split across TCP chunks', async () => {
    const proxy = await NatsProxy.start({ port: server.port });
    const seen: NatsOp[] = [];
    proxy.onClientOp((op) => void seen.push(op));
    proxy.onServerOp((op) => void seen.push(op));
    const nc = await connect({ servers: proxy.url });
    try {
      const subject = `harness.${uniqueToken()}`;
      const sub = nc.subscribe(subject, { max: 3 });
      const big = 'x\r\nPUB fake 1\r\n'.repeat(20_000);
      const h = headers();
      h.set('k', 'v');
      nc.publish(subject, 'small', { reply: 'reply.to' });
      nc.publish(subject, big);
      nc.publish(subject, 'with headers', { headers: h });
      const got: string[] = [];
      for await (const m of sub) got.push(m.string());
      expect(got).toEqual(['small', big, 'with headers']);
      const pubs = seen.filter((o) => (o.op === 'PUB' || o.op === 'HPUB') && o.subject === subject);
      expect(pubs.map((o) => [o.op, o.reply, o.payload?.length])).toEqual([
        ['PUB', 'reply.to', 5],
        ['PUB', undefined, big.length],
        ['HPUB', undefined, 12],
      ]);
      expect(pubs[2]!.headers).toContain('k: v');
      const msgs = seen.filter((o) => (o.op === 'MSG' || o.op === 'HMSG') && o.subject === subject);
      expect(msgs.map((o) => [o.op, o.reply, o.payload?.toString().length])).toEqual([
        ['MSG', 'reply.to', 5],
        ['MSG', undefined, big.length],
        ['HMSG', undefined, 12],
      ]);
    } finally {
      await nc.close();
      await proxy.stop();
    }
  });

  it('NatsProxy drops an operation or cuts the connection on the hook\'s verdict', async () => {
    const proxy = await NatsProxy.start({ port: server.port });
    const nc = await connect({ servers: proxy.url, reconnectTimeWait: 50 });
    try {
      const subject = `harness.${uniqueToken()}`;
      const sub = nc.subscribe(subject, { max: 2 });
      await nc.flush();
      proxy.onClientOp((op) => (op.op === 'PUB' && op.payload?.toString() === 'drop me' ? 'drop' : 'pass'));
      nc.publish(subject, 'drop me');
      nc.publish(subject, 'keep me');
      let cuts = 0;
      proxy.onServerOp((op) => {
        if (op.op === 'MSG' && op.payload?.toString() === 'cut here') {
          cuts += 1;
          return 'cut';
        }
        return 'pass';
      });
      nc.publish(subject, 'cut here');
      const got: string[] = [];
      const status = (async () => {
        for await (const s of nc.status()) if (s.type === 'reconnect') return s.type;
        return 'closed';
      })();
      expect(await status).toBe('reconnect');
      proxy.onServerOp(undefined);
      nc.publish(subject, 'after');
      for await (const m of sub) got.push(m.string());
      expect(got).toEqual(['keep me', 'after']);
      expect(cuts).toBe(1);
    } finally {
      await nc.close();
      await proxy.stop();
    }
  });

  it('ServiceProcess waits for a line, reports an exit without it, and SIGKILLs', async () => {
    const script = join(support, 'token-producer.ts');
    // Without a server to talk to, the producer fails before printing READY.
    await expect(
      ServiceProcess.start(script, { execArgv: ['--import', 'tsx'], env: { NATS_URL: 'nats://127.0.0.1:1', NATS_CONNECT_TIMEOUT_MS: '200', NATS_MAX_RECONNECT_ATTEMPTS: '0' }, readyLine: 'READY' }),
    ).rejects.toThrow(/exited .* without printing/);
    const producer = await ServiceProcess.start(script, {
      execArgv: ['--import', 'tsx'],
      env: { NATS_URL: server.url, PRODUCER_EXECUTION_ID: uniqueToken('exec') },
      readyLine: /^READY$/,
    });
    expect(await producer.waitForLine(/^TOKEN 3$/, 10_000)).toBe('TOKEN 3');
    expect(await producer.kill()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(producer.running).toBe(false);
  });

  it('readStream reads everything in order (and nothing for an empty filter); auditStream counts copies per Nats-Msg-Id', async () => {
    const nc = await connect({ servers: server.url });
    try {
      const name = `H${uniqueToken()}`;
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name, subjects: [`${name}.>`], duplicate_window: 1e9 });
      const js = jetstream(nc);
      expect(await readStream(js, name, { filterSubject: `${name}.none` })).toEqual([]);
      for (let i = 0; i < 250; i++) await js.publish(`${name}.a`, JSON.stringify({ i }), { msgID: `id-${i % 200}` });
      // Outside the 1 s duplicate window the same id is stored again.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await js.publish(`${name}.b`, '{}', { msgID: 'id-0' });
      await js.publish(`${name}.b`, '{}');
      const audit = await auditStream(js, name);
      expect(audit.count).toBe(202);
      expect(audit.messages.map((m) => m.seq)).toEqual(Array.from({ length: 202 }, (_, i) => i + 1));
      expect(audit.duplicates).toEqual(new Map([['id-0', [1, 201]]]));
      expect(audit.withoutId).toBe(1);
      expect(audit.missing(['id-1', 'id-999'])).toEqual(['id-999']);
      expect(audit.messages[5]!.json()).toEqual({ i: 5 });
    } finally {
      await nc.close();
    }
  });
});
