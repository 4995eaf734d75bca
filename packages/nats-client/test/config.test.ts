import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, NatsClient, loadNatsConfig } from '../src/index.js';

describe('loadNatsConfig', () => {
  it('reads the guide variables and defaults the rest', () => {
    const config = loadNatsConfig({
      NATS_URL: 'nats://a:4222, b:4223',
      NATS_MAX_RECONNECT_ATTEMPTS: '-1',
      NATS_RECONNECT_TIME_WAIT: '2000',
      NATS_MAX_DELIVER_ATTEMPTS: '5',
    });
    expect(config.servers).toEqual(['nats://a:4222', 'nats://b:4223']);
    expect(config.maxReconnectAttempts).toBe(-1);
    expect(config.reconnectTimeWait).toBe(2000);
    expect(config.maxDeliverAttempts).toBe(5);
    expect(config.idempotency).toMatchObject({ store: 'memory', ttlMs: 3_600_000 });
    expect(config.auth).toBeUndefined();
  });

  it('reads auth and TLS settings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'x');
    const config = loadNatsConfig({ NATS_USER: 'u', NATS_PASSWORD: 'p', NATS_TLS_CA: ca, NATS_TOKEN: 't' });
    expect(config.auth).toMatchObject({ user: 'u', pass: 'p', token: 't' });
    expect(config.tls).toEqual({ caFile: ca, certFile: undefined, keyFile: undefined });
  });

  it.each([
    ['NATS_URL', 'http://example:4222'],
    ['NATS_URL', 'nats://host:99999'],
    ['NATS_URL', ' , '],
    ['NATS_MAX_RECONNECT_ATTEMPTS', 'forever'],
    ['NATS_MAX_RECONNECT_ATTEMPTS', '-2'],
    ['NATS_RECONNECT_TIME_WAIT', '1.5'],
    ['NATS_MAX_DELIVER_ATTEMPTS', '0'],
    ['NATS_RETRY_BACKOFF_MS', '100,soon'],
    ['NATS_IDEMPOTENCY_STORE', 'postgres'],
    ['NATS_CREDS', '/nonexistent/user.creds'],
    ['NATS_TLS_CERT', '/nonexistent/cert.pem'],
    ['NATS_NKEY_SEED', 'not-a-seed'],
    ['NATS_USER', 'alone'],
  ])('fails naming %s when it is %j', (variable, value) => {
    let error: unknown;
    try {
      loadNatsConfig({ [variable]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(variable);
  });

  it('importing never throws; a bad env value fails where the client is built, naming the variable', async () => {
    const run = promisify(execFile);
    const node = (script: string) =>
      run(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, NATS_URL: 'not a url' }, cwd: process.cwd() });
    await expect(node("await import('@multi-agent/nats-client')")).resolves.toBeDefined();
    const failure = await node(
      "const { NatsClient, defaultNatsConfig } = await import('@multi-agent/nats-client'); new NatsClient(defaultNatsConfig, 'svc')",
    ).catch((err: unknown) => err as { code: number; stderr: string });
    expect((failure as { code: number }).code).not.toBe(0);
    expect((failure as { stderr: string }).stderr).toMatch(/ConfigError: NATS_URL/);
  });

  it('rejects an unsafe service name', () => {
    expect(() => new NatsClient({}, 'my service')).toThrow(/serviceName/);
  });
});
