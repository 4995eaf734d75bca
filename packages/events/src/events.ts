/**
 * The typed events of the platform: one `XxxEvent` per subject, and the subject -> data map
 * that lets `createEvent` and the client's `subscribe` infer an event's type from its subject.
 *
 * @packageDocumentation
 */
import type { DomainEvent } from './base.js';
import { EventSubjects } from './subjects.js';
import { eventContract } from './contracts.js';
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
/** Build, recognise and check `WorkflowCreatedEvent` at runtime (see {@link EventContract}). */
export const WorkflowCreatedEvent = eventContract(EventSubjects.WORKFLOW_CREATED);
/** `workflow.updated` */
export type WorkflowUpdatedEvent = DomainEvent<typeof EventSubjects.WORKFLOW_UPDATED, WorkflowUpdatedData>;
/** Build, recognise and check `WorkflowUpdatedEvent` at runtime (see {@link EventContract}). */
export const WorkflowUpdatedEvent = eventContract(EventSubjects.WORKFLOW_UPDATED);
/** `workflow.deleted` */
export type WorkflowDeletedEvent = DomainEvent<typeof EventSubjects.WORKFLOW_DELETED, WorkflowDeletedData>;
/** Build, recognise and check `WorkflowDeletedEvent` at runtime (see {@link EventContract}). */
export const WorkflowDeletedEvent = eventContract(EventSubjects.WORKFLOW_DELETED);
/** `workflow.execution.requested` */
export type WorkflowExecutionRequestedEvent = DomainEvent<
  typeof EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
  WorkflowExecutionRequestedData
>;
/** Build, recognise and check `WorkflowExecutionRequestedEvent` at runtime (see {@link EventContract}). */
export const WorkflowExecutionRequestedEvent = eventContract(EventSubjects.WORKFLOW_EXECUTION_REQUESTED);

/** `execution.started` */
export type ExecutionStartedEvent = DomainEvent<typeof EventSubjects.EXECUTION_STARTED, ExecutionStartedData>;
/** Build, recognise and check `ExecutionStartedEvent` at runtime (see {@link EventContract}). */
export const ExecutionStartedEvent = eventContract(EventSubjects.EXECUTION_STARTED);
/** `execution.completed` */
export type ExecutionCompletedEvent = DomainEvent<typeof EventSubjects.EXECUTION_COMPLETED, ExecutionCompletedData>;
/** Build, recognise and check `ExecutionCompletedEvent` at runtime (see {@link EventContract}). */
export const ExecutionCompletedEvent = eventContract(EventSubjects.EXECUTION_COMPLETED);
/** `execution.failed` */
export type ExecutionFailedEvent = DomainEvent<typeof EventSubjects.EXECUTION_FAILED, ExecutionFailedData>;
/** Build, recognise and check `ExecutionFailedEvent` at runtime (see {@link EventContract}). */
export const ExecutionFailedEvent = eventContract(EventSubjects.EXECUTION_FAILED);
/** `execution.cancelled` */
export type ExecutionCancelledEvent = DomainEvent<typeof EventSubjects.EXECUTION_CANCELLED, ExecutionCancelledData>;
/** Build, recognise and check `ExecutionCancelledEvent` at runtime (see {@link EventContract}). */
export const ExecutionCancelledEvent = eventContract(EventSubjects.EXECUTION_CANCELLED);

/** `execution.node.started` */
export type ExecutionNodeStartedEvent = DomainEvent<
  typeof EventSubjects.EXECUTION_NODE_STARTED,
  ExecutionNodeStartedData
>;
/** Build, recognise and check `ExecutionNodeStartedEvent` at runtime (see {@link EventContract}). */
export const ExecutionNodeStartedEvent = eventContract(EventSubjects.EXECUTION_NODE_STARTED);
/** `execution.node.completed` */
export type ExecutionNodeCompletedEvent = DomainEvent<
  typeof EventSubjects.EXECUTION_NODE_COMPLETED,
  ExecutionNodeCompletedData
