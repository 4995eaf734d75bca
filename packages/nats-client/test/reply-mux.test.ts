/**
 * The reply mux against a real server: replies reach the request that asked, and every way a
 * request can fail (nobody listening, no answer in time, a publish the server forbids, the mux
 * closed) rejects with the nats.js error class `nc.request` would use, never a hang.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errors } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { NatsServer } from '@multi-agent/testing';
import { ReplyMux } from '../src/reply-mux.js';
import { uniqueToken } from './support.js';

let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  server = await NatsServer.start({
    jetstream: false,
    extraConfig: `authorization {
  users: [
    { user: app, password: app-secret, permissions: { publish: { allow: ["work.>", "_INBOX.>"] }, subscribe: { allow: ["work.>", "_INBOX.>"] } } }
  ]
}`,
  });
  nc = await connect({ servers: server.url, user: 'app', pass: 'app-secret' });
});

afterAll(async () => {
  await nc.close();
  await server.stop();
});

const text = (data: Uint8Array): string => new TextDecoder().decode(data);

describe('ReplyMux', () => {
  it('hands each reply to the request that asked, many in flight', async () => {
    const subject = `work.${uniqueToken()}`;
    nc.subscribe(subject, { callback: (_err, msg) => void msg.respond(`echo ${text(msg.data)}`) });
    await nc.flush();
    const mux = new ReplyMux(nc);
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => mux.request(subject, String(i), 5000)));
    expect(replies.map((r) => text(r.data))).toEqual(Array.from({ length: 200 }, (_, i) => `echo ${i}`));
    mux.close();
  });

  it('fails with NoRespondersError when nobody listens, and TimeoutError when nobody answers', async () => {
    const mux = new ReplyMux(nc);
    await expect(mux.request(`work.${uniqueToken()}`, '', 5000)).rejects.toBeInstanceOf(errors.NoRespondersError);
    const silent = `work.${uniqueToken()}`;
    nc.subscribe(silent, { callback: () => undefined });
    await nc.flush();
    await expect(mux.request(silent, '', 200)).rejects.toBeInstanceOf(errors.TimeoutError);
    mux.close();
  });

  it('fails a publish the server forbids with PermissionViolationError, well before its timeout', async () => {
    const mux = new ReplyMux(nc);
    const err = await mux.request(`forbidden.${uniqueToken()}`, '', 60_000).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(errors.PermissionViolationError);
    expect(err).toMatchObject({ operation: 'publish' });
    mux.close();
  });

  it('fails the requests still waiting when it is closed', async () => {
    const silent = `work.${uniqueToken()}`;
    nc.subscribe(silent, { callback: () => undefined });
    await nc.flush();
    const mux = new ReplyMux(nc);
    const waiting = mux.request(silent, '', 60_000);
    mux.close();
    await expect(waiting).rejects.toBeInstanceOf(errors.RequestError);
  });
});
