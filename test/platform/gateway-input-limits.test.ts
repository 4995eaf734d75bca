/**
 * The gateway refuses up front what the platform cannot carry (400/413 with a typed code), and
 * takes large fields by claim-check: a 5 MB input runs end to end through the API, the tool
 * node reading the whole stored value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionLimits, inputFootprint, loadWorkflows, validateWorkflow } from '@multi-agent/service-kit';
import { defineTool } from '@multi-agent/tool-service';
import { NatsServer } from '@multi-agent/testing';
import * as z from 'zod';
import { startInProcess } from './support/in-process.js';
import type { InProcessPlatform } from './support/in-process.js';
import { waitFor } from './support/platform.js';

const measure = validateWorkflow({
  id: 'measure',
  name: 'Measure a document',
  input: { doc: { type: 'object', required: true } },
  nodes: [{ id: 'size', type: 'tool', tool: 'measure', params: { document: '{{input.doc}}' } }],
});

let server: NatsServer;
let platform: InProcessPlatform;

beforeAll(async () => {
  server = await NatsServer.start();
  const workflows = new Map([...(await loadWorkflows()), [measure.id, measure]]);
  platform = await startInProcess(server.url, {
    workflows,
    tools: [
      defineTool({
        id: 'measure',
        description: 'what the tool received',
        inputSchema: z.object({ document: z.object({ items: z.array(z.number()) }).loose() }),
        run: ({ document }) => ({ bytes: Buffer.byteLength(JSON.stringify(document)), items: document.items.length, last: document.items.at(-1) }),
      }),
    ],
  });
});

afterAll(async () => {
  await platform?.stop();
  await server?.stop();
});

async function post(workflowId: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${platform.gatewayUrl}/api/workflows/${workflowId}/executions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...platform.authHeaders },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function finished(executionId: string): Promise<Record<string, unknown>> {
  return waitFor(async () => {
    const body = (await (await fetch(`${platform.gatewayUrl}/api/executions/${executionId}`, { headers: platform.authHeaders })).json()) as Record<string, unknown>;
    return (body.status === 'completed' || body.status === 'failed') && body.pendingEvents === 0 ? body : undefined;
  }, 30_000, `execution ${executionId} to finish`);
}

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { total: 1 };
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

const receipt = (note: string) => ({ restaurant: 'Chez Nous', total: 120, currency: 'EUR', note });

describe('inputs the platform cannot carry are refused up front', () => {
  it('a receipt nested 3,000 levels deep: 400 INPUT_TOO_DEEP, nothing stored', async () => {
    const { status, body } = await post('split-bill', { input: { receipt: nested(3000), people: 2 } });
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'INPUT_TOO_DEEP', maxDepth: 64 });
    expect(body.message).toMatch(/^input nested too deeply/);
  });

  it('a receipt with a 900 KB string: 413 INPUT_TOO_LARGE with the sizes', async () => {
    const { status, body } = await post('split-bill', { input: { receipt: receipt('x'.repeat(900_000)), people: 2 } });
    expect(status).toBe(413);
    expect(body).toMatchObject({ error: 'INPUT_TOO_LARGE', recordLimitBytes: 768 * 1024 });
    expect(body.message).toMatch(/^input too large: \d+ KB makes the execution record \d\.\d MB, limit 768 KB/);
  });

  it('at the boundary: the largest input whose record fits runs to completion, one byte more is refused', async () => {
    const workflow = platform.workflows.get('split-bill')!;
    const { recordBudget } = executionLimits(1024 * 1024);
    const peak = (n: number) => inputFootprint(workflow, { receipt: receipt('x'.repeat(n)), people: 2, tip_percent: 10 }).peakRecordBytes;
    // The record grows by a fixed number of bytes per input byte (the input's copies).
    const perByte = peak(1001) - peak(1000);
    const largest = 1000 + Math.floor((recordBudget - peak(1000)) / perByte);
    expect(peak(largest)).toBeLessThanOrEqual(recordBudget);
    expect(peak(largest + 1)).toBeGreaterThan(recordBudget);

    const over = await post('split-bill', { input: { receipt: receipt('x'.repeat(largest + 1)), people: 2 } });
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ error: 'INPUT_TOO_LARGE', recordBytes: peak(largest + 1) });

    const under = await post('split-bill', { input: { receipt: receipt('x'.repeat(largest)), people: 2 } });
    expect(under.status).toBe(202);
    const state = await finished(under.body.executionId as string);
    expect(state.error).toBeUndefined();
    expect(state.status).toBe('completed');
    expect((state.nodes as Record<string, { output: unknown }>).total!.output).toMatchObject({ value: 120 });
  });

  it('a body over the limit: 413 BODY_TOO_LARGE', async () => {
    const { status, body } = await post('split-bill', { input: { receipt: receipt('x'.repeat(17 * 1024 * 1024)), people: 2 } });
    expect(status).toBe(413);
    expect(body).toMatchObject({ error: 'BODY_TOO_LARGE', limitBytes: 16 * 1024 * 1024 });
  });

  it('claimCheck naming a field the input does not have: 400 INVALID_CLAIM_CHECK', async () => {
    const { status, body } = await post('split-bill', { input: { people: 2 }, claimCheck: ['recipt'] });
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'INVALID_CLAIM_CHECK' });
  });
});

describe('large inputs by claim-check', () => {
  const items = Array.from({ length: 800_000 }, (_, i) => i);
  const doc = { items, padding: 'p'.repeat(200) };
  const bytes = Buffer.byteLength(JSON.stringify(doc));

  it('a 5 MB input runs end to end: the tool node reads the whole stored value', async () => {
    expect(bytes).toBeGreaterThan(5 * 1000 * 1000);
    const { status, body } = await post('measure', { input: { doc }, claimCheck: ['doc'] });
    expect(status).toBe(202);
    const state = await finished(body.executionId as string);
    expect(state.status).toBe('completed');
    expect(state.output).toEqual({ bytes, items: 800_000, last: 799_999 });
    // What travels and is stored is the reference, not the value.
    expect(state.input).toEqual({ doc: { $claimCheck: { bucket: 'EXECUTION_INPUTS', name: `${body.executionId as string}/doc`, bytes, type: 'object' } } });
  });

  it('split-bill with a 5 MB receipt by claim-check completes: the tool reads the total, the agent the restaurant', async () => {
    const big = receipt('n'.repeat(5 * 1024 * 1024));
    const { status, body } = await post('split-bill', { input: { receipt: big, people: 4 }, claimCheck: ['receipt'] });
    expect(status).toBe(202);
    const state = await finished(body.executionId as string);
    expect(state.status).toBe('completed');
    const nodes = state.nodes as Record<string, { output: Record<string, unknown> }>;
    expect(nodes.total!.output).toMatchObject({ value: 120 });
    expect(nodes.share!.output).toMatchObject({ value: 33 });
    expect(nodes.message!.output.text).toEqual(expect.any(String));
  });
});
