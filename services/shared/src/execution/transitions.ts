/**
 * The execution state machine, as pure functions: (current state, what happened) -> next state,
 * or `undefined` when nothing changes (a duplicate or late event). Each transition appends the
 * events it decides to the state's outbox, with deterministic eventIds, so deciding and
 * recording "what to publish" is one compare-and-set write; publishing happens after.
 *
 * Pure, so the store can re-run a decision on fresh state after losing a CAS race.
 */
import { EventSubjects } from '@multi-agent/events';
import type { ErrorInfo } from '@multi-agent/events';
import { stableEventId } from '../stable-id.js';
import { renderValue, TemplateError } from '../template.js';
import { agentRevision, agentSpecOf } from '../workflow/agents.js';
import type { NodeInput, WorkflowDefinition, WorkflowNode } from '../workflow/schema.js';
import { validateWorkflowInput } from '../workflow/validate.js';
import { isTerminal } from './state.js';
import type { ExecutionError, ExecutionState, NodeState, OutboxEntry } from './state.js';

/** The version of the `agent.execution.requested` events the orchestration publishes: the one with `agentRef`. */
export const AGENT_REQUEST_VERSION = '1.1';

/** What every transition needs besides the state. */
export interface TransitionContext {
  now: Date;
  /** Timeout of a node that declares none (ms). */
  defaultNodeTimeoutMs: number;
}

/** The request that starts an execution. */
export interface StartRequest {
  eventId: string;
  correlationId?: string | undefined;
  timestamp: Date;
  data: { workflowId: string; userId: string; executionId: string; input?: Record<string, unknown> | undefined };
}

/** How a node ended, as reported by the agent or tool service. */
export type NodeOutcome =
  | { ok: true; output: unknown; eventId: string; causationId?: string }
  | { ok: false; error: ErrorInfo; eventId: string; causationId?: string };

function clone(state: ExecutionState, now: Date): ExecutionState {
  const next = structuredClone(state);
  next.version += 1;
  next.updatedAt = now.toISOString();
  return next;
}

function emit(state: ExecutionState, eventType: string, kind: string, data: Record<string, unknown>, causationId: string | undefined, ...idParts: (string | number)[]): void {
  // A revived execution may decide again what it decided before it failed (a node's end, its
  // own): each life gets its own ids, so the stream and consumers do not drop them as duplicates.
  const life = state.revivals?.length ?? 0;
  const entry: OutboxEntry = {
    eventId: stableEventId(state.executionId, kind, ...idParts, ...(life === 0 ? [] : [`revival-${life}`])),
    eventType,
    data,
    ...(causationId === undefined ? {} : { causationId }),
  };
  state.outbox.push(entry);
}

function spec(state: ExecutionState, nodeId: string): WorkflowNode {
  const node = state.workflow?.nodes.find((n) => n.id === nodeId);
  if (node === undefined) throw new Error(`execution ${state.executionId}: node "${nodeId}" is not in its workflow`);
  return node;
}

function nodeInput(state: ExecutionState, node: WorkflowNode): NodeInput {
  const parents: Record<string, unknown> = {};
  for (const dep of node.dependsOn ?? []) parents[dep] = state.nodes[dep]?.output;
  return { input: state.input, parents };
}

/** A node of a cloned state, found under the id the unchanged state had. */
function nodeOf(state: ExecutionState, nodeId: string): NodeState {
  const node = state.nodes[nodeId];
  if (node === undefined) throw new RangeError(`execution ${state.executionId} has no node "${nodeId}"`);
  return node;
}

/** The execution's output: the `output` node's, the only leaf's, or an object of every leaf's. */
function executionOutput(state: ExecutionState): unknown {
  const workflow = state.workflow;
  if (workflow === undefined) return undefined;
  if (workflow.output !== undefined) return state.nodes[workflow.output]?.output;
  const needed = new Set(workflow.nodes.flatMap((n) => n.dependsOn ?? []));
  const leaves = workflow.nodes.filter((n) => !needed.has(n.id));
  const [only] = leaves;
  if (leaves.length === 1 && only !== undefined) return state.nodes[only.id]?.output;
  return Object.fromEntries(leaves.map((n) => [n.id, state.nodes[n.id]?.output]));
}

