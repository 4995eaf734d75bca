/**
 * TLS and mutual TLS against a real nats-server that requires a client certificate signed by
 * its CA (`tls { verify: true }`): the client with the CA and its certificate connects over TLS
 * and moves an event through JetStream; without a certificate, with a certificate from another
 * CA, or trusting the wrong CA, it is refused with `TLS_FAILED` within the connect timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { makePki, NatsServer, type Pki } from '@multi-agent/testing';
import { ClientErrorCodes, errorCode, loadNatsConfig, NatsClient } from '../src/index.js';
import type { NatsConfigInput } from '../src/index.js';
import { roundTrip, testLogger, uniqueToken } from './support.js';

const CONNECT_TIMEOUT_MS = 2000;

let pki: Pki;
let server: NatsServer;

beforeAll(async () => {
  pki = await makePki();
  server = await NatsServer.start({
    tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile, verify: true },
  });
});

afterAll(async () => {
  await server.stop();
  await rm(pki.dir, { recursive: true, force: true });
});

interface Connz {
  connections: { name?: string; tls_version?: string }[];
}

/** The connect outcome of a client with `tls`: the error (or undefined) and how long it took. */
async function tryConnect(tls: NatsConfigInput['tls']): Promise<{ error: unknown; ms: number }> {
  const client = new NatsClient({ servers: [server.url], connectTimeoutMs: CONNECT_TIMEOUT_MS, ...(tls ? { tls } : {}) }, 'tls-refused', { logger: testLogger });
  const started = Date.now();
  const error = await client.connect().then(() => undefined, (err: unknown) => err);
  const ms = Date.now() - started;
  await client.close();
  return { error, ms };
}

function expectTlsRefusal(outcome: { error: unknown; ms: number }): void {
  expect(errorCode(outcome.error), String(outcome.error)).toBe(ClientErrorCodes.TLS_FAILED);
  // The connect timeout, plus at most one more for the handshake probe that names the cause.
  expect(outcome.ms).toBeLessThan(2 * CONNECT_TIMEOUT_MS + 1000);
}

describe('mutual TLS', () => {
  it('connects with the CA and a client certificate from the environment, over TLS, and round-trips an event', async () => {
    const config = loadNatsConfig({
      NATS_URL: server.url,
      NATS_TLS_CA: pki.caFile,
      NATS_TLS_CERT: pki.clientCertFile,
      NATS_TLS_KEY: pki.clientKeyFile,
    });
    const name = `mtls-${uniqueToken()}`;
    const client = new NatsClient({ ...config, retryBackoffMs: [50] }, name, { logger: testLogger });
    await client.connect();
    try {
      const { sent, received } = await roundTrip(client, { over: 'tls' });
      expect(received).toMatchObject({ eventId: sent.eventId, data: { over: 'tls' } });

      const connz = (await server.connz()) as Connz;
      const ours = connz.connections.filter((c) => c.name === name);
      expect(ours.length).toBeGreaterThan(0);
      for (const connection of ours) expect(connection.tls_version).toMatch(/^1\.[23]$/);
    } finally {
      await client.close();
    }
  });

  it('is refused without a client certificate', async () => {
    expectTlsRefusal(await tryConnect({ caFile: pki.caFile }));
  });

  it('is refused with a client certificate the server does not trust', async () => {
    const other = await makePki();
    try {
      expectTlsRefusal(await tryConnect({ caFile: pki.caFile, certFile: other.clientCertFile, keyFile: other.clientKeyFile }));
    } finally {
      await rm(other.dir, { recursive: true, force: true });
    }
  });

  it('refuses a server whose certificate the configured CA did not sign', async () => {
    const outcome = await tryConnect({ caFile: pki.otherCaFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile });
    expectTlsRefusal(outcome);
    expect((outcome.error as Error).message).toContain('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('refuses the server when no CA is configured (the system CAs do not know it)', async () => {
    expectTlsRefusal(await tryConnect(undefined));
  });
});
