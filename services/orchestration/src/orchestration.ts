/**
 * The orchestration service on the bus. Consumes (durable consumers shared by replicas):
 * `workflow.execution.requested`, `agent.execution.completed|failed`,
 * `tool.execution.completed|failed`. Publishes: `execution.started`, `execution.node.started`,
 * `agent.execution.requested` / `tool.execution.requested` per ready node,
 * `execution.node.completed|failed`, `execution.completed|failed`, and `execution.resumed` when
 * the replay of a dead letter revives an execution it failed.
 *
 * Each handler is: decide the transition on the KV record with compare-and-set, then publish
 * the record's outbox. A redelivered event finds its transition applied (no-op) and only
 * publishes what may still be unpublished: that is how a killed process resumes.
 */
import { EventSubjects } from '@multi-agent/events';
import type {
  AgentExecutionCompletedEvent,
  DeadLetterEvent,
  AgentExecutionFailedEvent,
  DomainEvent,
  ErrorInfo,
  ToolExecutionCompletedEvent,
  ToolExecutionFailedEvent,
  WorkflowExecutionRequestedEvent,
} from '@multi-agent/events';
import type { HandlerContext, NatsClient, Subscription } from '@multi-agent/nats-client';
import {
  checkInputLimits,
  classifyingHandler,
  compactRecord,
  executionLimits,
  ExecutionRecordTooLargeError,
  ExecutionStore,
  failDeadLettered,
  jsonDepth,
  MAX_INPUT_DEPTH,
  OutboxPublisher,
  redirectDeadLetter,
  rejectExecution,
  settleNode,
  startExecution,
} from '@multi-agent/service-kit';
import type { ExecutionState, ExecutionStatus, NodeOutcome, StopService, TransitionContext, WorkflowDefinition } from '@multi-agent/service-kit';
import { executionDeadLetter } from './dead-letters.js';
import { ExecutionMetrics } from './execution-metrics.js';
import { Sweeper } from './sweeper.js';

/** Options of {@link startOrchestration}. */
export interface OrchestrationOptions {
  /** The workflows this instance can start, by ID. */
  workflows: Map<string, WorkflowDefinition>;
  /** Timeout of nodes that declare none (ms, default 120 000). */
  defaultNodeTimeoutMs?: number;
  /** Time between deadline/outbox sweeps (ms, default 1000). */
  sweepIntervalMs?: number;
  /** Outbox age after which a sweeper publishes it (ms, default 3000). */
  outboxGraceMs?: number;
  /** No timeouts during this long after start (ms, default 2000). */
  startupGraceMs?: number;
  /** A request older than this with no record yet is ignored (ms, default 15 min): a new consumer must not replay history. */
  staleRequestMs?: number;
  /** Events handled at once per subscription (default 16). */
  concurrency?: number;
  /** Stream replicas of the EXECUTIONS bucket (default: the client's `replicas`). */
  replicas?: number;
}

/** nats-server's default `max_payload`, for a connection that reports none. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Room for the KV message's headers (compare-and-set sequence, message id) inside `max_payload`. */
const KV_HEADER_ROOM = 1024;

type NodeEvent = AgentExecutionCompletedEvent | AgentExecutionFailedEvent | ToolExecutionCompletedEvent | ToolExecutionFailedEvent;

/** The orchestration's settings when neither the caller nor the environment sets them. */
export const orchestrationDefaults = {
  defaultNodeTimeoutMs: 120_000,
  sweepIntervalMs: 1000,
  outboxGraceMs: 3000,
  startupGraceMs: 2000,
  staleRequestMs: 15 * 60_000,
  concurrency: 16,
} as const;

/**
 * Starts the orchestration service on a connected client.
 *
 * @returns a function that stops its subscriptions and sweeper (the client stays open)
 */
