/**
 * Failures are classified by their stable codes, never by message text or `instanceof` on our
 * own classes: an error from another copy of a package still classifies, a message that merely
 * mentions "timeout" does not, and a KV outage is an error rather than a busy twin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/nats-core';
import { NatsServer } from '@multi-agent/testing';
import { deadLetterReason, isNonRetryable } from '../src/retry.js';
import { isTransientApiError } from '../src/jetstream-api.js';
import { KvIdempotencyStore, PayloadTooLargeError } from '../src/index.js';
import { connectClient } from './support.js';

/** An error as a second copy of a package would throw it: same code, another class. */
function foreign(code: string): Error {
  return Object.assign(new Error('from another copy'), { code });
}

function apiError(status: number, errCode: number): JetStreamApiError {
  return new JetStreamApiError({ code: status, err_code: errCode, description: 'test' });
}

describe('retry classification by code', () => {
  it('dead-letters deterministic failures at once, whichever package copy threw them', () => {
    for (const code of ['NON_RETRYABLE', 'VALIDATION', 'DECODE', 'ENCODE', 'SUBJECT_TOKEN', 'PAYLOAD_TOO_LARGE']) {
      expect(isNonRetryable(foreign(code)), code).toBe(true);
    }
    expect(isNonRetryable(new PayloadTooLargeError(2, 1, 'a.b'))).toBe(true);
    expect(isNonRetryable(foreign('REQUEST_TIMEOUT'))).toBe(false);
    expect(isNonRetryable(new Error('validation failed'))).toBe(false);
  });

  it('names the DLQ reason from the code', () => {
    expect(deadLetterReason(foreign('VALIDATION'))).toBe('validation');
    expect(deadLetterReason(foreign('DECODE'))).toBe('decode');
    expect(deadLetterReason(foreign('HANDLER_TIMEOUT'))).toBe('handler-timeout');
    expect(deadLetterReason(foreign('PAYLOAD_TOO_LARGE'))).toBe('non-retryable');
    expect(deadLetterReason(new Error('boom'))).toBe('handler-error');
  });
});

describe('JetStream API errors worth another attempt', () => {
  it('retries timeouts, no responders, 503s and creation races; not a missing stream or a message that only says so', () => {
    expect(isTransientApiError(new errors.TimeoutError())).toBe(true);
    expect(isTransientApiError(new errors.RequestError('x', { cause: new errors.NoRespondersError('s') }))).toBe(true);
    expect(isTransientApiError(apiError(503, 10008))).toBe(true);
    expect(isTransientApiError(apiError(400, 10058))).toBe(true);
    expect(isTransientApiError(apiError(404, 10059))).toBe(false);
    expect(isTransientApiError(new Error('timeout while leader not available (503)'))).toBe(false);
  });
});

describe('KV idempotency store', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('answers busy only for a lost compare-and-set; an outage is an error', async () => {
    const client = await connectClient(server.url, undefined, { publishTimeoutMs: 1000 });
    const store = await KvIdempotencyStore.open(client.natsConnection, { ttlMs: 60_000, requestTimeoutMs: 1000 });
    const first = await store.claim('c:e1', 30_000);
    if (first.status !== 'claimed') throw new Error(`expected a claim, got ${first.status}`);
    expect((await store.claim('c:e1', 30_000)).status).toBe('busy');
    const stale = { ...first.lease, revision: (first.lease.revision ?? 0) + 100 };
    expect(await store.extend(stale, 30_000)).toBe(false);
    await server.stop();
    // Not "lease lost": nobody answered, so the caller must not act as if a twin had it.
    await expect(store.extend(first.lease, 30_000)).rejects.toThrow();
    await expect(store.claim('c:e2', 30_000)).rejects.toThrow();
    await client.close();
    server = await NatsServer.start();
  });
});
