import { describe, expect, it } from 'vitest';
import {
  createDeadLetterEvent,
  createEvent,
  type DeadLetterData,
  decodeEvent,
  encodeEvent,
  EventSubjects,
  SubjectTokenError,
  ValidationError,
} from '../src/index.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('createEvent', () => {
  it('fills eventId (UUID v4), timestamp (now) and version 1.0', () => {
    const before = Date.now();
    const e = createEvent(EventSubjects.EXECUTION_STARTED, { executionId: 'e1', workflowId: 'w1', userId: 'u1' });
    const after = Date.now();
    expect(e.eventId).toMatch(UUID_V4);
    expect(e.eventType).toBe('execution.started');
    expect(e.version).toBe('1.0');
    expect(e.timestamp).toBeInstanceOf(Date);
    expect(e.timestamp.getTime()).toBeGreaterThanOrEqual(before);
    expect(e.timestamp.getTime()).toBeLessThanOrEqual(after);
    expect(e.data).toEqual({ executionId: 'e1', workflowId: 'w1', userId: 'u1' });
    expect('correlationId' in e).toBe(false);
    expect('causationId' in e).toBe(false);
  });

  it('gives every event its own ID', () => {
    const ids = new Set(Array.from({ length: 100 }, () => createEvent('custom.tick', {}).eventId));
    expect(ids.size).toBe(100);
  });

  it('takes the envelope fields it is given', () => {
    const timestamp = new Date('2024-01-02T03:04:05.000Z');
    const e = createEvent(
      EventSubjects.TOOL_EXECUTE_RESPONSE,
      { result: 42 },
      { eventId: 'fixed-id', timestamp, version: '1.0', correlationId: 'c1', causationId: 'p1' },
    );
    expect(e).toEqual({
      eventId: 'fixed-id',
      eventType: 'tool.execute.response',
      timestamp,
      correlationId: 'c1',
      causationId: 'p1',
      version: '1.0',
      data: { result: 42 },
    });
  });

  it('validates: bad data throws ValidationError before anything is sent', () => {
    expect(() =>
      createEvent(EventSubjects.AGENT_EXECUTION_REQUESTED, { agentId: 'a 1', executionId: 'e1', nodeId: 'n1' }),
    ).toThrow(ValidationError);
    expect(() => createEvent('bad subject', {})).toThrow(/eventType/);
  });

  it('builds application-defined events, data passed through', () => {
    const e = createEvent('billing.invoice.paid', { invoiceId: 'i-1' });
    expect(e.eventType).toBe('billing.invoice.paid');
    expect(e.data.invoiceId).toBe('i-1');
  });

  it('survives the wire', () => {
    const e = createEvent(EventSubjects.MODEL_INFERENCE_COMPLETED, { executionId: 'e1', text: 'hi', tokenCount: 1 });
    expect(decodeEvent(encodeEvent(e))).toEqual(e);
  });
});

describe('createDeadLetterEvent', () => {
  const record: DeadLetterData = {
    originalEvent: { eventId: 'x', eventType: 'execution.started', timestamp: '2024-01-01T00:00:00.000Z', version: '1.0' },
    originalSubject: 'execution.started',
    stream: 'EVENTS',
    streamSequence: 42,
    consumer: 'orchestration-execution-started',
    service: 'orchestration',
    reason: 'handler-error',
    errorClass: 'TypeError',
    errorMessage: 'boom',
    failureCount: 3,
    firstFailureAt: '2024-01-01T00:00:01.000Z',
    lastFailureAt: '2024-01-01T00:00:09.000Z',
  };

  it('publishes on dlq.<consumer>', () => {
    const e = createDeadLetterEvent(record, { eventId: 'dlq-EVENTS-42' });
    expect(e.eventType).toBe('dlq.orchestration-execution-started');
    expect(e.eventId).toBe('dlq-EVENTS-42');
    expect(e.data.reason).toBe('handler-error');
  });

  it('validates the record', () => {
    expect(() => createDeadLetterEvent({ ...record, reason: 'oops' as DeadLetterData['reason'] })).toThrow(
      /data\.reason/,
    );
    expect(() => createDeadLetterEvent({ ...record, firstFailureAt: 'yesterday' })).toThrow(ValidationError);
    expect(() => createDeadLetterEvent({ ...record, rawPayloadBase64: 'not base64!' })).toThrow(ValidationError);
    expect(() => createDeadLetterEvent({ ...record, consumer: 'a.b' })).toThrow(SubjectTokenError);
  });

  it('accepts an undecodable original as base64', () => {
    const { originalEvent: _dropped, ...rest } = record;
    const e = createDeadLetterEvent({ ...rest, reason: 'decode', rawPayloadBase64: btoa('{oops') });
    expect(e.data.rawPayloadBase64).toBe('e29vcHM=');
  });
});

describe('event contracts as values', () => {
  it('lets the guide import a typed event by name at runtime and use it to build and recognise events', async () => {
    const { WorkflowExecutionRequestedEvent, ExecutionStartedEvent, EventSubjects: S } = await import('../src/index.js');
    const event = WorkflowExecutionRequestedEvent.create({ workflowId: 'w1', userId: 'u1', executionId: 'e1' });
    expect(event.eventType).toBe(S.WORKFLOW_EXECUTION_REQUESTED);
    expect(WorkflowExecutionRequestedEvent.is(event)).toBe(true);
    expect(ExecutionStartedEvent.is(event)).toBe(false);
    expect(WorkflowExecutionRequestedEvent.is({ ...event, data: { workflowId: 'w1' } } as typeof event)).toBe(false);
  });
});