>;
/** Build, recognise and check `ExecutionNodeCompletedEvent` at runtime (see {@link EventContract}). */
export const ExecutionNodeCompletedEvent = eventContract(EventSubjects.EXECUTION_NODE_COMPLETED);
/** `execution.node.failed` */
export type ExecutionNodeFailedEvent = DomainEvent<typeof EventSubjects.EXECUTION_NODE_FAILED, ExecutionNodeFailedData>;
/** Build, recognise and check `ExecutionNodeFailedEvent` at runtime (see {@link EventContract}). */
export const ExecutionNodeFailedEvent = eventContract(EventSubjects.EXECUTION_NODE_FAILED);

/** `agent.created` */
export type AgentCreatedEvent = DomainEvent<typeof EventSubjects.AGENT_CREATED, AgentCreatedData>;
/** Build, recognise and check `AgentCreatedEvent` at runtime (see {@link EventContract}). */
export const AgentCreatedEvent = eventContract(EventSubjects.AGENT_CREATED);
/** `agent.updated` */
export type AgentUpdatedEvent = DomainEvent<typeof EventSubjects.AGENT_UPDATED, AgentUpdatedData>;
/** Build, recognise and check `AgentUpdatedEvent` at runtime (see {@link EventContract}). */
export const AgentUpdatedEvent = eventContract(EventSubjects.AGENT_UPDATED);
/** `agent.deleted` */
export type AgentDeletedEvent = DomainEvent<typeof EventSubjects.AGENT_DELETED, AgentDeletedData>;
/** Build, recognise and check `AgentDeletedEvent` at runtime (see {@link EventContract}). */
export const AgentDeletedEvent = eventContract(EventSubjects.AGENT_DELETED);

/** `agent.execution.requested` */
export type AgentExecutionRequestedEvent = DomainEvent<
  typeof EventSubjects.AGENT_EXECUTION_REQUESTED,
  AgentExecutionRequestedData
>;
/** Build, recognise and check `AgentExecutionRequestedEvent` at runtime (see {@link EventContract}). */
export const AgentExecutionRequestedEvent = eventContract(EventSubjects.AGENT_EXECUTION_REQUESTED);
/** `agent.execution.started` */
export type AgentExecutionStartedEvent = DomainEvent<
  typeof EventSubjects.AGENT_EXECUTION_STARTED,
  AgentExecutionStartedData
>;
/** Build, recognise and check `AgentExecutionStartedEvent` at runtime (see {@link EventContract}). */
export const AgentExecutionStartedEvent = eventContract(EventSubjects.AGENT_EXECUTION_STARTED);
/** `agent.execution.completed` */
export type AgentExecutionCompletedEvent = DomainEvent<
  typeof EventSubjects.AGENT_EXECUTION_COMPLETED,
  AgentExecutionCompletedData
>;
/** Build, recognise and check `AgentExecutionCompletedEvent` at runtime (see {@link EventContract}). */
export const AgentExecutionCompletedEvent = eventContract(EventSubjects.AGENT_EXECUTION_COMPLETED);
/** `agent.execution.failed` */
export type AgentExecutionFailedEvent = DomainEvent<
  typeof EventSubjects.AGENT_EXECUTION_FAILED,
  AgentExecutionFailedData
>;
/** Build, recognise and check `AgentExecutionFailedEvent` at runtime (see {@link EventContract}). */
export const AgentExecutionFailedEvent = eventContract(EventSubjects.AGENT_EXECUTION_FAILED);

/** `tool.execution.requested` */
export type ToolExecutionRequestedEvent = DomainEvent<
  typeof EventSubjects.TOOL_EXECUTION_REQUESTED,
  ToolExecutionRequestedData
>;
/** Build, recognise and check `ToolExecutionRequestedEvent` at runtime (see {@link EventContract}). */
export const ToolExecutionRequestedEvent = eventContract(EventSubjects.TOOL_EXECUTION_REQUESTED);
/** `tool.execution.completed` */
export type ToolExecutionCompletedEvent = DomainEvent<
  typeof EventSubjects.TOOL_EXECUTION_COMPLETED,
  ToolExecutionCompletedData
