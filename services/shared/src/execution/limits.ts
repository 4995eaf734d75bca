/**
 * What an execution's input may be, given what the bus can carry. The execution record (one KV
 * message) and every event are single NATS messages, at most the server's `max_payload`
 * (1 MB by default). The input is copied into the record and into the events a transition
 * decides (kept in the record's outbox until published), so its footprint depends on the
 * workflow: {@link inputFootprint} runs the real transitions with every node answering `null`
 * and measures the largest record written. That peak must fit in the record budget:
 * `max_payload` minus a quarter kept for the nodes' outputs ({@link executionLimits}).
 * Nesting is limited too ({@link MAX_INPUT_DEPTH}): recursive code (structured clones, JSON
 * tools, templates) must never meet a shape that overflows its stack.
 */
import type { WorkflowDefinition } from '../workflow/schema.js';
import { topologicalOrder } from '../workflow/validate.js';
import type { ExecutionState } from './state.js';
import { settleNode, startExecution } from './transitions.js';

/** Deepest nesting of objects and arrays an input may have (`{"a":1}` is depth 1). */
export const MAX_INPUT_DEPTH = 64;

/** Byte budgets derived from the server's `max_payload`. */
export interface ExecutionLimits {
  /** The server's `max_payload`: no message (event, record) may be larger. */
  maxPayload: number;
  /** Largest record the input alone may produce: the rest of `maxPayload` is kept for node outputs. */
  recordBudget: number;
}

/** The budgets for a server's `max_payload`: three quarters for the input's copies, one quarter for outputs. */
export function executionLimits(maxPayload: number): ExecutionLimits {
  return { maxPayload, recordBudget: Math.floor((maxPayload * 3) / 4) };
}

/** Nesting depth of a JSON value, counted without recursion; stops counting past `limit`. */
export function jsonDepth(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [current, depth] = next;
    if (current === null || typeof current !== 'object') continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > limit) return deepest;
    for (const child of Object.values(current)) stack.push([child, level]);
  }
  return deepest;
}

/** `912 KB`, `1.4 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** What an input costs on the bus. */
export interface InputFootprint {
  /** The input as JSON. */
  inputBytes: number;
  /** The largest execution record the transitions write for it (outputs `null`). */
  peakRecordBytes: number;
}

const PLACEHOLDER_ID = '00000000-0000-4000-8000-000000000000';

function bytes(state: ExecutionState): number {
  return Buffer.byteLength(JSON.stringify(state));
}

/**
 * Measures an input's footprint on a workflow by running its transitions: the start, then each
 * node completing with output `null` in dependency order. The outbox is never emptied: a node's
 * report can be handled before the previous transition's events are published and removed, so
 * the worst case keeps them all. Pure; the input must be within {@link MAX_INPUT_DEPTH}.
 */
export function inputFootprint(workflow: WorkflowDefinition, input: Record<string, unknown>): InputFootprint {
  const ctx = { now: new Date(), defaultNodeTimeoutMs: 120_000 };
  const request = {
    eventId: PLACEHOLDER_ID,
    correlationId: PLACEHOLDER_ID,
    timestamp: ctx.now,
    data: { workflowId: workflow.id, userId: 'u'.repeat(128), executionId: PLACEHOLDER_ID, input },
  };
  let state = startExecution(undefined, request, workflow, ctx);
  let peak = state === undefined ? 0 : bytes(state);
  for (const nodeId of topologicalOrder(workflow)) {
    if (state === undefined || state.status !== 'running') break;
    const node = state.nodes[nodeId];
    state = settleNode(state, nodeId, { ok: true, output: null, eventId: PLACEHOLDER_ID, ...(node?.dispatchEventId === undefined ? {} : { causationId: node.dispatchEventId }) }, ctx);
    if (state !== undefined) peak = Math.max(peak, bytes(state));
  }
  return { inputBytes: Buffer.byteLength(JSON.stringify(input)), peakRecordBytes: peak };
}

/** Why an input cannot run: a stable code and a message for the user. */
export interface InputRejection {
  code: 'INPUT_TOO_DEEP' | 'INPUT_TOO_LARGE';
  message: string;
  /** Numbers behind the decision (bytes, levels). */
  details: Record<string, number>;
}

/**
 * Checks an input against the limits: nesting first (so nothing recursive touches a deep
 * input), then the record the workflow would write for it (without a workflow: the input
 * itself). Returns the rejection, or undefined when it can run.
 */
export function checkInputLimits(workflow: WorkflowDefinition | undefined, input: Record<string, unknown>, limits: ExecutionLimits): InputRejection | undefined {
  const depth = jsonDepth(input, MAX_INPUT_DEPTH);
  if (depth > MAX_INPUT_DEPTH) {
    return {
      code: 'INPUT_TOO_DEEP',
      message: `input nested too deeply: more than ${MAX_INPUT_DEPTH} levels of objects and arrays (limit ${MAX_INPUT_DEPTH})`,
      details: { maxDepth: MAX_INPUT_DEPTH },
    };
  }
  const footprint =
    workflow === undefined
      ? { inputBytes: Buffer.byteLength(JSON.stringify(input)), peakRecordBytes: 0 }
      : inputFootprint(workflow, input);
  const recordBytes = Math.max(footprint.peakRecordBytes, footprint.inputBytes);
  if (recordBytes <= limits.recordBudget) return undefined;
  return {
    code: 'INPUT_TOO_LARGE',
    message:
      `input too large: ${formatBytes(footprint.inputBytes)} makes the execution record ${formatBytes(recordBytes)}, ` +
      `limit ${formatBytes(limits.recordBudget)} (pass large fields by claim-check)`,
    details: { inputBytes: footprint.inputBytes, recordBytes, recordLimitBytes: limits.recordBudget },
  };
}
