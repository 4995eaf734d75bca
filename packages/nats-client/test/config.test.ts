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

  it('moves credentials written into NATS_URL into the auth settings, percent-decoded, and out of the URLs', () => {
    const config = loadNatsConfig({ NATS_URL: 'nats://svc:p%40ss@h1:4222,nats://svc:p%40ss@h2:4222,h3:4222' });
    expect(config.servers).toEqual(['nats://h1:4222', 'nats://h2:4222', 'nats://h3:4222']);
    expect(config.auth).toEqual({ user: 'svc', pass: 'p@ss' });
    expect(loadNatsConfig({ NATS_URL: 'tls://s3cr3t-tok@h1:4222' })).toMatchObject({ servers: ['tls://h1:4222'], auth: { token: 's3cr3t-tok' } });
    // Built without the environment, the same happens where the client resolves its config.
    const client = new NatsClient({ servers: ['nats://svc:pw-xyz@h1:4222'] }, 'lift-test');
    expect(client.config).toMatchObject({ servers: ['nats://h1:4222'], auth: { user: 'svc', pass: 'pw-xyz' } });
  });

  it.each([
    ['different credentials per URL', { NATS_URL: 'nats://a:pw-one@h1:4222,nats://b:pw-two@h2:4222' }],
    ['URL credentials beside NATS_USER/NATS_PASSWORD', { NATS_URL: 'nats://a:pw-one@h1:4222', NATS_USER: 'a', NATS_PASSWORD: 'pw-two' }],
    ['URL credentials beside NATS_TOKEN', { NATS_URL: 'nats://pw-one@h1:4222', NATS_TOKEN: 'pw-two' }],
    ['a password without a user', { NATS_URL: 'nats://:pw-one@h1:4222' }],
    ['bad percent-encoding', { NATS_URL: 'nats://a:pw-one%zz@h1:4222' }],
  ])('refuses %s with a ConfigError on NATS_URL that does not show the secret', (_, env) => {
    let error: unknown;
    try {
      loadNatsConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('NATS_URL');
    expect((error as Error).message).not.toMatch(/pw-one|pw-two/);
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