>;
/** Build, recognise and check `ToolExecutionCompletedEvent` at runtime (see {@link EventContract}). */
export const ToolExecutionCompletedEvent = eventContract(EventSubjects.TOOL_EXECUTION_COMPLETED);
/** `tool.execution.failed` */
export type ToolExecutionFailedEvent = DomainEvent<typeof EventSubjects.TOOL_EXECUTION_FAILED, ToolExecutionFailedData>;
/** Build, recognise and check `ToolExecutionFailedEvent` at runtime (see {@link EventContract}). */
export const ToolExecutionFailedEvent = eventContract(EventSubjects.TOOL_EXECUTION_FAILED);

/** `tool.execute.request` (core request/reply) */
export type ToolExecuteRequestEvent = DomainEvent<typeof EventSubjects.TOOL_EXECUTE_REQUEST, ToolExecuteRequestData>;
/** Build, recognise and check `ToolExecuteRequestEvent` at runtime (see {@link EventContract}). */
export const ToolExecuteRequestEvent = eventContract(EventSubjects.TOOL_EXECUTE_REQUEST);
/** `tool.execute.response` (core request/reply) */
export type ToolExecuteResponseEvent = DomainEvent<typeof EventSubjects.TOOL_EXECUTE_RESPONSE, ToolExecuteResponseData>;
/** Build, recognise and check `ToolExecuteResponseEvent` at runtime (see {@link EventContract}). */
export const ToolExecuteResponseEvent = eventContract(EventSubjects.TOOL_EXECUTE_RESPONSE);

/** `model.inference.requested` */
export type ModelInferenceRequestedEvent = DomainEvent<
  typeof EventSubjects.MODEL_INFERENCE_REQUESTED,
  ModelInferenceRequestedData
>;
/** Build, recognise and check `ModelInferenceRequestedEvent` at runtime (see {@link EventContract}). */
export const ModelInferenceRequestedEvent = eventContract(EventSubjects.MODEL_INFERENCE_REQUESTED);
/** `model.inference.completed` */
export type ModelInferenceCompletedEvent = DomainEvent<
  typeof EventSubjects.MODEL_INFERENCE_COMPLETED,
  ModelInferenceCompletedData
>;
/** Build, recognise and check `ModelInferenceCompletedEvent` at runtime (see {@link EventContract}). */
export const ModelInferenceCompletedEvent = eventContract(EventSubjects.MODEL_INFERENCE_COMPLETED);
/** `model.inference.failed` */
export type ModelInferenceFailedEvent = DomainEvent<
  typeof EventSubjects.MODEL_INFERENCE_FAILED,
  ModelInferenceFailedData
>;
/** Build, recognise and check `ModelInferenceFailedEvent` at runtime (see {@link EventContract}). */
export const ModelInferenceFailedEvent = eventContract(EventSubjects.MODEL_INFERENCE_FAILED);

/** `vector.upserted` */
export type VectorUpsertedEvent = DomainEvent<typeof EventSubjects.VECTOR_UPSERTED, VectorUpsertedData>;
/** Build, recognise and check `VectorUpsertedEvent` at runtime (see {@link EventContract}). */
export const VectorUpsertedEvent = eventContract(EventSubjects.VECTOR_UPSERTED);
/** `vector.deleted` */
export type VectorDeletedEvent = DomainEvent<typeof EventSubjects.VECTOR_DELETED, VectorDeletedData>;
/** Build, recognise and check `VectorDeletedEvent` at runtime (see {@link EventContract}). */
export const VectorDeletedEvent = eventContract(EventSubjects.VECTOR_DELETED);
/** `vector.search.completed` */
export type VectorSearchCompletedEvent = DomainEvent<
  typeof EventSubjects.VECTOR_SEARCH_COMPLETED,
  VectorSearchCompletedData
>;
/** Build, recognise and check `VectorSearchCompletedEvent` at runtime (see {@link EventContract}). */
export const VectorSearchCompletedEvent = eventContract(EventSubjects.VECTOR_SEARCH_COMPLETED);
