/**
 * The state of one execution as stored in the `EXECUTIONS` KV bucket (key = executionId).
 * The orchestration service owns its transitions; the gateway creates the first record
 * (`requested`) and reads it for `GET /api/executions/:id`.
 */
import type { ErrorInfo } from '@multi-agent/events';
import type { WorkflowDefinition } from '../workflow/schema.js';

/** Where an execution is. `cancelled`: an operator stopped it before it ended. */
export type ExecutionStatus = 'requested' | 'running' | 'completed' | 'failed' | 'cancelled';

/**
 * Where one node is. `skipped`: never ran, or was abandoned because another node failed or the
 * execution was cancelled. `cancelled`: it was running when the execution was cancelled.
 */
export type NodeStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';

/** An event the orchestration decided to publish, kept in the state until it is published. */
export interface OutboxEntry {
  /** Deterministic, so publishing it twice stores it once. */
  eventId: string;
  eventType: string;
  /** Schema version of `data`, when not the default `1.0`. */
  version?: string;
  data: Record<string, unknown>;
  causationId?: string;
}

/** One node of an execution. */
export interface NodeState {
  id: string;
  type: 'agent' | 'tool';
  status: NodeStatus;
  dependsOn: string[];
  /** Times the node was dispatched (1 unless retried). */
  attempt: number;
  startedAt?: string;
  /** When the node fails with `NODE_TIMEOUT` if it has not finished. */
  deadlineAt?: string;
  finishedAt?: string;
  input?: unknown;
  output?: unknown;
  error?: ErrorInfo;
  /** eventId of the `agent/tool.execution.requested` that dispatched it. */
  dispatchEventId?: string;
  /** eventId of the completion (or failure) event that settled it: proof it was settled once. */
  settledByEventId?: string;
}

/** Why an execution failed: `code`, `message`, the failed node, and details of the code (sizes, `dlqSequence`, ...). */
export type ExecutionError = ErrorInfo & { nodeId?: string; [detail: string]: unknown };

/** A failure an execution came back from: a replay of the DLQ record that failed it arrived. */
export interface Revival {
  /** The `DEAD_LETTERED` failure it left. */
  error: ExecutionError;
  failedAt?: string;
  revivedAt: string;
  /** The event that revived it: the replayed event, or the report the replayed request caused. */
  byEventId: string;
}

/** One execution. Timestamps are ISO-8601 strings. */
export interface ExecutionState {
  executionId: string;
  workflowId: string;
  userId: string;
  /** Every event of this execution carries it (the gateway sets it to the executionId). */
  correlationId: string;
  status: ExecutionStatus;
  input: Record<string, unknown>;
  requestedAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** The workflow as it was when the execution started: later edits of the file do not change a running execution. */
  workflow?: WorkflowDefinition;
  /** Nodes in workflow order. */
  nodes: Record<string, NodeState>;
  output?: unknown;
  /** Why it failed. */
  error?: ExecutionError;
  /** The dead-letter failures it was revived from, oldest first (absent until the first). */
  revivals?: Revival[];
  /** Who cancelled it and why (status `cancelled`). */
  cancellation?: { reason?: string; cancelledBy?: string };
  /** Events decided but not yet confirmed published (transactional outbox). */
  outbox: OutboxEntry[];
  /** OpenTelemetry trace of the execution, when the gateway that accepted it traces. */
  traceId?: string;
  /** Bumped by every transition. */
  version: number;
  updatedAt: string;
}

/** True once an execution has ended (a `DEAD_LETTERED` failure may yet be revived by the replay of its DLQ record). */
export function isTerminal(status: ExecutionStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}