function failExecution(state: ExecutionState, error: ExecutionError, causationId: string | undefined, now: Date): void {
  state.status = 'failed';
  state.error = error;
  state.finishedAt = now.toISOString();
  if (state.startedAt !== undefined) state.durationMs = now.getTime() - Date.parse(state.startedAt);
  for (const node of Object.values(state.nodes)) {
    if (node.status === 'pending' || node.status === 'running') {
      node.status = 'skipped';
      node.error = { message: error.nodeId === undefined ? 'not run: the execution failed' : `not run: node "${error.nodeId}" failed`, code: 'SKIPPED' };
    }
  }
  emit(
    state,
    EventSubjects.EXECUTION_FAILED,
    'execution-failed',
    {
      executionId: state.executionId,
      workflowId: state.workflowId,
      ...(error.nodeId === undefined ? {} : { nodeId: error.nodeId }),
      error: { message: error.message, ...(error.code === undefined ? {} : { code: error.code }) },
    },
    causationId,
  );
}

function failNode(state: ExecutionState, node: NodeState, error: ErrorInfo, causationId: string | undefined, now: Date, settledBy?: string): void {
  node.status = 'failed';
  node.error = error;
  node.finishedAt = now.toISOString();
  if (settledBy !== undefined) node.settledByEventId = settledBy;
  emit(state, EventSubjects.EXECUTION_NODE_FAILED, 'node-failed', { executionId: state.executionId, nodeId: node.id, error }, causationId, node.id, node.attempt);
  failExecution(state, { ...error, nodeId: node.id }, causationId, now);
}

/** Starts a node: records it running and emits `execution.node.started` + the agent/tool request. */
function dispatch(state: ExecutionState, node: NodeState, ctx: TransitionContext, causationId: string | undefined): void {
  const definition = spec(state, node.id);
  const input = nodeInput(state, definition);
  node.attempt += 1;
  node.status = 'running';
  node.startedAt = ctx.now.toISOString();
  node.deadlineAt = new Date(ctx.now.getTime() + (definition.timeoutMs ?? ctx.defaultNodeTimeoutMs)).toISOString();
  node.input = input;
  node.dispatchEventId = stableEventId(state.executionId, 'dispatch', node.id, node.attempt);
  emit(
    state,
    EventSubjects.EXECUTION_NODE_STARTED,
    'node-started',
    { executionId: state.executionId, nodeId: node.id, nodeType: node.type, input },
    causationId,
    node.id,
    node.attempt,
  );
  let request: Pick<OutboxEntry, 'eventType' | 'data' | 'version'>;
  if (definition.type === 'agent') {
    // A reference, not the definition: the agent service runs what its registry defines under
    // this id, and refuses the request when that is not the revision this execution started with.
    const agentRef = { id: definition.agent, revision: agentRevision(agentSpecOf(definition)) };
    request = {
      eventType: EventSubjects.AGENT_EXECUTION_REQUESTED,
      version: AGENT_REQUEST_VERSION,
      data: { agentId: definition.agent, executionId: state.executionId, nodeId: node.id, input, agentRef },
    };
  } else {
    let params: unknown;
    try {
      params = renderValue(definition.params ?? {}, input);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      failNode(state, node, { message: `cannot fill the parameters of tool "${definition.tool}": ${err.message}`, code: err.code }, causationId, ctx.now);
      return;
    }
    request = {
      eventType: EventSubjects.TOOL_EXECUTION_REQUESTED,
      data: { executionId: state.executionId, nodeId: node.id, toolId: definition.tool, input: params },
    };
  }
  state.outbox.push({ eventId: node.dispatchEventId, ...request, ...(causationId === undefined ? {} : { causationId }) });
}

