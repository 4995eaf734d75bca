/**
 * Reading DLQ records as execution failures. Any service that gives up on an event of an
 * execution (the orchestration itself, an agent, a tool, the model; a handler error, a
 * non-retryable error, or the advisory watcher after a crash) writes a record on
 * `dlq.<consumer>` carrying the original event. The orchestration consumes `dlq.*` with its
 * own durable and turns each record about an execution into the failure of the node the event
 * belongs to, or of the execution: no accepted execution waits for ever. The failure carries the
 * id a replay of the record will publish the event with, so the replay's arrival can revive it.
 */
import { eventFromJson, EventSubjects } from '@multi-agent/events';
import type { DeadLetterData, ErrorInfo } from '@multi-agent/events';
import { replayEventId } from '@multi-agent/nats-client';
import type { DeadLetteredEvent, StartRequest } from '@multi-agent/service-kit';

/** Subjects whose events drive an execution; a dead letter of another (e.g. `execution.*` seen by the model) fails nothing. */
const EXECUTION_SUBJECTS: ReadonlySet<string> = new Set([
  EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
  EventSubjects.AGENT_EXECUTION_REQUESTED,
  EventSubjects.TOOL_EXECUTION_REQUESTED,
  EventSubjects.MODEL_INFERENCE_REQUESTED,
  EventSubjects.AGENT_EXECUTION_COMPLETED,
  EventSubjects.AGENT_EXECUTION_FAILED,
  EventSubjects.TOOL_EXECUTION_COMPLETED,
  EventSubjects.TOOL_EXECUTION_FAILED,
]);

/** Reasons whose message describes the event itself, so the user can read it; the others are internal. */
const USER_FACING_REASONS: ReadonlySet<string> = new Set(['non-retryable', 'validation']);

/** What a DLQ record means for an execution. */
export interface ExecutionDeadLetter {
  executionId: string;
  failure: DeadLetteredEvent;
  /** Set when the dead-lettered event was the execution request (it may have no record yet). */
  request?: StartRequest;
}

/** The error a user sees for a dead-lettered event. */
export interface DeadLetterError extends ErrorInfo {
  code: 'DEAD_LETTERED';
  dlqSequence: number;
  dlqReason: string;
  service: string;
  subject: string;
  /** The id a replay of the record publishes the event with: its arrival revives the execution. */
  replayEventId: string;
}

/** The error a user sees for a dead-lettered event (`eventId`: the dead-lettered event's). */
export function deadLetterError(record: DeadLetterData, dlqSequence: number, eventId: string): DeadLetterError {
  const message = USER_FACING_REASONS.has(record.reason)
    ? `${record.errorMessage} (DLQ record ${dlqSequence})`
    : `internal error, see DLQ record ${dlqSequence}`;
  return {
    message,
    code: 'DEAD_LETTERED',
    dlqSequence,
    dlqReason: record.reason,
    service: record.service,
    subject: record.originalSubject,
    replayEventId: replayEventId(dlqSequence, eventId),
  };
}

/** The execution failure a DLQ record stands for, or undefined when it is not about an execution. */
export function executionDeadLetter(record: DeadLetterData, dlqSequence: number): ExecutionDeadLetter | undefined {
  if (record.originalEvent === undefined || !EXECUTION_SUBJECTS.has(record.originalSubject)) return undefined;
  const original = eventFromJson(record.originalEvent);
  const data = (original.data ?? {}) as { executionId?: unknown; nodeId?: unknown; workflowId?: unknown; userId?: unknown };
  if (typeof data.executionId !== 'string') return undefined;
  const failure: DeadLetteredEvent = {
    dlqSequence,
    eventId: original.eventId,
    ...(original.causationId === undefined ? {} : { causationId: original.causationId }),
    ...(typeof data.nodeId === 'string' ? { nodeId: data.nodeId } : {}),
    error: deadLetterError(record, dlqSequence, original.eventId),
  };
  if (record.originalSubject !== EventSubjects.WORKFLOW_EXECUTION_REQUESTED) return { executionId: data.executionId, failure };
  const request: StartRequest = {
    eventId: original.eventId,
    ...(original.correlationId === undefined ? {} : { correlationId: original.correlationId }),
    timestamp: original.timestamp,
    data: { executionId: data.executionId, workflowId: String(data.workflowId), userId: String(data.userId) },
  };
  return { executionId: data.executionId, failure, request };
}
