/**
 * The typed events of the platform: one `XxxEvent` per subject, and the subject -> data map
 * that lets `createEvent` and the client's `subscribe` infer an event's type from its subject.
 *
 * @packageDocumentation
 */
import type { DomainEvent } from './base.js';
import type { EventSubjects } from './subjects.js';
import type {
  AgentCreatedData,
  AgentDeletedData,
  AgentExecutionCompletedData,
  AgentExecutionFailedData,
  AgentExecutionRequestedData,
  AgentExecutionStartedData,
  AgentUpdatedData,
  ExecutionCancelledData,
  ExecutionCompletedData,
  ExecutionFailedData,
  ExecutionNodeCompletedData,
  ExecutionNodeFailedData,
  ExecutionNodeStartedData,
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

/** `workflow.created` */
export type WorkflowCreatedEvent = DomainEvent<typeof EventSubjects.WORKFLOW_CREATED, WorkflowCreatedData>;
/** `workflow.updated` */
export type WorkflowUpdatedEvent = DomainEvent<typeof EventSubjects.WORKFLOW_UPDATED, WorkflowUpdatedData>;
/** `workflow.deleted` */
export type WorkflowDeletedEvent = DomainEvent<typeof EventSubjects.WORKFLOW_DELETED, WorkflowDeletedData>;
/** `workflow.execution.requested` */
export type WorkflowExecutionRequestedEvent = DomainEvent<
  typeof EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
  WorkflowExecutionRequestedData
>;

/** `execution.started` */
export type ExecutionStartedEvent = DomainEvent<typeof EventSubjects.EXECUTION_STARTED, ExecutionStartedData>;
/** `execution.completed` */
export type ExecutionCompletedEvent = DomainEvent<typeof EventSubjects.EXECUTION_COMPLETED, ExecutionCompletedData>;
/** `execution.failed` */
export type ExecutionFailedEvent = DomainEvent<typeof EventSubjects.EXECUTION_FAILED, ExecutionFailedData>;
/** `execution.cancelled` */
export type ExecutionCancelledEvent = DomainEvent<typeof EventSubjects.EXECUTION_CANCELLED, ExecutionCancelledData>;

/** `execution.node.started` */
export type ExecutionNodeStartedEvent = DomainEvent<
  typeof EventSubjects.EXECUTION_NODE_STARTED,
  ExecutionNodeStartedData
>;
/** `execution.node.completed` */
export type ExecutionNodeCompletedEvent = DomainEvent<
  typeof EventSubjects.EXECUTION_NODE_COMPLETED,
  ExecutionNodeCompletedData
>;
/** `execution.node.failed` */
export type ExecutionNodeFailedEvent = DomainEvent<typeof EventSubjects.EXECUTION_NODE_FAILED, ExecutionNodeFailedData>;

/** `agent.created` */
export type AgentCreatedEvent = DomainEvent<typeof EventSubjects.AGENT_CREATED, AgentCreatedData>;
/** `agent.updated` */
export type AgentUpdatedEvent = DomainEvent<typeof EventSubjects.AGENT_UPDATED, AgentUpdatedData>;
/** `agent.deleted` */
export type AgentDeletedEvent = DomainEvent<typeof EventSubjects.AGENT_DELETED, AgentDeletedData>;

/** `agent.execution.requested` */
export type AgentExecutionRequestedEvent = DomainEvent<
  typeof EventSubjects.AGENT_EXECUTION_REQUESTED,
  AgentExecutionRequestedData
>;
/** `agent.execution.started` */
export type AgentExecutionStartedEvent = DomainEvent<
  typeof EventSubjects.AGENT_EXECUTION_STARTED,
  AgentExecutionStartedData
>;
/** `agent.execution.completed` */
export type AgentExecutionCompletedEvent = DomainEvent<
  typeof EventSubjects.AGENT_EXECUTION_COMPLETED,
  AgentExecutionCompletedData
>;
/** `agent.execution.failed` */
export type AgentExecutionFailedEvent = DomainEvent<
  typeof EventSubjects.AGENT_EXECUTION_FAILED,
  AgentExecutionFailedData
>;

/** `tool.execution.requested` */
export type ToolExecutionRequestedEvent = DomainEvent<
  typeof EventSubjects.TOOL_EXECUTION_REQUESTED,
  ToolExecutionRequestedData
>;
/** `tool.execution.completed` */
export type ToolExecutionCompletedEvent = DomainEvent<
  typeof EventSubjects.TOOL_EXECUTION_COMPLETED,
  ToolExecutionCompletedData
>;
/** `tool.execution.failed` */
export type ToolExecutionFailedEvent = DomainEvent<typeof EventSubjects.TOOL_EXECUTION_FAILED, ToolExecutionFailedData>;

/** `tool.execute.request` (core request/reply) */
export type ToolExecuteRequestEvent = DomainEvent<typeof EventSubjects.TOOL_EXECUTE_REQUEST, ToolExecuteRequestData>;
/** `tool.execute.response` (core request/reply) */
export type ToolExecuteResponseEvent = DomainEvent<typeof EventSubjects.TOOL_EXECUTE_RESPONSE, ToolExecuteResponseData>;

/** `model.inference.requested` */
export type ModelInferenceRequestedEvent = DomainEvent<
  typeof EventSubjects.MODEL_INFERENCE_REQUESTED,
  ModelInferenceRequestedData
>;
/** `model.inference.completed` */
export type ModelInferenceCompletedEvent = DomainEvent<
  typeof EventSubjects.MODEL_INFERENCE_COMPLETED,
  ModelInferenceCompletedData
>;
/** `model.inference.failed` */
export type ModelInferenceFailedEvent = DomainEvent<
  typeof EventSubjects.MODEL_INFERENCE_FAILED,
  ModelInferenceFailedData
>;

/** `vector.upserted` */
export type VectorUpsertedEvent = DomainEvent<typeof EventSubjects.VECTOR_UPSERTED, VectorUpsertedData>;
/** `vector.deleted` */
export type VectorDeletedEvent = DomainEvent<typeof EventSubjects.VECTOR_DELETED, VectorDeletedData>;
/** `vector.search.completed` */
export type VectorSearchCompletedEvent = DomainEvent<
  typeof EventSubjects.VECTOR_SEARCH_COMPLETED,
  VectorSearchCompletedData
>;
