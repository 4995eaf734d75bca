/**
 * Who may call the gateway: bearer API keys and JWTs (verified against a JWKS this test serves),
 * executions scoped to the user who started them, admin-only operator routes, JSON-only state
 * changes, a rate limit and a cap on open token streams per caller, and the security headers.
 */
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import { ApiKeyConfigError, createApiKey, parseApiKeys } from '@multi-agent/gateway-service';
import { freePort, NatsServer } from '@multi-agent/testing';
import { startInProcess } from './support/in-process.js';
import type { InProcessPlatform } from './support/in-process.js';
import { eventsOfType, executionEvents, waitFor } from './support/platform.js';

const ISSUER = 'https://id.test.example';
const AUDIENCE = 'multi-agent-gateway';
const alice = createApiKey('alice', 'user');
const bob = createApiKey('bob', 'user');
const root = createApiKey('root', 'admin');

let server: NatsServer;
let platform: InProcessPlatform;
let limited: InProcessPlatform;
let jwks: Server;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;

beforeAll(async () => {
  server = await NatsServer.start();
  const kid = 'test-key-1';
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' };
  jwks = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  platform = await startInProcess(server.url, {
    services: ['gateway'],
    gateway: {
      auth: { apiKeys: parseApiKeys([alice.entry, bob.entry, root.entry].join(',')), jwt: { jwksUrl, issuer: ISSUER, audience: AUDIENCE } },
      maxStreamsPerIdentity: 2,
    },
  });
  // Its identity provider does not answer.
  const unreachable = { jwksUrl: `http://127.0.0.1:${await freePort()}/jwks.json`, issuer: ISSUER, audience: AUDIENCE };
  limited = await startInProcess(server.url, {
    services: ['gateway'],
    gateway: { auth: { apiKeys: parseApiKeys([alice.entry, bob.entry].join(',')), jwt: unreachable }, rateLimitMax: 3, rateLimitWindowMs: 60_000 },
  });
});

afterAll(async () => {
  await limited?.stop();
  await platform?.stop();
  jwks?.close();
  await server?.stop();
});

type Body = Record<string, unknown>;

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

async function call(
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  options: { contentType?: string; base?: string } = {},
): Promise<{ status: number; body: Body; headers: Headers }> {
  const headers: Record<string, string> = { ...(token === undefined ? {} : bearer(token)) };
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const response = await fetch(`${options.base ?? platform.gatewayUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Body, headers: response.headers };
}

async function startAs(token: string): Promise<string> {
  const { status, body } = await call(token, 'POST', '/api/workflows/split-bill/executions', { input: {} });
  expect(status).toBe(202);
  return body.executionId as string;
}

function jwt(claims: { sub?: string; roles?: string[] }, options: { issuer?: string; audience?: string; expiresAt?: number; key?: CryptoKey } = {}): Promise<string> {
  const token = new SignJWT(claims.roles === undefined ? {} : { roles: claims.roles })
    .setProtectedHeader({ alg: 'ES256', kid: 'test-key-1' })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? '5m');
  if (claims.sub !== undefined) token.setSubject(claims.sub);
  return token.sign(options.key ?? signingKey);
}

/** Opens a token stream and keeps it open; `close` drops it as a browser would. */
async function openStream(token: string, executionId: string): Promise<{ status: number; body: Body | undefined; close: () => void }> {
  const abort = new AbortController();
  const response = await fetch(`${platform.gatewayUrl}/api/executions/${executionId}/tokens`, { headers: bearer(token), signal: abort.signal });
  if (response.status !== 200) return { status: response.status, body: (await response.json()) as Body, close: () => abort.abort() };
  // The first bytes: the stream is open and counted.
  await response.body!.getReader().read();
  return { status: 200, body: undefined, close: () => abort.abort() };
}

describe('API keys', () => {
  it('are high-entropy, configured by their SHA-256 only, and a malformed entry is refused without echoing it', () => {
    const { key, entry } = createApiKey('ci-bot', 'user');
    expect(key).toMatch(/^mak_[A-Za-z0-9_-]{43}$/);
    expect(entry).toBe(`ci-bot:user:${createHash('sha256').update(key).digest('hex')}`);
    expect(entry).not.toContain(key);
    expect(parseApiKeys(`# the team\n${entry}\n\n${root.entry}  # ops`)).toEqual([
      { name: 'ci-bot', role: 'user', sha256: entry.split(':')[2] },
      { name: 'root', role: 'admin', sha256: root.entry.split(':')[2] },
    ]);
    const hash = 'a'.repeat(64);
    for (const bad of [`x:superuser:${hash}`, 'x:user:abc', `x y:user:${hash}`, `x:user:${hash}:extra`, `x:user:${hash},x:admin:${hash}`]) {
      let error: unknown;
      try {
        parseApiKeys(bad);
      } catch (err) {
        error = err;
      }
      expect(error, bad).toBeInstanceOf(ApiKeyConfigError);
      expect((error as ApiKeyConfigError).code).toBe('INVALID_API_KEY_ENTRY');
      expect((error as Error).message).not.toContain(hash);
    }
  });
});