/** Dispatches every pending node whose parents all completed. */
function dispatchReady(state: ExecutionState, ctx: TransitionContext, causationId: string | undefined): void {
  for (const node of Object.values(state.nodes)) {
    if (state.status !== 'running') return;
    if (node.status !== 'pending') continue;
    if (node.dependsOn.every((dep) => state.nodes[dep]?.status === 'completed')) dispatch(state, node, ctx, causationId);
  }
}

/**
 * The record an execution request starts from: a new one built from the request, the current
 * one while it is `requested`, or the current one revived when the request is the replay of the
 * dead-lettered request that failed it. Undefined when the request changes nothing (the
 * execution started, or ended for another reason).
 */
function requestedRecord(current: ExecutionState | undefined, request: StartRequest, ctx: TransitionContext, input: Record<string, unknown>): ExecutionState | undefined {
  if (current !== undefined) {
    // The input is replaced, so it is not cloned.
    const base = { ...current, input: {} };
    if (current.status === 'requested') return { ...clone(base, ctx.now), input };
    // Only an execution that never started: a replayed request starts it from the beginning.
    if (current.workflow === undefined && current.error !== undefined && answersReplay(current, request)) {
      return { ...revive(base, current.error, request.eventId, 'requested', ctx), input };
    }
    return undefined;
  }
  const { data } = request;
  return {
    executionId: data.executionId,
    workflowId: data.workflowId,
    userId: data.userId,
    correlationId: request.correlationId ?? request.eventId,
    status: 'requested',
    input,
    requestedAt: request.timestamp.toISOString(),
    nodes: {},
    outbox: [],
    version: 1,
    updatedAt: ctx.now.toISOString(),
  };
}

/**
 * `workflow.execution.requested`: creates the running execution (or fails it for an unknown
 * workflow or invalid input) and dispatches the root nodes. A no-op once it has started, or
 * ended, unless the request is the replay of the dead-lettered request that failed it: then the
 * execution is revived (`execution.resumed`) and starts with the replayed request's input.
 * The input must be within the limits (`checkInputLimits`); else use {@link rejectExecution}.
 */
export function startExecution(
  current: ExecutionState | undefined,
  request: StartRequest,
  workflow: WorkflowDefinition | undefined,
  ctx: TransitionContext,
): ExecutionState | undefined {
  const state = requestedRecord(current, request, ctx, current?.status === 'requested' ? current.input : (request.data.input ?? {}));
  if (state === undefined) return undefined;
  state.startedAt = ctx.now.toISOString();
  if (workflow === undefined) {
    failExecution(state, { message: `unknown workflow "${request.data.workflowId}"`, code: 'UNKNOWN_WORKFLOW' }, request.eventId, ctx.now);
    return state;
  }
  const input = validateWorkflowInput(workflow, state.input);
  if (!input.ok) {
    failExecution(state, { message: `invalid input: ${input.issues.join('; ')}`, code: 'INVALID_INPUT' }, request.eventId, ctx.now);
    return state;
  }
  state.input = input.value;
  state.workflow = workflow;
  state.status = 'running';
  for (const node of workflow.nodes) {
    state.nodes[node.id] = { id: node.id, type: node.type, status: 'pending', dependsOn: node.dependsOn ?? [], attempt: 0 };
  }
  emit(state, EventSubjects.EXECUTION_STARTED, 'execution-started', { executionId: state.executionId, workflowId: state.workflowId, userId: state.userId }, request.eventId);
  dispatchReady(state, ctx, request.eventId);
  return state;
}

/**
 * `workflow.execution.requested` that cannot run (an input too large or nested too deeply, or
 * the request was dead-lettered): the execution fails at once with `error`. The record keeps
 * the input it already had (the gateway's first record), never the request's: that may be what
 * could not be carried. A no-op once the execution has started, or ended (a replay of the
 * request that failed it revives it, and it fails again with `error`).
 */