export async function startOrchestration(client: NatsClient, options: OrchestrationOptions): Promise<StopService> {
  const settings = { ...orchestrationDefaults, ...options };
  const limits = executionLimits(client.natsConnection.info?.max_payload ?? DEFAULT_MAX_PAYLOAD);
  const store = await ExecutionStore.open(client.jetstream.js, {
    replicas: options.replicas ?? client.config.replicas,
    maxRecordBytes: limits.maxPayload - KV_HEADER_ROOM,
  });
  const outbox = new OutboxPublisher(client, store);
  const context = (): TransitionContext => ({ now: new Date(), defaultNodeTimeoutMs: settings.defaultNodeTimeoutMs });
  const { staleRequestMs, concurrency } = settings;
  const registry = client.metrics.registry;
  const metrics = new ExecutionMetrics(registry);
  const record = metrics.record.bind(metrics);
  const logRevival = (ctx: HandlerContext, before: ExecutionStatus | undefined, after: ExecutionState, changed: boolean): void => {
    const revival = after.revivals?.at(-1);
    // This write revived it (it may have failed again in the same write).
    if (!changed || before !== 'failed' || revival?.revivedAt !== after.updatedAt) return;
    ctx.logger.info({ executionId: after.executionId, dlqSequence: revival.error.dlqSequence, byEventId: revival.byEventId }, 'revived an execution: the replay of its dead letter arrived');
  };

  const onRequested = async (event: WorkflowExecutionRequestedEvent, ctx: HandlerContext): Promise<void> => {
    const { executionId, workflowId } = event.data;
    const workflow = options.workflows.get(workflowId);
    // Checked before anything copies the input: a deep one would overflow a clone's stack.
    const rejection = checkInputLimits(workflow, event.data.input ?? {}, limits);
    let before: ExecutionStatus | undefined;
    const stale = Date.now() - event.timestamp.getTime() > staleRequestMs;
    const { stored, changed } = await store.mutate(executionId, (current) => {
      before = current?.status;
      if (current === undefined && stale) return undefined;
      if (rejection !== undefined) return rejectExecution(current, event, { message: rejection.message, code: rejection.code, ...rejection.details }, context());
      return startExecution(current, event, workflow, context());
    });
    if (stored === undefined) {
      ctx.logger.warn({ executionId, workflowId, at: event.timestamp }, 'ignoring a stale execution request with no record');
      return;
    }
    record('requested', before, stored, changed);
    logRevival(ctx, before, stored.state, changed);
    await outbox.flush(stored);
  };

  const onNodeEvent = (outcomeOf: (event: NodeEvent) => NodeOutcome) => async (event: NodeEvent, ctx: HandlerContext): Promise<void> => {
    const { executionId, nodeId } = event.data;
    let before: ExecutionStatus | undefined;
    const { stored, changed } = await store.mutate(executionId, (current) => {
      before = current?.status;
      return settleNode(current, nodeId, outcomeOf(event), context());
    });
    if (stored === undefined) {
      ctx.logger.warn({ executionId, nodeId, eventType: event.eventType }, 'ignoring a node event of an unknown execution');
      return;
    }
    record(event.eventType, before, stored, changed);
    logRevival(ctx, before, stored.state, changed);
    await outbox.flush(stored);
  };

  const succeeded = onNodeEvent((event) => {
    const output = (event.data as { output?: unknown }).output;
    const report = { eventId: event.eventId, ...(event.causationId === undefined ? {} : { causationId: event.causationId }) };
    // The record is cloned on every transition: an output deeper than inputs may be would overflow it.
    if (jsonDepth(output, MAX_INPUT_DEPTH) > MAX_INPUT_DEPTH) {
      return { ok: false, error: { message: `output nested too deeply: more than ${MAX_INPUT_DEPTH} levels of objects and arrays`, code: 'OUTPUT_TOO_DEEP' }, ...report };
    }
    return { ok: true, output, ...report };
  });
  const failed = onNodeEvent((event) => ({
    ok: false,
    error: (event.data as { error: ErrorInfo }).error,
    eventId: event.eventId,
    ...(event.causationId === undefined ? {} : { causationId: event.causationId }),
  }));

  const onDeadLetter = async (event: DeadLetterEvent, ctx: HandlerContext): Promise<void> => {
    // A DLQ record is read from the DLQ stream, so it has a sequence.
    const dead = executionDeadLetter(event.data, ctx.streamSequence ?? 0);
    if (dead === undefined) return;
    const { executionId, failure, request } = dead;
    // A dead replay of the event that failed the execution points the failure at the newer
    // record. Else a dead request fails an execution that never started; one that started runs
    // on (a sweeper publishes what its handler could not).
    const decide = (current: ExecutionState | undefined): ExecutionState | undefined =>
      redirectDeadLetter(current, failure, context()) ??
      (request !== undefined ? rejectExecution(current, request, failure.error, context()) : failDeadLettered(current, failure, context()));
    let before: ExecutionStatus | undefined;
    let result;
    try {
      result = await store.mutate(executionId, (current) => {
        before = current?.status;
        return decide(current);
      });
    } catch (err) {
      if (!(err instanceof ExecutionRecordTooLargeError)) throw err;
      // The failure itself does not fit next to what the record holds: keep the failure, drop the values.
      result = await store.mutate(executionId, (current) => decide(current === undefined ? undefined : compactRecord(current)));
    }
    if (result.stored === undefined) return;
    if (result.changed) {
      const what = before === 'failed' ? 'a replay was dead-lettered again: the failure now names the newer record' : 'failed an execution after a dead letter';
      ctx.logger.warn({ executionId, nodeId: failure.nodeId, dlqSequence: failure.dlqSequence }, what);
    }
    record('dead-letter', before, result.stored, result.changed);
    await outbox.flush(result.stored);
  };

  const subscriptions: Subscription[] = [];
  // The subject must be one the handler's event type is published on.
  const subscribe = async <E extends DomainEvent>(subject: E['eventType'], handler: (event: E, ctx: HandlerContext) => Promise<void>): Promise<void> => {
    // Errors that would recur with the same event are thrown as non-retryable: straight to the DLQ.
    subscriptions.push(await client.subscribe<E>(subject, classifyingHandler(handler), undefined, { concurrency }));
  };
  await subscribe<WorkflowExecutionRequestedEvent>(EventSubjects.WORKFLOW_EXECUTION_REQUESTED, onRequested);
  await subscribe<NodeEvent>(EventSubjects.AGENT_EXECUTION_COMPLETED, succeeded);
  await subscribe<NodeEvent>(EventSubjects.AGENT_EXECUTION_FAILED, failed);
  await subscribe<NodeEvent>(EventSubjects.TOOL_EXECUTION_COMPLETED, succeeded);
  await subscribe<NodeEvent>(EventSubjects.TOOL_EXECUTION_FAILED, failed);
  await subscribe<DeadLetterEvent>(`${EventSubjects.DLQ}.*`, onDeadLetter);

  const sweeper = new Sweeper(store, outbox, {
    intervalMs: settings.sweepIntervalMs,
    outboxGraceMs: settings.outboxGraceMs,
    startupGraceMs: settings.startupGraceMs,
    context,
    logger: client.logger,
    metrics,
  });
  await sweeper.start();

  return async () => {
    await Promise.all(subscriptions.map((s) => s.stop()));
    await sweeper.stop();
  };
}
