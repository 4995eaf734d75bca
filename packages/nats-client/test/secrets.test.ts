import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, NatsServer } from '@multi-agent/testing';
import { ConfigError, createLogger, loadNatsConfig, NatsClient, NotConnectedError, parseServers } from '../src/index.js';

const PASSWORD = 's3cret-pw';
const SECRETS = [PASSWORD, 'tok-9f8e', 'SUAKSEEDSECRETSEEDSECRET', 'sk-live-123', 'Bearer sk-live-123', 'redis-pw'];

/** A logger whose lines land in `lines`, at every level. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('secrets-test', { level: 'trace', destination: { write: (line: string) => void lines.push(line) } }), lines };
}

function expectNoSecret(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

let server: NatsServer;

beforeAll(async () => {
  server = await NatsServer.start({ extraConfig: `authorization { user: alice, password: "${PASSWORD}" }` });
});

afterAll(async () => {
  await server.stop();
});

describe('secrets never reach logs or error messages', () => {
  it('censors credential fields and masks URL credentials in every log line', () => {
    const { logger, lines } = capturingLogger();
    // A config as a caller might write it, credentials in the URLs included.
    const config = { servers: [`nats://alice:${PASSWORD}@h1:4222`, 'nats://bob:tok-9f8e@h2:4222'], auth: { user: 'alice', pass: PASSWORD, token: 'tok-9f8e', nkeySeed: 'SUAKSEEDSECRETSEEDSECRET' } };
    logger.info({ config }, 'loaded config');
    logger.info({ auth: { pass: PASSWORD, token: 'tok-9f8e', nkeySeed: 'SUAKSEEDSECRETSEEDSECRET' }, seed: 'SUAKSEEDSECRETSEEDSECRET' }, 'auth');
    logger.warn({ req: { headers: { authorization: 'Bearer sk-live-123' } }, apiKey: 'sk-live-123', env: { MODEL_API_KEY: 'sk-live-123', password: 'redis-pw' } }, 'request');
    logger.error({ err: new Error(`could not reach redis://:redis-pw@cache:6379 and https://u:sk-live-123@api.example.com/v1`) }, `failed on nats://alice:${PASSWORD}@h1:4222`);
    const text = lines.join('');
    expect(lines).toHaveLength(4);
    expectNoSecret(text);
    expect(text).toContain('nats://***@h1:4222');
    expect(text).toContain('redis://***@cache:6379');
    expect(text).toContain('[redacted]');
    // The records stay readable JSON.
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });

  it('connects to a password-protected server and logs the connection and its config without the password', async () => {
    const { logger, lines } = capturingLogger();
    const config = loadNatsConfig({ NATS_URL: server.url, NATS_USER: 'alice', NATS_PASSWORD: PASSWORD });
    const client = new NatsClient(config, 'secrets-test', { logger });
    await client.connect();
    try {
      expect(client.isConnected).toBe(true);
      client.logger.info({ config }, 'running with');
      expect(lines.some((line) => line.includes('connected to NATS'))).toBe(true);
      expect(lines.some((line) => line.includes('"user":"alice"'))).toBe(true);
      expectNoSecret(lines.join(''));
    } finally {
      await client.close();
    }
  });

  it('keeps URL credentials out of connection and config errors', async () => {
    const { logger, lines } = capturingLogger();
    const deadUrl = `nats://alice:${PASSWORD}@127.0.0.1:${await freePort()}`;
    const client = new NatsClient(loadNatsConfig({ NATS_URL: deadUrl, NATS_CONNECT_TIMEOUT_MS: '500' }), 'secrets-test', { logger });
    const failure = await client.connect().then(() => undefined, (err: unknown) => err);
    expect(failure).toBeInstanceOf(NotConnectedError);
    // The credentials moved from the URL into the auth settings, so the URL shown has none.
    expect((failure as Error).message).toContain('nats://127.0.0.1:');
    expectNoSecret((failure as Error).message);
    expectNoSecret(lines.join(''));

    for (const bad of [`nats://alice:${PASSWORD}@host:99999`, `nats://alice:${PASSWORD}@host/path`]) {
      const err = (() => {
        try {
          parseServers(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expectNoSecret((err as Error).message);
    }
  });
});
