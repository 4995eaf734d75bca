/**
 * The local deployment files: nats-server accepts the local config, and compose is closed by
 * default (published ports on loopback only, Redis behind a password from the environment).
 * The Kubernetes manifests are checked in k8s.test.ts, the image in image.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { natsServerBinary } from '@multi-agent/testing';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const run = promisify(execFile);

interface ComposeService {
  /** Strings in our file; a bare `- 4222` would parse as a number, which the loopback check must still see. */
  ports?: (string | number)[];
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: unknown;
}

const compose = parse(readFileSync(here('./compose.yaml'), 'utf8')) as { services: Record<string, ComposeService> };

describe('local deployment files', () => {
  it('local nats.conf is accepted by nats-server and enables JetStream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natsconf-'));
    const file = join(dir, 'nats.conf');
    const text = readFileSync(here('./nats/nats.conf'), 'utf8');
    writeFileSync(file, text);
    const { stdout, stderr } = await run(natsServerBinary(), ['-t', '-c', file]);
    expect(stdout + stderr).toMatch(/is valid/);
    expect(text).toMatch(/jetstream \{/);
  });

  it('compose runs NATS with the local config and a health check, client and monitoring ports on loopback', () => {
    const nats = compose.services.nats!;
    expect(nats.ports).toEqual(['127.0.0.1:4222:4222', '127.0.0.1:8222:8222']);
    expect(JSON.stringify(nats.healthcheck)).toContain('/healthz');
  });

  it('compose publishes every port of every service on 127.0.0.1 only', () => {
    const published = Object.entries(compose.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => ({ name, port: String(p) })));
    expect(published.length).toBeGreaterThan(0);
    for (const { name, port } of published) expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('compose starts Redis only with a password taken from REDIS_PASSWORD, never a literal', () => {
    const redis = compose.services.redis!;
    // `${VAR:?message}`: compose refuses to start when the variable is unset or empty.
    expect(redis.environment?.REDIS_PASSWORD).toMatch(/^\$\{REDIS_PASSWORD:\?[^}]+\}$/);
    expect(redis.command!.join(' ')).toMatch(/--requirepass "\$\$REDIS_PASSWORD"/);
    expect(JSON.stringify(redis.healthcheck)).toContain('REDISCLI_AUTH');
  });
});