export function rejectExecution(current: ExecutionState | undefined, request: StartRequest, error: ErrorInfo, ctx: TransitionContext): ExecutionState | undefined {
  const state = requestedRecord(current, request, ctx, current?.input ?? {});
  if (state === undefined) return undefined;
  state.startedAt = ctx.now.toISOString();
  failExecution(state, error, request.eventId, ctx.now);
  return state;
}

/**
 * An agent or tool reported how a node ended. Ignored (no-op) unless the node is running and
 * the report answers its current dispatch: a duplicate, a late answer after a timeout, or an
 * answer to an older attempt changes nothing. One exception: an execution that failed because
 * an event of this node was dead-lettered is revived by the report that answers the replay of
 * that DLQ record (the replayed report itself, or the report of the replayed request), and the
 * node settles with it.
 */
export function settleNode(current: ExecutionState | undefined, nodeId: string, outcome: NodeOutcome, ctx: TransitionContext): ExecutionState | undefined {
  if (current === undefined) return undefined;
  if (current.status === 'failed') return reviveNode(current, nodeId, outcome, ctx);
  if (current.status !== 'running') return undefined;
  const existing = current.nodes[nodeId];
  if (existing === undefined || existing.status !== 'running') return undefined;
  if (outcome.causationId !== undefined && existing.dispatchEventId !== undefined && outcome.causationId !== existing.dispatchEventId) return undefined;
  return settle(clone(current, ctx.now), nodeId, outcome, ctx);
}

/** Revives a failed execution with the report that answers the replay of its dead letter, if this one does. */
function reviveNode(current: ExecutionState, nodeId: string, outcome: NodeOutcome, ctx: TransitionContext): ExecutionState | undefined {
  const error = current.error;
  if (error?.nodeId !== nodeId || !answersReplay(current, outcome)) return undefined;
  const state = revive(current, error, outcome.eventId, 'running', ctx);
  const node = nodeOf(state, nodeId);
  node.status = 'running';
  delete node.error;
  delete node.finishedAt;
  return settle(state, nodeId, outcome, ctx);
}

/** Settles a running node of a cloned state with its outcome, then ends the execution or dispatches what is ready. */
function settle(state: ExecutionState, nodeId: string, outcome: NodeOutcome, ctx: TransitionContext): ExecutionState {
  const node = nodeOf(state, nodeId);
  if (!outcome.ok) {
    failNode(state, node, outcome.error, outcome.eventId, ctx.now, outcome.eventId);
    return state;
  }
  node.status = 'completed';
  node.output = outcome.output;
  node.finishedAt = ctx.now.toISOString();
  node.settledByEventId = outcome.eventId;
  emit(state, EventSubjects.EXECUTION_NODE_COMPLETED, 'node-completed', { executionId: state.executionId, nodeId, output: outcome.output }, outcome.eventId, nodeId, node.attempt);
  if (Object.values(state.nodes).every((n) => n.status === 'completed')) {
    state.status = 'completed';
    state.output = executionOutput(state);
    state.finishedAt = ctx.now.toISOString();
    state.durationMs = ctx.now.getTime() - Date.parse(state.startedAt ?? state.requestedAt);
    emit(
      state,
      EventSubjects.EXECUTION_COMPLETED,
      'execution-completed',
      { executionId: state.executionId, workflowId: state.workflowId, output: state.output, durationMs: state.durationMs },
      outcome.eventId,
    );
    return state;
  }
  dispatchReady(state, ctx, outcome.eventId);
  return state;
}

/** Who asks to cancel an execution, and why. */
export interface CancelRequest {
  reason?: string;
  /** Who cancelled it (a user ID); recorded in the state and the event. */
  cancelledBy?: string;
}

/**
 * An operator cancels an execution that has not ended (`requested` or `running`): it becomes
 * `cancelled`, running nodes `cancelled`, pending ones `skipped`, and `execution.cancelled` is
 * decided. Nothing is dispatched after it: every later transition leaves an ended execution as
 * it is, so a report of a node that was running changes nothing. Undefined (no change) once
 * the execution has ended, cancelled included.
 */
