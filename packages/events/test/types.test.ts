// The guide's snippets, as written, against this package; and type-level checks tsc enforces.
import { v4 as uuidv4 } from 'uuid';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type AgentExecutionCompletedEvent,
  type AgentExecutionRequestedEvent,
  type agentReferenceSchema,
  createEvent,
  type DomainEvent,
  type EventDataMap,
  type eventDataSchemas,
  type EventOf,
  type EventSubject,
  EventSubjects,
  type ExecutionNodeCompletedEvent,
  type ExecutionStartedEvent,
  type InferData,
  type PlatformEvent,
  type ToolExecuteRequestEvent,
  type ToolExecuteResponseEvent,
  validateEvent,
  type WorkflowExecutionRequestedEvent,
} from '../src/index.js';

describe('the guide compiles and runs as written', () => {
  it('Publishing Events', () => {
    const event: WorkflowExecutionRequestedEvent = {
      eventId: uuidv4(),
      eventType: EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
      timestamp: new Date(),
      version: '1.0',
      data: {
        workflowId: 'workflow-123',
        userId: 'user-456',
        executionId: 'execution-789',
        input: { key: 'value' },
      },
    };
    expect(validateEvent(event)).toBe(event);
  });

  it('Subscribing to Events: the handler reads event.data.nodeId', async () => {
    const seen: string[] = [];
    const handler = async (event: ExecutionNodeCompletedEvent) => {
      console.log('Node completed:', event.data.nodeId);
      seen.push(event.data.nodeId);
      await Promise.resolve();
    };
    await handler(createEvent(EventSubjects.EXECUTION_NODE_COMPLETED, { executionId: 'e1', nodeId: 'node-1' }));
    expect(seen).toEqual(['node-1']);
  });

  it('Request/Reply: request and response events', () => {
    const request: ToolExecuteRequestEvent = {
      eventId: uuidv4(),
      eventType: 'tool.execute.request',
      timestamp: new Date(),
      version: '1.0',
      data: { toolId: 'tool-123', params: {} },
    };
    const result: unknown = { ok: true };
    const response: ToolExecuteResponseEvent = {
      eventId: uuidv4(),
      eventType: 'tool.execute.response',
      timestamp: new Date(),
      version: '1.0',
      correlationId: request.eventId,
      data: { result },
    };
    expect(validateEvent(request)).toBe(request);
    expect(validateEvent(response)).toBe(response);
  });
});

describe('types', () => {
  it('XxxEvent is EventOf<subject>', () => {
    expectTypeOf<WorkflowExecutionRequestedEvent>().toEqualTypeOf<EventOf<'workflow.execution.requested'>>();
    expectTypeOf<ExecutionNodeCompletedEvent>().toEqualTypeOf<EventOf<'execution.node.completed'>>();
    expectTypeOf<AgentExecutionRequestedEvent['data']>().toEqualTypeOf<EventDataMap['agent.execution.requested']>();
    expectTypeOf<ExecutionStartedEvent['eventType']>().toEqualTypeOf<'execution.started'>();
    expectTypeOf<ExecutionStartedEvent>().toExtend<DomainEvent>();
  });

  it('EventDataMap matches the schemas, key for key', () => {
    expectTypeOf<keyof EventDataMap>().toEqualTypeOf<keyof typeof eventDataSchemas>();
    type FromSchemas = { -readonly [K in keyof typeof eventDataSchemas]: InferData<(typeof eventDataSchemas)[K]> };
    // Subjects with a 1.1: the 1.0 fields, and the 1.1 fields as optional ones (a 1.0 event has none).
    type Requested = 'agent.execution.requested';
    type Versioned = Requested | 'model.inference.requested' | 'model.inference.completed';
    expectTypeOf<Omit<EventDataMap, Versioned>>().toEqualTypeOf<Omit<FromSchemas, Versioned>>();
    expectTypeOf<Omit<EventDataMap[Requested], 'agentRef'>>().toEqualTypeOf<FromSchemas[Requested]>();
    expectTypeOf<Omit<EventDataMap['model.inference.requested'], 'messages' | 'tools'>>().toEqualTypeOf<FromSchemas['model.inference.requested']>();
    expectTypeOf<Omit<EventDataMap['model.inference.completed'], 'toolCalls'>>().toEqualTypeOf<FromSchemas['model.inference.completed']>();
    expectTypeOf<Required<EventDataMap[Requested]>['agentRef']>().toEqualTypeOf<InferData<typeof agentReferenceSchema>>();
    expectTypeOf<keyof EventDataMap>().toExtend<EventSubject>();
  });

  it('data types list known fields; optional ones are optional', () => {
    expectTypeOf<WorkflowExecutionRequestedEvent['data']>().toEqualTypeOf<{
      workflowId: string;
      userId: string;
      executionId: string;
      input?: Record<string, unknown> | undefined;
    }>();
    expectTypeOf<AgentExecutionCompletedEvent['data']['output']>().toEqualTypeOf<unknown>();
  });

  it('createEvent infers the event from the subject and rejects wrong data', () => {
    const e = createEvent(EventSubjects.AGENT_EXECUTION_COMPLETED, { agentId: 'a', executionId: 'e', nodeId: 'n' });
    expectTypeOf(e).toEqualTypeOf<AgentExecutionCompletedEvent>();
    // @ts-expect-error -- nodeId is required for a platform subject
    expect(() => createEvent(EventSubjects.AGENT_EXECUTION_COMPLETED, { agentId: 'a', executionId: 'e' })).toThrow();
    // @ts-expect-error -- a typo in a known data field does not compile
    createEvent(EventSubjects.EXECUTION_STARTED, { executionId: 'e', workflowId: 'w', userId: 'u', usrId: 'x' });
    const custom = createEvent('billing.invoice.paid', { invoiceId: 'i-1' });
    expectTypeOf(custom).toEqualTypeOf<DomainEvent<'billing.invoice.paid', { invoiceId: string }>>();
  });

  it('PlatformEvent narrows on eventType', () => {
    const e = createEvent(EventSubjects.EXECUTION_STARTED, { executionId: 'e', workflowId: 'w', userId: 'u' });
    const describeEvent = (event: PlatformEvent): string => {
      switch (event.eventType) {
        case 'execution.started':
          return event.data.workflowId;
        case 'model.inference.completed':
          return String(event.data.tokenCount);
        default:
          return event.eventType;
      }
    };
    expect(describeEvent(e)).toBe('w');
  });
});
