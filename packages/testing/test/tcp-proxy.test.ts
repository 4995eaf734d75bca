import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer, TcpProxy } from '../src/index.js';
import { RawClient, until } from './helpers.js';

describe('TcpProxy', () => {
  let server: NatsServer;
  let proxy: TcpProxy;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    server = await NatsServer.start({ jetstream: false });
  });
  afterAll(async () => {
    await server?.stop();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function startProxy(): Promise<TcpProxy> {
    proxy = await TcpProxy.start({ port: server.port });
    cleanups.push(() => proxy.stop());
    return proxy;
  }

  async function rawThroughProxy(): Promise<RawClient> {
    const client = await RawClient.connect(proxy.port);
    cleanups.push(() => client.close());
    await client.waitFor(/^INFO .*\r\n/);
    client.send('CONNECT {"verbose":false,"pedantic":false}\r\n');
    return client;
  }

  it('forwards NATS traffic both ways', async () => {
    await startProxy();
    expect(proxy.url).toBe(`nats://127.0.0.1:${proxy.port}`);
    const nc: NatsConnection = await connect({ servers: proxy.url });
    cleanups.push(() => nc.close());
    nc.subscribe('echo', {
      callback: (_err, msg) => {
        msg.respond(msg.data);
      },
    });
    const reply = await nc.request('echo', 'hello');
    expect(reply.string()).toBe('hello');
    expect(proxy.connections).toBe(1);
  });

  it('cutAll() drops every connection; the client reconnects through the proxy', async () => {
    await startProxy();
    const raw = await rawThroughProxy();
    const nc = await connect({ servers: proxy.url, reconnectTimeWait: 50 });
    cleanups.push(() => nc.close());
    nc.subscribe('echo', {
      callback: (_err, msg) => {
        msg.respond(msg.data);
      },
    });
    await nc.flush();
    expect(proxy.connections).toBe(2);

    const seen: string[] = [];
    const reconnected = (async () => {
      for await (const status of nc.status()) {
        seen.push(status.type);
        if (status.type === 'reconnect') return;
      }
    })();
    proxy.cutAll();
    await raw.closed;
    expect(raw.isClosed).toBe(true);
    await reconnected;
    expect(seen).toContain('disconnect');
    expect((await nc.request('echo', 'again')).string()).toBe('again');
    expect(proxy.connections).toBe(1);
  });

  it('blackhole() swallows what clients send while the connection stays open', async () => {
    await startProxy();
    const received: string[] = [];
    const direct = await connect({ servers: server.url }); // the responder bypasses the proxy
    cleanups.push(() => direct.close());
    direct.subscribe('echo', {
      callback: (_err, msg) => {
        received.push(msg.string());
        msg.respond(msg.data);
      },
    });
    await direct.flush();
    const nc = await connect({ servers: proxy.url });
    cleanups.push(() => nc.close());
    // The first request also subscribes the client's reply inbox; that must reach the server.
    expect((await nc.request('echo', 'before')).string()).toBe('before');

    proxy.blackhole(true);
    await expect(nc.request('echo', 'lost', { timeout: 300 })).rejects.toThrow(/timeout/i);
    expect(proxy.connections).toBe(1);

    proxy.blackhole(false);
    expect((await nc.request('echo', 'seen')).string()).toBe('seen');
    // One connection, in order: had "lost" been forwarded, the responder would have seen it first.
    expect(received).toEqual(['before', 'seen']);
  });

  it('onServerData() can cut a connection right before a chunk reaches the client', async () => {
    await startProxy();
    const chunks: string[] = [];
    proxy.onServerData((chunk) => {
      chunks.push(chunk.toString());
      return !chunk.includes('PONG');
    });
    const client = await rawThroughProxy();
    client.send('PING\r\n');
    await client.closed;
    expect(client.data).not.toContain('PONG');
    expect(chunks.join('')).toContain('PONG');
    await until(() => proxy.connections === 0, 5_000, 'the proxy to drop the connection');

    proxy.onServerData(undefined);
    const next = await rawThroughProxy();
    next.send('PING\r\n');
    await next.waitFor(/PONG\r\n/);
  });

  it('stop() closes the listener and open connections', async () => {
    await startProxy();
    const client = await rawThroughProxy();
    await proxy.stop();
    await client.closed;
    await expect(RawClient.connect(proxy.port)).rejects.toThrow(/ECONNREFUSED/);
    await proxy.stop();
  });
});