export function cancelExecution(current: ExecutionState | undefined, request: CancelRequest, ctx: TransitionContext): ExecutionState | undefined {
  if (current === undefined || isTerminal(current.status)) return undefined;
  const state = clone(current, ctx.now);
  state.status = 'cancelled';
  state.cancellation = { ...(request.reason === undefined ? {} : { reason: request.reason }), ...(request.cancelledBy === undefined ? {} : { cancelledBy: request.cancelledBy }) };
  state.finishedAt = ctx.now.toISOString();
  if (state.startedAt !== undefined) state.durationMs = ctx.now.getTime() - Date.parse(state.startedAt);
  for (const node of Object.values(state.nodes)) {
    if (node.status === 'running') {
      node.status = 'cancelled';
      node.finishedAt = state.finishedAt;
      node.error = { message: 'aborted: the execution was cancelled', code: 'CANCELLED' };
    } else if (node.status === 'pending') {
      node.status = 'skipped';
      node.error = { message: 'not run: the execution was cancelled', code: 'SKIPPED' };
    }
  }
  emit(state, EventSubjects.EXECUTION_CANCELLED, 'execution-cancelled', {
    executionId: state.executionId,
    workflowId: state.workflowId,
    ...(request.cancelledBy === undefined ? {} : { userId: request.cancelledBy }),
    ...(request.reason === undefined ? {} : { reason: request.reason }),
  }, undefined);
  return state;
}

/** A DLQ record of an event that belongs to an execution: what the orchestration fails it with. */
export interface DeadLetteredEvent {
  /** The record's sequence in the DLQ stream (what `multi-agent dlq show/replay` take). */
  dlqSequence: number;
  /** The original event's id and causationId: they tie it to a node's dispatch. */
  eventId: string;
  causationId?: string;
  /** The node it was about, when it was about one. */
  nodeId?: string;
  /** The failure as users read it. */
  error: ErrorInfo;
}

/**
 * An event of the execution was dead-lettered: the orchestration gave up on it, or an agent,
 * tool or model did. With a `nodeId`, the node fails (and so the execution) when it is still
 * running the dispatch the event belongs to (its request, or a report or model call caused by
 * it); a dead letter of an older dispatch changes nothing. Without one, the execution fails.
 * A finished execution does not change (for a dead replay of its own dead letter, see
 * {@link redirectDeadLetter}).
 */
export function failDeadLettered(current: ExecutionState | undefined, dead: DeadLetteredEvent, ctx: TransitionContext): ExecutionState | undefined {
  if (current === undefined || isTerminal(current.status)) return undefined;
  if (dead.nodeId === undefined) {
    const state = clone(current, ctx.now);
    failExecution(state, dead.error, dead.eventId, ctx.now);
    return state;
  }
  const existing = current.nodes[dead.nodeId];
  if (existing === undefined || existing.status !== 'running') return undefined;
  if (dead.eventId !== existing.dispatchEventId && dead.causationId !== existing.dispatchEventId) return undefined;
  const state = clone(current, ctx.now);
  failNode(state, nodeOf(state, dead.nodeId), dead.error, dead.eventId, ctx.now);
  return state;
}

/**
 * The replay of the event that failed the execution was dead-lettered too (replayed before the
 * cause was fixed), or an event it caused was: the execution stays failed, and its error (and
 * its node's) now names the newer DLQ record, the one whose replay revives it. Undefined for any
 * other dead letter; nothing is published (the execution's state did not change).
 */
export function redirectDeadLetter(current: ExecutionState | undefined, dead: DeadLetteredEvent, ctx: TransitionContext): ExecutionState | undefined {
  if (current?.error === undefined || !answersReplay(current, dead)) return undefined;
  const state = clone(current, ctx.now);
  const { nodeId } = current.error;
  state.error = { ...dead.error, ...(nodeId === undefined ? {} : { nodeId }) };
  const node = nodeId === undefined ? undefined : state.nodes[nodeId];
  if (node?.status === 'failed') node.error = dead.error;
  return state;
}

