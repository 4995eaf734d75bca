/**
 * The orchestration service on the bus. Consumes (durable consumers shared by replicas):
 * `workflow.execution.requested`, `agent.execution.completed|failed`,
 * `tool.execution.completed|failed`. Publishes: `execution.started`, `execution.node.started`,
 * `agent.execution.requested` / `tool.execution.requested` per ready node,
 * `execution.node.completed|failed`, and `execution.completed|failed`.
 *
 * Each handler is: decide the transition on the KV record with compare-and-set, then publish
 * the record's outbox. A redelivered event finds its transition applied (no-op) and only
 * publishes what may still be unpublished: that is how a killed process resumes.
 */
import { EventSubjects } from '@multi-agent/events';
import type {
  AgentExecutionCompletedEvent,
  AgentExecutionFailedEvent,
  DomainEvent,
  ErrorInfo,
  ToolExecutionCompletedEvent,
  ToolExecutionFailedEvent,
  WorkflowExecutionRequestedEvent,
} from '@multi-agent/events';
import type { HandlerContext, NatsClient, Subscription } from '@multi-agent/nats-client';
import { counter, ExecutionStore } from '@multi-agent/service-kit';
import type { StopService, WorkflowDefinition } from '@multi-agent/service-kit';
import { OutboxPublisher } from './outbox.js';
import { Sweeper } from './sweeper.js';
import { settleNode, startExecution } from './transitions.js';
import type { NodeOutcome, TransitionContext } from './transitions.js';

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

type NodeEvent = AgentExecutionCompletedEvent | AgentExecutionFailedEvent | ToolExecutionCompletedEvent | ToolExecutionFailedEvent;

/**
 * Starts the orchestration service on a connected client.
 *
 * @returns a function that stops its subscriptions and sweeper (the client stays open)
 */
export async function startOrchestration(client: NatsClient, options: OrchestrationOptions): Promise<StopService> {
  const store = await ExecutionStore.open(client.jetstream.js, { replicas: options.replicas ?? client.config.replicas });
  const outbox = new OutboxPublisher(client, store);
  const context = (): TransitionContext => ({ now: new Date(), defaultNodeTimeoutMs: options.defaultNodeTimeoutMs ?? 120_000 });
  const staleRequestMs = options.staleRequestMs ?? 15 * 60_000;
  const concurrency = options.concurrency ?? 16;
  const registry = client.metrics.registry;
  const executions = counter(registry, 'orchestration_executions_total', 'Executions that ended, by workflow and status.', ['workflow', 'status']);
  const transitions = counter(registry, 'orchestration_transitions_total', 'State changes applied, by trigger.', ['trigger']);

  const record = (trigger: string, before: string | undefined, after: { state: { status: string; workflowId: string } } | undefined, changed: boolean): void => {
    if (!changed || after === undefined) return;
    transitions.inc({ trigger });
    if (before !== after.state.status && (after.state.status === 'completed' || after.state.status === 'failed')) {
      executions.inc({ workflow: after.state.workflowId, status: after.state.status });
    }
  };

  const onRequested = async (event: WorkflowExecutionRequestedEvent, ctx: HandlerContext): Promise<void> => {
    const { executionId, workflowId } = event.data;
    let before: string | undefined;
    const stale = Date.now() - event.timestamp.getTime() > staleRequestMs;
    const { stored, changed } = await store.mutate(executionId, (current) => {
      before = current?.status;
      if (current === undefined && stale) return undefined;
      return startExecution(current, event, options.workflows.get(workflowId), context());
    });
    if (stored === undefined) {
      ctx.logger.warn({ executionId, workflowId, at: event.timestamp }, 'ignoring a stale execution request with no record');
      return;
    }
    record('requested', before, stored, changed);
    await outbox.flush(stored);
  };

  const onNodeEvent = (outcomeOf: (event: NodeEvent) => NodeOutcome) => async (event: NodeEvent, ctx: HandlerContext): Promise<void> => {
    const { executionId, nodeId } = event.data;
    let before: string | undefined;
    const { stored, changed } = await store.mutate(executionId, (current) => {
      before = current?.status;
      return settleNode(current, nodeId, outcomeOf(event), context());
    });
    if (stored === undefined) {
      ctx.logger.warn({ executionId, nodeId, eventType: event.eventType }, 'ignoring a node event of an unknown execution');
      return;
    }
    record(event.eventType, before, stored, changed);
    await outbox.flush(stored);
  };

  const succeeded = onNodeEvent((event) => ({
    ok: true,
    output: (event.data as { output?: unknown }).output,
    eventId: event.eventId,
    ...(event.causationId === undefined ? {} : { causationId: event.causationId }),
  }));
  const failed = onNodeEvent((event) => ({
    ok: false,
    error: (event.data as { error: ErrorInfo }).error,
    eventId: event.eventId,
    ...(event.causationId === undefined ? {} : { causationId: event.causationId }),
  }));

  const subscriptions: Subscription[] = [];
  const subscribe = async <E extends DomainEvent>(subject: string, handler: (event: E, ctx: HandlerContext) => Promise<void>): Promise<void> => {
    subscriptions.push(await client.subscribe<E>(subject, handler, undefined, { concurrency }));
  };
  await subscribe<WorkflowExecutionRequestedEvent>(EventSubjects.WORKFLOW_EXECUTION_REQUESTED, onRequested);
  await subscribe<NodeEvent>(EventSubjects.AGENT_EXECUTION_COMPLETED, succeeded);
  await subscribe<NodeEvent>(EventSubjects.AGENT_EXECUTION_FAILED, failed);
  await subscribe<NodeEvent>(EventSubjects.TOOL_EXECUTION_COMPLETED, succeeded);
  await subscribe<NodeEvent>(EventSubjects.TOOL_EXECUTION_FAILED, failed);

  const sweeper = new Sweeper(store, outbox, {
    intervalMs: options.sweepIntervalMs ?? 1000,
    outboxGraceMs: options.outboxGraceMs ?? 3000,
    startupGraceMs: options.startupGraceMs ?? 2000,
    context,
    logger: client.logger,
  });
  await sweeper.start();

  return async () => {
    await Promise.all(subscriptions.map((s) => s.stop()));
    await sweeper.stop();
  };
}
