/**
 * An execution in one line, for lists: who, what, where it is, and why it failed. Read from
 * every record of the `EXECUTIONS` bucket in one pass ({@link ExecutionStore.summaries}).
 */
import type { ExecutionState, ExecutionStatus, NodeStatus } from './state.js';

/** What a list of executions shows per execution. */
export interface ExecutionSummary {
  executionId: string;
  workflowId: string;
  userId: string;
  status: ExecutionStatus;
  requestedAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** Nodes per status, e.g. `{ completed: 1, running: 1 }`. */
  nodes: Partial<Record<NodeStatus, number>>;
  /** Why it failed (status `failed`): code, message and the node that failed. */
  error?: { code?: string; message: string; nodeId?: string };
  /** Why it was cancelled (status `cancelled`). */
  cancellation?: { reason?: string; cancelledBy?: string };
  updatedAt: string;
}

/** The summary of one record. */
export function summarise(state: ExecutionState): ExecutionSummary {
  const nodes: Partial<Record<NodeStatus, number>> = {};
  for (const node of Object.values(state.nodes)) nodes[node.status] = (nodes[node.status] ?? 0) + 1;
  const { error } = state;
  return {
    executionId: state.executionId,
    workflowId: state.workflowId,
    userId: state.userId,
    status: state.status,
    requestedAt: state.requestedAt,
    ...(state.startedAt === undefined ? {} : { startedAt: state.startedAt }),
    ...(state.finishedAt === undefined ? {} : { finishedAt: state.finishedAt }),
    ...(state.durationMs === undefined ? {} : { durationMs: state.durationMs }),
    nodes,
    ...(error === undefined
      ? {}
      : { error: { message: error.message, ...(error.code === undefined ? {} : { code: error.code }), ...(error.nodeId === undefined ? {} : { nodeId: error.nodeId }) } }),
    ...(state.cancellation === undefined ? {} : { cancellation: state.cancellation }),
    updatedAt: state.updatedAt,
  };
}

/** Newest first: by request time, then by ID so the order is total (a stable pagination cursor). */
export function newestFirst(a: Pick<ExecutionSummary, 'requestedAt' | 'executionId'>, b: Pick<ExecutionSummary, 'requestedAt' | 'executionId'>): number {
  if (a.requestedAt !== b.requestedAt) return a.requestedAt < b.requestedAt ? 1 : -1;
  return a.executionId < b.executionId ? 1 : a.executionId > b.executionId ? -1 : 0;
}
