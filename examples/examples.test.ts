/**
 * Runs every guide example as its own process against a fresh nats-server, the way a reader
 * would run it (`NATS_URL` set, `tsx`), and checks what it printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { NatsServer } from '@multi-agent/testing';

const run = promisify(execFile);
let server: NatsServer;

beforeAll(async () => {
  server = await NatsServer.start();
});

afterAll(async () => {
  await server.stop();
});

async function example(file: string): Promise<{ stdout: string; stderr: string }> {
  const path = fileURLToPath(new URL(file, import.meta.url));
  return run(process.execPath, ['--import', 'tsx', path], {
    env: { ...process.env, NATS_URL: server.url, LOG_LEVEL: 'warn' },
    timeout: 30_000,
  });
}

describe('guide examples run as written', () => {
  it('1. setup connects', async () => {
    expect((await example('./01-setup.ts')).stdout).toMatch(/connected=true subjects=\d{2,}/);
  });

  it('2. publishing stores the event', async () => {
    expect((await example('./02-publishing.ts')).stdout).toContain('stored=true');
  });

  it('3. subscribing handles node events, named and wildcard', async () => {
    const { stdout } = await example('./03-subscribing.ts');
    expect(stdout).toContain('Node completed: node-1');
    expect(stdout).toContain('wildcard handled=2');
  });

  it('4. request/reply resolves from the published tool.execute.response', async () => {
    const { stdout } = await example('./04-request-reply.ts');
    expect(stdout).toContain('response={"result":{"toolId":"tool-123","output":"tool ran"}}');
  });

  it('5. token streaming reaches the core subscriber and subscribeStream', async () => {
    const { stdout } = await example('./05-token-streaming.ts');
    expect(stdout).toContain('shown="The answer is 42." replayed="The answer is 42."');
  });

  it('6. DLQ monitoring receives the failed event', async () => {
    const { stdout, stderr } = await example('./06-dlq-monitoring.ts');
    expect(stderr).toContain('Event failed:');
    expect(stdout).toContain('dlq reason=non-retryable consumer=vector-indexer');
  });

  it('7. the workflow execution flow runs end to end', async () => {
    const { stdout } = await example('./07-workflow-execution-flow.ts');
    expect(stdout).toContain('completed output="researched {\\"topic\\":\\"event buses\\"}"');
  });
});