/**
 * The id of the event that revives a failed execution: the replay of the DLQ record that failed
 * it (the `replayEventId` its `DEAD_LETTERED` error carries). Undefined for any other state: an
 * execution that completed, was cancelled, or failed for another reason is never revived.
 */
export function revivingEventId(state: ExecutionState): string | undefined {
  if (state.status !== 'failed' || state.error?.code !== 'DEAD_LETTERED') return undefined;
  const id = state.error.replayEventId;
  return typeof id === 'string' ? id : undefined;
}

/** True when `event` is the replay of the event that failed the execution, or was caused by it. */
function answersReplay(state: ExecutionState, event: { eventId: string; causationId?: string | undefined }): boolean {
  const replay = revivingEventId(state);
  return replay !== undefined && (event.eventId === replay || event.causationId === replay);
}

/**
 * A failed execution back at work (a clone): the failure it leaves goes to `revivals`, the nodes
 * the failure skipped wait to run again (one that was running is dispatched anew, with a new
 * attempt), and `execution.resumed` is decided. The node the dead letter was about is the
 * caller's.
 */
function revive(current: ExecutionState, error: ExecutionError, byEventId: string, status: 'requested' | 'running', ctx: TransitionContext): ExecutionState {
  const state = clone(current, ctx.now);
  const revivedAt = ctx.now.toISOString();
  state.revivals = [...(state.revivals ?? []), { error, ...(state.finishedAt === undefined ? {} : { failedAt: state.finishedAt }), revivedAt, byEventId }];
  state.status = status;
  delete state.error;
  delete state.finishedAt;
  delete state.durationMs;
  for (const node of Object.values(state.nodes)) {
    if (node.status !== 'skipped') continue;
    node.status = 'pending';
    delete node.error;
  }
  emit(state, EventSubjects.EXECUTION_RESUMED, 'execution-resumed', {
    executionId: state.executionId,
    workflowId: state.workflowId,
    ...(error.nodeId === undefined ? {} : { nodeId: error.nodeId }),
    dlqSequence: error.dlqSequence,
    replayEventId: error.replayEventId,
    error: { message: error.message, ...(error.code === undefined ? {} : { code: error.code }) },
  }, byEventId);
  return state;
}

/**
 * The record without the values that made it too large to store: the input and every node's
 * input and output. Used to record a failure when the full record can no longer be written.
 */
export function compactRecord(state: ExecutionState): ExecutionState {
  const nodes = Object.fromEntries(Object.entries(state.nodes).map(([id, node]) => {
    const { input: _input, output: _output, ...kept } = node;
    return [id, kept];
  }));
  const { output: _output, ...rest } = state;
  return { ...rest, input: {}, nodes };
}

/** Fails the first running node past its deadline with `NODE_TIMEOUT` (and so the execution). */
export function expireNodes(current: ExecutionState | undefined, ctx: TransitionContext): ExecutionState | undefined {
  if (current === undefined || current.status !== 'running') return undefined;
  const expired = Object.values(current.nodes).find(
    (n) => n.status === 'running' && n.deadlineAt !== undefined && Date.parse(n.deadlineAt) <= ctx.now.getTime(),
  );
  if (expired === undefined) return undefined;
  const state = clone(current, ctx.now);
  const node = nodeOf(state, expired.id);
  const deadline = Date.parse(node.deadlineAt ?? ctx.now.toISOString());
  const allowed = deadline - (node.startedAt === undefined ? deadline : Date.parse(node.startedAt));
  failNode(state, node, { message: `node "${node.id}" did not finish within ${allowed} ms`, code: 'NODE_TIMEOUT' }, node.dispatchEventId, ctx.now);
  return state;
}

/** The earliest deadline of a running node, or undefined. */
export function nextDeadline(state: ExecutionState): number | undefined {
  const deadlines = Object.values(state.nodes)
    .flatMap((n) => (n.status === 'running' && n.deadlineAt !== undefined ? [Date.parse(n.deadlineAt)] : []));
  return deadlines.length === 0 ? undefined : Math.min(...deadlines);
}
