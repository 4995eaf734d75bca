import { v4 as uuidv4 } from 'uuid';
import * as z from 'zod';
import { afterEach, describe, expect, it } from 'vitest';
import {
  agentExecutionRequestedDataSchema,
  AgentExecutionRequestedEvent,
  type BaseEvent,
  type DomainEvent,
  eventDataSchemas,
  eventJsonSchemas,
  EventSubjects,
  getEventSchema,
  laterEventDataSchemas,
  listEventSchemas,
  registerEventSchema,
  resolveEventSchema,
  SchemaConflictError,
  SubjectTokenError,
  unregisterEventSchema,
  UnsupportedVersionError,
  validateEvent,
  ValidationError,
} from '../src/index.js';

function event<T extends string>(eventType: T, data: unknown, extra: Partial<Omit<BaseEvent, 'eventType'>> = {}): DomainEvent<T> {
  return { eventId: uuidv4(), eventType, timestamp: new Date(), version: '1.0', data, ...extra };
}

function failure(e: BaseEvent): ValidationError {
  try {
    validateEvent(e);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe('VALIDATION');
    expect((error as ValidationError).name).toBe('ValidationError');
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

// Every payload the guide's examples send.
const guidePayloads: [string, unknown][] = [
  [
    EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
    { workflowId: 'workflow-123', userId: 'user-456', executionId: 'execution-789', input: { key: 'value' } },
  ],
  [EventSubjects.WORKFLOW_EXECUTION_REQUESTED, { workflowId: 'w1', userId: 'u1', executionId: 'e1' }],
  [EventSubjects.EXECUTION_STARTED, { executionId: 'e1', workflowId: 'w1', userId: 'u1' }],
  [EventSubjects.AGENT_EXECUTION_REQUESTED, { agentId: 'a1', executionId: 'e1', nodeId: 'n1', input: 'hello' }],
  [EventSubjects.AGENT_EXECUTION_REQUESTED, { agentId: 'a1', executionId: 'e1', nodeId: 'n1' }],
  [EventSubjects.AGENT_EXECUTION_COMPLETED, { agentId: 'a1', executionId: 'e1', nodeId: 'n1', output: { text: 'hi' } }],
  [EventSubjects.EXECUTION_NODE_COMPLETED, { executionId: 'e1', nodeId: 'n1', output: [1, 2] }],
  [EventSubjects.TOOL_EXECUTE_REQUEST, { toolId: 'tool-123', params: {} }],
  [EventSubjects.TOOL_EXECUTE_RESPONSE, { result: { ok: true } }],
  [EventSubjects.TOOL_EXECUTE_RESPONSE, { result: undefined }],
];

describe('validateEvent: the guide examples', () => {
  it.each(guidePayloads)('%s accepts %j', (type, data) => {
    const e = event(type, data);
    expect(validateEvent(e)).toBe(e);
  });

  it('keeps unknown data fields (forward compatibility) and returns the same object', () => {
    const e = event(EventSubjects.EXECUTION_STARTED, { executionId: 'e1', workflowId: 'w1', userId: 'u1', region: 'eu' });
    const out = validateEvent(e);
    expect(out).toBe(e);
    expect((out.data as Record<string, unknown>).region).toBe('eu');
  });

  it('has a schema for every platform event type at 1.0', () => {
    for (const subject of Object.keys(eventDataSchemas)) expect(getEventSchema(subject, '1.0')).toBeDefined();
    expect(getEventSchema(EventSubjects.MODEL_TOKEN_STREAM, '1.0')).toBeUndefined();
    expect(Object.keys(eventDataSchemas)).toHaveLength(
      Object.values(EventSubjects).length - 3, // MODEL_TOKEN_STREAM, DLQ, DLQ_ALL have no event schema
    );
  });
});

describe('validateEvent: violations', () => {
  it('reports a subject-injecting executionId with a readable path', () => {
    const error = failure(
      event(EventSubjects.WORKFLOW_EXECUTION_REQUESTED, { workflowId: 'w1', userId: 'u1', executionId: 'x.>' }),
    );
    expect(error.eventType).toBe('workflow.execution.requested');
    expect(error.version).toBe('1.0');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.path).toBe('data.executionId');
    expect(error.message).toContain('workflow.execution.requested@1.0');
    expect(error.message).toContain('data.executionId: ');
    expect(error.message).toContain('subject token');
  });

  it('lists every problem: missing fields, wrong types, nested paths', () => {
    const error = failure(event(EventSubjects.EXECUTION_NODE_FAILED, { executionId: 'e1', error: { message: 5 } }));
    const paths = error.issues.map((i) => i.path);
    expect(paths).toEqual(['data.nodeId', 'data.error.message']);
    expect(error.message).toMatch(/data\.nodeId: .*expected string.*; data\.error\.message: /);
  });

  it('reports array indexes as [n]', () => {
    const error = failure(
      event(EventSubjects.VECTOR_SEARCH_COMPLETED, { collection: 'docs', results: [{ id: 'a', score: 1 }, { id: 'b' }] }),
    );
    expect(error.issues.map((i) => i.path)).toEqual(['data.results[1].score']);
  });

  it('rejects missing data for a registered type', () => {
    expect(failure(event(EventSubjects.TOOL_EXECUTE_REQUEST, undefined)).issues[0]?.path).toBe('data');
  });

  it('rejects input that is not a record', () => {
    const error = failure(
      event(EventSubjects.WORKFLOW_EXECUTION_REQUESTED, { workflowId: 'w', userId: 'u', executionId: 'e', input: 'x' }),
    );
    expect(error.issues[0]?.path).toBe('data.input');
  });

  it('checks the envelope', () => {
    const bad = {
      eventId: '',
      eventType: 'execution.*',
      timestamp: new Date(Number.NaN),
      version: '',
      correlationId: 7,
      data: {},
    } as unknown as BaseEvent;
    const error = failure(bad);
    expect(error.issues.map((i) => i.path).sort()).toEqual(
      ['correlationId', 'eventId', 'eventType', 'timestamp', 'version'].sort(),
    );
    expect(error.issues.find((i) => i.path === 'timestamp')?.message).toBe('must be a valid Date');
    expect(error.issues.find((i) => i.path === 'eventType')?.message).toContain('wildcard');
  });

  it('rejects a timestamp that is a string, not a Date', () => {
    const e = { ...event('custom.type', {}), timestamp: '2024-01-01T00:00:00Z' } as unknown as BaseEvent;
    expect(failure(e).issues[0]?.path).toBe('timestamp');
  });

  it('rejects CR/LF in header-bound envelope fields', () => {
    expect(failure(event('custom.type', {}, { causationId: 'a\r\nb' })).issues[0]?.path).toBe('causationId');
  });

  it('rejects a value that is not an object at all', () => {
    expect(failure(null as unknown as BaseEvent).issues[0]?.path).toBe('(root)');
  });
});

describe('validateEvent: unknown types and versions', () => {
  it('passes an unknown event type through untouched', () => {
    const e = event('billing.invoice.paid', { anything: [1, { nested: true }] });
    const before = structuredClone(e);
    expect(validateEvent(e)).toBe(e);
    expect(e).toEqual(before);
  });

  it('refuses a major version of a known type that has no schema, with a typed error', () => {
    for (const version of ['2.0', 'v1', '1', '1.0.1']) {
      const e = event(EventSubjects.EXECUTION_STARTED, { totally: 'different' }, { version });
      let thrown: unknown;
      try {
        validateEvent(e);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(UnsupportedVersionError);
      expect(thrown).toMatchObject({ code: 'UNSUPPORTED_VERSION', eventType: EventSubjects.EXECUTION_STARTED, version, supported: ['1.0'] });
    }
  });

  it('reads an unknown minor of a known major with the highest known minor below it, keeping unknown fields', () => {
    const data = { executionId: 'e1', workflowId: 'w1', userId: 'u1', addedIn14: { any: 'thing' } };
    const e = event(EventSubjects.EXECUTION_STARTED, data, { version: '1.4' });
    expect(validateEvent(e)).toBe(e);
    expect(e.data).toEqual(data);
    expect(resolveEventSchema(EventSubjects.EXECUTION_STARTED, '1.4')?.version).toBe('1.0');
    // Still validated: the 1.0 fields must be there.
    expect(failure(event(EventSubjects.EXECUTION_STARTED, { executionId: 'e1' }, { version: '1.4' })).issues.map((i) => i.path)).toEqual(['data.workflowId', 'data.userId']);
  });

  it('agent.execution.requested: 1.1 requires the agent reference; 1.0 and a later 1.x minor read by the nearest known schema', () => {
    const base = { agentId: 'writer', executionId: 'e1', nodeId: 'n1' };
    const agentRef = { id: 'writer', revision: '0123456789abcdef' };
    expect(resolveEventSchema(EventSubjects.AGENT_EXECUTION_REQUESTED, '1.0')?.version).toBe('1.0');
    expect(resolveEventSchema(EventSubjects.AGENT_EXECUTION_REQUESTED, '1.1')?.version).toBe('1.1');
    expect(resolveEventSchema(EventSubjects.AGENT_EXECUTION_REQUESTED, '1.9')?.version).toBe('1.1');
    expect(failure(event(EventSubjects.AGENT_EXECUTION_REQUESTED, base, { version: '1.1' })).issues.map((i) => i.path)).toEqual(['data.agentRef']);
    expect(failure(event(EventSubjects.AGENT_EXECUTION_REQUESTED, { ...base, agentRef: { ...agentRef, id: 'other' } }, { version: '1.1' })).issues.map((i) => i.path)).toEqual(['data.agentRef.id']);
    expect(failure(event(EventSubjects.AGENT_EXECUTION_REQUESTED, { ...base, agentRef: { ...agentRef, revision: 'x' } }, { version: '1.9' })).issues.map((i) => i.path)).toEqual(['data.agentRef.revision']);
    const v11 = event(EventSubjects.AGENT_EXECUTION_REQUESTED, { ...base, agentRef }, { version: '1.1' });
    expect(validateEvent(v11)).toBe(v11);
    // What a consumer that knows only 1.0 does with it: the 1.0 schema reads it, agentRef kept as an unknown field.
    expect(agentExecutionRequestedDataSchema.parse(v11.data)).toEqual({ ...base, agentRef });
    expect(AgentExecutionRequestedEvent.is(v11)).toBe(true);
    expect(AgentExecutionRequestedEvent.is({ ...v11, version: '2.0' })).toBe(false);
  });
});

describe('registry', () => {
  afterEach(() => {
    unregisterEventSchema('billing.invoice.paid', '1.0');
  });

  it('validates application events once their schema is registered', () => {
    const e = event('billing.invoice.paid', { invoiceId: 'i-1', amount: 'ten' });
    expect(validateEvent(e)).toBe(e);
    registerEventSchema('billing.invoice.paid', '1.0', z.looseObject({ invoiceId: z.string(), amount: z.number() }));
    expect(failure(e).issues[0]?.path).toBe('data.amount');
    expect(listEventSchemas()).toContainEqual({ eventType: 'billing.invoice.paid', version: '1.0' });
    expect(unregisterEventSchema('billing.invoice.paid', '1.0')).toBe(true);
    expect(validateEvent(e)).toBe(e);
  });

  it('refuses to replace a built-in schema but accepts a new version of it', () => {
    expect(() => registerEventSchema(EventSubjects.EXECUTION_STARTED, '1.0', z.any())).toThrow(SchemaConflictError);
    expect(unregisterEventSchema(EventSubjects.EXECUTION_STARTED, '1.0')).toBe(false);
    expect(getEventSchema(EventSubjects.EXECUTION_STARTED, '1.0')).toBe(eventDataSchemas['execution.started']);
    registerEventSchema(EventSubjects.EXECUTION_STARTED, '2.0', z.looseObject({ runId: z.string() }));
    try {
      expect(failure(event(EventSubjects.EXECUTION_STARTED, {}, { version: '2.0' })).issues[0]?.path).toBe('data.runId');
    } finally {
      unregisterEventSchema(EventSubjects.EXECUTION_STARTED, '2.0');
    }
  });

  it('refuses an event type that is not a publish subject', () => {
    expect(() => registerEventSchema('billing.*', '1.0', z.any())).toThrow(SubjectTokenError);
    expect(() => registerEventSchema('billing.paid', '', z.any())).toThrow(ValidationError);
  });

  it('resolves dlq.<consumer> to the DLQ record schema', () => {
    expect(getEventSchema('dlq.any-consumer', '1.0')).toBeDefined();
    expect(getEventSchema('dlq.any-consumer', '9.9')).toBeUndefined();
  });
});

describe('eventJsonSchemas', () => {
  it('describes every registered type@version as JSON Schema', () => {
    const schemas = eventJsonSchemas();
    const requested = schemas['workflow.execution.requested@1.0'] as {
      type: string;
      required: string[];
      properties: Record<string, { pattern?: string }>;
    };
    expect(requested.type).toBe('object');
    expect(requested.required.sort()).toEqual(['executionId', 'userId', 'workflowId']);
    expect(requested.properties.executionId?.pattern).toBe('^[A-Za-z0-9_-]{1,128}$');
    expect(Object.keys(schemas)).toContain('dlq.*@1.0');
    expect(Object.keys(schemas)).toContain('agent.execution.requested@1.1');
    const later = Object.values(laterEventDataSchemas).flatMap((byVersion) => Object.keys(byVersion));
    expect(later.length).toBeGreaterThan(0);
    expect(Object.keys(schemas)).toHaveLength(Object.keys(eventDataSchemas).length + later.length + 1);
  });
});
