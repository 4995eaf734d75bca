/**
 * The local deployment files stay valid: nats-server accepts the local config, and compose
 * runs it. The Kubernetes manifests are checked in k8s.test.ts, the image in image.test.ts.
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

async function configIsValid(text: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'natsconf-'));
  const file = join(dir, 'nats.conf');
  writeFileSync(file, text);
  const { stdout, stderr } = await run(natsServerBinary(), ['-t', '-c', file]);
  return stdout + stderr;
}

describe('deployment files', () => {
  it('local nats.conf is accepted by nats-server and enables JetStream', async () => {
    const text = readFileSync(here('./nats/nats.conf'), 'utf8');
    expect(await configIsValid(text)).toMatch(/is valid/);
    expect(text).toMatch(/jetstream \{/);
  });

  it('compose runs NATS with the local config, both ports and a health check', () => {
    const compose = parse(readFileSync(here('./compose.yaml'), 'utf8')) as { services: Record<string, Record<string, unknown>> };
    const nats = compose.services.nats!;
    expect(nats.ports).toEqual(['4222:4222', '8222:8222']);
    expect(JSON.stringify(nats.healthcheck)).toContain('/healthz');
  });
});
