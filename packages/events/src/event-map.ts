/**
 * The subject -> data map of the platform's typed events, and the event types derived from it.
 * Types only: `createEvent`, the contracts and the client's `subscribe` infer an event's type
 * from its subject through it.
 *
 * @packageDocumentation
 */
import type { DomainEvent } from './base.js';
import type {
  AgentCreatedData,
  AgentDeletedData,
  AgentExecutionCompletedData,
  AgentExecutionFailedData,
  AgentExecutionRequestedData,
  AgentExecutionStartedData,
  AgentToolCalledData,
  AgentUpdatedData,
  ExecutionCancelledData,
  ExecutionCompletedData,
  ExecutionFailedData,
  ExecutionNodeCompletedData,
  ExecutionNodeFailedData,
  ExecutionNodeStartedData,
  ExecutionResumedData,
  ExecutionStartedData,
  ModelInferenceCompletedData,
  ModelInferenceFailedData,
  ModelInferenceRequestedData,
  ToolExecuteRequestData,
  ToolExecuteResponseData,
  ToolExecutionCompletedData,
  ToolExecutionFailedData,
  ToolExecutionRequestedData,
  VectorDeletedData,
  VectorSearchCompletedData,
  VectorUpsertedData,
  WorkflowCreatedData,
  WorkflowDeletedData,
  WorkflowExecutionRequestedData,
  WorkflowUpdatedData,
} from './schemas.js';


/**
 * Subject -> data type of every platform event. An interface, so an application can add its
 * own events by declaration merging (`declare module '@multi-agent/events' { interface
 * EventDataMap { 'billing.invoice.paid': InvoicePaid } }`) and register their schemas with
 * `registerEventSchema`.
 */
export interface EventDataMap {
  'workflow.created': WorkflowCreatedData;
  'workflow.updated': WorkflowUpdatedData;
  'workflow.deleted': WorkflowDeletedData;
  'workflow.execution.requested': WorkflowExecutionRequestedData;
  'execution.started': ExecutionStartedData;
  'execution.completed': ExecutionCompletedData;
  'execution.failed': ExecutionFailedData;
  'execution.cancelled': ExecutionCancelledData;
  'execution.resumed': ExecutionResumedData;
  'execution.node.started': ExecutionNodeStartedData;
  'execution.node.completed': ExecutionNodeCompletedData;
  'execution.node.failed': ExecutionNodeFailedData;
  'agent.created': AgentCreatedData;
  'agent.updated': AgentUpdatedData;
  'agent.deleted': AgentDeletedData;
  'agent.execution.requested': AgentExecutionRequestedData;
  'agent.execution.started': AgentExecutionStartedData;
  'agent.execution.completed': AgentExecutionCompletedData;
  'agent.execution.failed': AgentExecutionFailedData;
  'agent.tool.called': AgentToolCalledData;
  'tool.execution.requested': ToolExecutionRequestedData;
  'tool.execution.completed': ToolExecutionCompletedData;
  'tool.execution.failed': ToolExecutionFailedData;
  'tool.execute.request': ToolExecuteRequestData;
  'tool.execute.response': ToolExecuteResponseData;
  'model.inference.requested': ModelInferenceRequestedData;
  'model.inference.completed': ModelInferenceCompletedData;
  'model.inference.failed': ModelInferenceFailedData;
  'vector.upserted': VectorUpsertedData;
  'vector.deleted': VectorDeletedData;
  'vector.search.completed': VectorSearchCompletedData;
}

/** A subject with a typed event. */
export type KnownEventType = keyof EventDataMap;

/** The typed event of a subject, e.g. `EventOf<'execution.started'>`. */
export type EventOf<S extends keyof EventDataMap> = DomainEvent<S, EventDataMap[S]>;

/** Any typed platform event; narrow it with `switch (event.eventType)`. */
export type PlatformEvent = { [S in keyof EventDataMap]: EventOf<S> }[keyof EventDataMap];