describe('authentication', () => {
  it('refuses a request without a token or with a bad one: 401 with a typed error and a Bearer challenge', async () => {
    const none = await call(undefined, 'GET', '/api/workflows');
    expect(none).toMatchObject({ status: 401, body: { error: 'UNAUTHENTICATED' } });
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="multi-agent"');
    expect(await call(`mak_${'x'.repeat(43)}`, 'GET', '/api/workflows')).toMatchObject({ status: 401, body: { error: 'INVALID_TOKEN', reason: 'UNKNOWN_API_KEY' } });
    // A key's hash is not a key.
    expect((await call(alice.entry.split(':')[2], 'GET', '/api/workflows')).status).toBe(401);
    const basic = await fetch(`${platform.gatewayUrl}/api/workflows`, { headers: { authorization: 'Basic YWxpY2U6eA==' } });
    expect(basic.status).toBe(401);
    // Nothing is started without a token.
    expect((await call(undefined, 'POST', '/api/workflows/split-bill/executions', { input: {} })).status).toBe(401);
    expect((await call(alice.key, 'GET', '/api/workflows')).status).toBe(200);
  });

  it('leaves the probes, the metrics and the console page open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/', '/app.js']) {
      expect((await fetch(`${platform.gatewayUrl}${path}`)).status, path).toBe(200);
    }
  });

  it('accepts a JWT from the configured provider, its subject as the user and its roles claim as the role', async () => {
    const user = await jwt({ sub: 'dana' });
    const executionId = await startAs(user);
    expect((await call(user, 'GET', `/api/executions/${executionId}`)).body).toMatchObject({ userId: 'dana' });
    expect((await call(user, 'GET', '/api/streams')).status).toBe(403);
    expect((await call(await jwt({ sub: 'erin', roles: ['admin'] }), 'GET', '/api/streams')).status).toBe(200);
    // An admin JWT reads dana's execution; a user JWT of someone else does not.
    expect((await call(await jwt({ sub: 'erin', roles: ['admin'] }), 'GET', `/api/executions/${executionId}`)).status).toBe(200);
    expect((await call(await jwt({ sub: 'frank' }), 'GET', `/api/executions/${executionId}`)).status).toBe(404);
  });

  it('refuses an expired JWT, a wrong issuer or audience, an unknown signing key and one without a subject', async () => {
    const refused = async (token: string, reason: string): Promise<void> => {
      expect(await call(token, 'GET', '/api/workflows')).toMatchObject({ status: 401, body: { error: 'INVALID_TOKEN', reason } });
    };
    await refused(await jwt({ sub: 'dana' }, { expiresAt: Math.floor(Date.now() / 1000) - 60 }), 'ERR_JWT_EXPIRED');
    await refused(await jwt({ sub: 'dana' }, { issuer: 'https://elsewhere.example' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    await refused(await jwt({ sub: 'dana' }, { audience: 'another-api' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    await refused(await jwt({ sub: 'dana' }, { key: strangerKey }), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    await refused(await jwt({}), 'NO_SUBJECT');
    // A token "signed" with a shared secret (or none) is never accepted, whatever its key id.
    const hmac = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'test-key-1' }).setSubject('dana').setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(32)));
    await refused(hmac, 'ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('answers 503 AUTH_UNAVAILABLE, not a refused token, when the identity provider\'s keys cannot be read', async () => {
    const answer = await call(await jwt({ sub: 'dana' }), 'GET', '/api/workflows', undefined, { base: limited.gatewayUrl });
    expect(answer).toMatchObject({ status: 503, body: { error: 'AUTH_UNAVAILABLE' } });
  });
});

describe('executions belong to the user who started them', () => {
  it('takes the userId from the token and refuses one in the body', async () => {
    const executionId = await startAs(alice.key);
    expect((await call(alice.key, 'GET', `/api/executions/${executionId}`)).body).toMatchObject({ userId: 'alice' });
    const requested = await waitFor(async () => eventsOfType(await executionEvents(platform.observer, executionId), EventSubjects.WORKFLOW_EXECUTION_REQUESTED)[0]);
    expect(requested.data).toMatchObject({ userId: 'alice', executionId });
    const claimed = await call(alice.key, 'POST', '/api/workflows/split-bill/executions', { input: {}, userId: 'bob' });
    expect(claimed).toMatchObject({ status: 400, body: { error: 'USER_ID_FROM_TOKEN' } });
  });

  it('answers another user 404 for the execution, its events, its tokens and its cancel, as if it did not exist; an admin reads and cancels it', async () => {
    const executionId = await startAs(alice.key);
    const missing = await call(bob.key, 'GET', '/api/executions/00000000-0000-0000-0000-000000000000');
    const foreign = await call(bob.key, 'GET', `/api/executions/${executionId}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual({ ...missing.body, message: `execution "${executionId}" does not exist` });
    expect(foreign.body.error).toBe('EXECUTION_NOT_FOUND');
    expect(await call(bob.key, 'GET', `/api/executions/${executionId}/events`)).toMatchObject({ status: 404, body: { error: 'EXECUTION_NOT_FOUND' } });
    expect(await openStream(bob.key, executionId)).toMatchObject({ status: 404, body: { error: 'EXECUTION_NOT_FOUND' } });
    expect(await call(bob.key, 'POST', `/api/executions/${executionId}/cancel`, {})).toMatchObject({ status: 404, body: { error: 'EXECUTION_NOT_FOUND' } });
    expect((await call(alice.key, 'GET', `/api/executions/${executionId}`)).body.status).not.toBe('cancelled');

    const listOf = async (token: string): Promise<string[]> => ((await call(token, 'GET', '/api/executions?limit=200')).body.executions as { executionId: string }[]).map((e) => e.executionId);
    expect(await listOf(alice.key)).toContain(executionId);
    expect(await listOf(bob.key)).not.toContain(executionId);
    expect(await listOf(root.key)).toContain(executionId);

    const events = await call(root.key, 'GET', `/api/executions/${executionId}/events`);
    expect(events.status).toBe(200);
    expect((events.body.events as { eventType: string }[])[0]!.eventType).toBe(EventSubjects.WORKFLOW_EXECUTION_REQUESTED);
    const stream = await openStream(root.key, executionId);
    expect(stream.status).toBe(200);
    stream.close();
    const cancelled = await call(root.key, 'POST', `/api/executions/${executionId}/cancel`, { reason: 'admin test' });
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'cancelled', cancellation: { cancelledBy: 'root', reason: 'admin test' } } });
  });

  it('lets only an admin use the operator routes (403 for a user)', async () => {
    const routes: [string, string, unknown][] = [
      ['GET', '/api/dead-letters', undefined],
      ['GET', '/api/streams', undefined],
      ['POST', '/api/dead-letters/replay', { sequences: [1] }],
      ['POST', '/api/dead-letters/purge', { sequences: [1] }],
    ];
    for (const [method, path, body] of routes) {
      expect(await call(alice.key, method, path, body), path).toMatchObject({ status: 403, body: { error: 'FORBIDDEN' } });
      expect((await call(root.key, method, path, body)).status, path).toBe(200);
    }
  });
});

describe('audit', () => {
  it('records who started and who cancelled an execution on the AUDIT stream', async () => {
    const executionId = await startAs(alice.key);
    await call(root.key, 'POST', `/api/executions/${executionId}/cancel`, { reason: 'audit test' });
    const records = [];
    for await (const { subject, event } of platform.observer.readEvents({ stream: 'AUDIT' })) {
      if ((event.data as { executionId?: string }).executionId === executionId) records.push({ subject, data: event.data });
    }
    expect(records).toEqual([
      { subject: 'audit.execution.started', data: { actor: { userId: 'alice', role: 'user', via: 'api-key' }, executionId, workflowId: 'split-bill' } },
      { subject: 'audit.execution.cancelled', data: { actor: { userId: 'root', role: 'admin', via: 'api-key' }, executionId, workflowId: 'split-bill', reason: 'audit test' } },
    ]);
  });
});

describe('hardening', () => {
  it('refuses a state change sent as a form, even with a valid token (CSRF)', async () => {
    const executionId = await startAs(alice.key);
    for (const contentType of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain']) {
      expect(await call(alice.key, 'POST', '/api/workflows/split-bill/executions', 'input=1', { contentType }), contentType).toMatchObject({
        status: 415,
        body: { error: 'UNSUPPORTED_MEDIA_TYPE' },
      });
      expect((await call(alice.key, 'POST', `/api/executions/${executionId}/cancel`, 'reason=x', { contentType })).status, contentType).toBe(415);
    }
    expect((await call(alice.key, 'GET', `/api/executions/${executionId}`)).body.status).not.toBe('cancelled');
  });

  it('limits the request rate per caller: 429 RATE_LIMITED with retry-after, other callers unaffected', async () => {
    const base = limited.gatewayUrl;
    for (let i = 0; i < 3; i++) expect((await call(alice.key, 'GET', '/api/workflows', undefined, { base })).status).toBe(200);
    const refused = await call(alice.key, 'GET', '/api/workflows', undefined, { base });
    expect(refused).toMatchObject({ status: 429, body: { error: 'RATE_LIMITED', limit: 3 } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call(bob.key, 'GET', '/api/workflows', undefined, { base })).status).toBe(200);
    // Probes are never limited.
    for (let i = 0; i < 5; i++) expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('caps the token streams one caller holds open: 429 TOO_MANY_STREAMS beyond, a slot again once one closes', async () => {
    const executionId = await startAs(root.key);
    const first = await openStream(root.key, executionId);
    const second = await openStream(root.key, executionId);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(await openStream(root.key, executionId)).toMatchObject({ status: 429, body: { error: 'TOO_MANY_STREAMS', limit: 2 } });
    // Another caller has slots of its own.
    const other = await openStream(await jwt({ sub: 'gina', roles: ['admin'] }), executionId);
    expect(other.status).toBe(200);
    other.close();
    first.close();
    const third = await waitFor(async () => {
      const attempt = await openStream(root.key, executionId);
      if (attempt.status === 200) return attempt;
      expect(attempt.status).toBe(429);
      return undefined;
    }, 5000, 'a stream slot to free up');
    third.close();
    second.close();
  });

  it('sends security headers and a strict Content-Security-Policy, on the console and the API', async () => {
    for (const path of ['/', '/api/workflows']) {
      const response = await fetch(`${platform.gatewayUrl}${path}`, { headers: bearer(alice.key) });
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('x-frame-options'), path).toBe('SAMEORIGIN');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
  });
});
