import { describe, expect, it } from 'vitest';
import { NonRetryableError, PayloadTooLargeError, RequestTimeoutError } from '@multi-agent/nats-client';
import {
  checkInputLimits,
  classifyFailure,
  DeterministicError,
  ExecutionContentionError,
  executionLimits,
  inputFootprint,
  isDeterministic,
  jsonDepth,
  loadWorkflows,
  MAX_INPUT_DEPTH,
  prepareClaim,
  TemplateError,
  validateWorkflowInput,
} from '@multi-agent/service-kit';

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value } : [value];
  return value;
}

describe('input limits', () => {
  it('measures nesting without recursion, even 100 000 levels deep', () => {
    expect(jsonDepth('x')).toBe(0);
    expect(jsonDepth({ a: 1, b: [1, { c: [] }] })).toBe(4);
    expect(jsonDepth(nested(100_000))).toBe(100_000);
    expect(jsonDepth(nested(100_000), 64)).toBe(65);
  });

  it('refuses nesting past the limit and accepts it at the limit', async () => {
    const workflow = (await loadWorkflows()).get('split-bill')!;
    const limits = executionLimits(1024 * 1024);
    // receipt (depth 1) holds nested(MAX - 1): the input object itself is one more level.
    expect(checkInputLimits(workflow, { receipt: { x: nested(MAX_INPUT_DEPTH - 2) } }, limits)).toBeUndefined();
    expect(checkInputLimits(workflow, { receipt: { x: nested(MAX_INPUT_DEPTH - 1) } }, limits)).toMatchObject({ code: 'INPUT_TOO_DEEP' });
  });

  it('counts every copy a workflow makes of its input, including outbox entries not yet published', async () => {
    const workflow = (await loadWorkflows()).get('split-bill')!;
    const footprint = (n: number) => inputFootprint(workflow, { receipt: { note: 'x'.repeat(n) } }).peakRecordBytes;
    // state.input, three node inputs, and the node-started + request events of the json-path and agent nodes.
    expect(footprint(10_001) - footprint(10_000)).toBe(6);
  });

  it('a claim-checked field counts as its reference and is checked by its recorded type', async () => {
    const workflow = (await loadWorkflows()).get('split-bill')!;
    const { reference } = prepareClaim('e/receipt', { total: 1, note: 'x'.repeat(2_000_000) });
    expect(reference.$claimCheck).toMatchObject({ bytes: 2_000_021, type: 'object' });
    expect(checkInputLimits(workflow, { receipt: reference }, executionLimits(1024 * 1024))).toBeUndefined();
    expect(validateWorkflowInput(workflow, { receipt: reference })).toMatchObject({ ok: true });
    expect(validateWorkflowInput(workflow, { people: prepareClaim('e/people', 'four').reference })).toEqual({ ok: false, issues: ['input "people" must be a number'] });
  });
});

describe('failure classification', () => {
  it('errors that recur with the same event become non-retryable, the original code kept as their kind', () => {
    const cases: [unknown, string][] = [
      [new PayloadTooLargeError(2_000_000, 1_048_576, 'tool.execution.completed'), 'PAYLOAD_TOO_LARGE'],
      [new RangeError('Maximum call stack size exceeded'), 'STACK_OVERFLOW'],
      [new TemplateError('missing value at input.x'), 'TEMPLATE'],
      [Object.assign(new Error('no such tool'), { code: 'UNKNOWN_TOOL' }), 'UNKNOWN_TOOL'],
      [Object.assign(new Error('no such workflow'), { code: 'UNKNOWN_WORKFLOW' }), 'UNKNOWN_WORKFLOW'],
    ];
    for (const [err, code] of cases) {
      const classified = classifyFailure(err);
      expect(classified).toBeInstanceOf(NonRetryableError);
      expect(classified).toBeInstanceOf(DeterministicError);
      expect((classified as DeterministicError).kind).toBe(code);
      expect((classified as DeterministicError).code).toBe('NON_RETRYABLE');
      expect((classified as Error).cause).toBe(err);
    }
  });

  it('transient errors stay as they are, so they are retried', () => {
    for (const err of [new RequestTimeoutError('x', 10), new ExecutionContentionError('e', 50), new Error('connection closed')]) {
      expect(classifyFailure(err)).toBe(err);
      expect(isDeterministic(err)).toBe(false);
    }
  });
});
