import { describe, expect, it } from 'vitest';
import {
  createEvent,
  DecodeError,
  decodeEvent,
  decodeTokenMessage,
  EncodeError,
  encodeEvent,
  encodeTokenMessage,
  eventFromJson,
  eventHeaders,
  EventSubjects,
  eventToJson,
  type WorkflowExecutionRequestedEvent,
} from '../src/index.js';

const text = new TextDecoder();

const sample: WorkflowExecutionRequestedEvent = {
  eventId: '3b241101-e2bb-4255-8caf-4136c566a962',
  eventType: EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
  timestamp: new Date('2024-05-01T12:34:56.789Z'),
  correlationId: 'corr-1',
  version: '1.0',
  data: { workflowId: 'workflow-123', userId: 'user-456', executionId: 'execution-789', input: { key: 'value' } },
};

function decodeFailure(input: Uint8Array | string): DecodeError {
  try {
    decodeEvent(input);
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).code).toBe('DECODE');
    expect((error as DecodeError).name).toBe('DecodeError');
    return error as DecodeError;
  }
  throw new Error('expected a DecodeError, nothing was thrown');
}

describe('encodeEvent / decodeEvent', () => {
  it('round-trips an event, timestamp back to an equal Date', () => {
    const decoded = decodeEvent(encodeEvent(sample));
    expect(decoded.timestamp).toBeInstanceOf(Date);
    expect(decoded.timestamp.getTime()).toBe(sample.timestamp.getTime());
    expect(decoded).toEqual(sample);
  });

  it('puts timestamp on the wire as an ISO-8601 string and omits undefined fields', () => {
    const event = { ...sample, causationId: undefined };
    const wire = JSON.parse(text.decode(encodeEvent(event))) as Record<string, unknown>;
    expect(wire.timestamp).toBe('2024-05-01T12:34:56.789Z');
    expect('causationId' in wire).toBe(false);
    expect(wire.correlationId).toBe('corr-1');
  });

  it('keeps unknown fields, at the top level and in data', () => {
    const future = { ...sample, schemaHint: 'v2', data: { ...sample.data, priority: 7 } };
    const decoded = decodeEvent(encodeEvent(future)) as typeof future;
    expect(decoded.schemaHint).toBe('v2');
    expect(decoded.data.priority).toBe(7);
  });

  it('decodes a string as well as bytes, and accepts numeric offsets', () => {
    const decoded = decodeEvent(
      '{"eventId":"e1","eventType":"custom.thing","timestamp":"2024-05-01T14:34:56.789+02:00","version":"1.0","data":null}',
    );
    expect(decoded.timestamp.toISOString()).toBe('2024-05-01T12:34:56.789Z');
    expect(decoded.data).toBeNull();
  });

  it('drops null correlation/causation IDs (other languages write null for unset)', () => {
    const decoded = decodeEvent(
      '{"eventId":"e1","eventType":"a.b","timestamp":"2024-05-01T12:00:00Z","version":"1.0","correlationId":null}',
    );
    expect('correlationId' in decoded).toBe(false);
  });

  it('rejects malformed JSON', () => {
    const error = decodeFailure('{"eventId": ');
    expect(error.message).toMatch(/not valid JSON/);
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('rejects invalid UTF-8', () => {
    expect(decodeFailure(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])).message).toMatch(/UTF-8/);
  });

  it.each([
    ['null', 'null'],
    ['[]', 'an array'],
    ['42', 'number'],
    ['"event"', 'string'],
  ])('rejects the non-object %s', (json, kind) => {
    expect(decodeFailure(json).message).toContain(kind);
  });

  const valid = { eventId: 'e1', eventType: 'a.b', timestamp: '2024-05-01T12:00:00Z', version: '1.0' };
  it.each([
    ['eventId', { ...valid, eventId: undefined }],
    ['eventId', { ...valid, eventId: '' }],
    ['eventId', { ...valid, eventId: 7 }],
    ['eventType', { ...valid, eventType: undefined }],
    ['version', { ...valid, version: 1 }],
    ['timestamp', { ...valid, timestamp: undefined }],
    ['timestamp', { ...valid, timestamp: 'yesterday' }],
    ['timestamp', { ...valid, timestamp: '2024-05-01T12:00:00' }],
    ['timestamp', { ...valid, timestamp: '2024-13-45T12:00:00Z' }],
    ['timestamp', { ...valid, timestamp: 1714564800000 }],
    ['correlationId', { ...valid, correlationId: 5 }],
  ])('rejects a missing or invalid %s', (field, payload) => {
    const error = decodeFailure(JSON.stringify(payload));
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
  });
});

describe('eventToJson / eventFromJson', () => {
  it('is the JSON form a DLQ record keeps, and comes back as the event', () => {
    const json = eventToJson(sample);
    expect(json.timestamp).toBe('2024-05-01T12:34:56.789Z');
    expect(eventFromJson(json)).toEqual(sample);
  });
});

describe('encode errors', () => {
  it('rejects an invalid Date', () => {
    expect(() => encodeEvent({ ...sample, timestamp: new Date(Number.NaN) })).toThrow(EncodeError);
  });

  it('rejects data that is not JSON-serialisable', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const withCycle: WorkflowExecutionRequestedEvent = { ...sample, data: { ...sample.data, input: cyclic } };
    const withBigInt: WorkflowExecutionRequestedEvent = { ...sample, data: { ...sample.data, input: { n: 1n } } };
    expect(() => encodeEvent(withCycle)).toThrow(EncodeError);
    expect(() => eventToJson(withBigInt)).toThrow(EncodeError);
  });
});

describe('eventHeaders', () => {
  it('carries the envelope, correlation only when set', () => {
    expect(eventHeaders(sample)).toEqual({
      'Nats-Msg-Id': sample.eventId,
      'event-type': 'workflow.execution.requested',
      'event-version': '1.0',
      'content-type': 'application/json',
      'correlation-id': 'corr-1',
    });
    const plain = createEvent(EventSubjects.EXECUTION_STARTED, { executionId: 'e', workflowId: 'w', userId: 'u' });
    const headers = eventHeaders(plain);
    expect(Object.keys(headers)).not.toContain('correlation-id');
    expect(Object.keys(headers)).not.toContain('causation-id');
    expect(eventHeaders({ ...plain, causationId: 'c-9' })['causation-id']).toBe('c-9');
  });

  it('refuses header injection through CR/LF', () => {
    expect(() => eventHeaders({ ...sample, correlationId: 'x\r\nNats-Msg-Id: y' })).toThrow(EncodeError);
  });
});

describe('token messages', () => {
  it('round-trip and are plain JSON for a browser', () => {
    const bytes = encodeTokenMessage({ token: 'Hel', isComplete: false, seq: 3 });
    expect(JSON.parse(text.decode(bytes))).toEqual({ token: 'Hel', isComplete: false, seq: 3 });
    expect(decodeTokenMessage(bytes)).toEqual({ token: 'Hel', isComplete: false, seq: 3 });
  });

  it('carry the node that produced them, and still decode without one (older producers)', () => {
    const bytes = encodeTokenMessage({ token: 'Hel', isComplete: false, seq: 3, nodeId: 'optimist' });
    expect(decodeTokenMessage(bytes)).toEqual({ token: 'Hel', isComplete: false, seq: 3, nodeId: 'optimist' });
    expect(decodeTokenMessage('{"token":"Hel","isComplete":false,"seq":3}')).not.toHaveProperty('nodeId');
    expect(() => decodeTokenMessage('{"token":"x","isComplete":false,"seq":1,"nodeId":"a.b"}')).toThrow(/nodeId/);
  });

  it('reject a body that is not a token message', () => {
    expect(() => decodeTokenMessage('{"token":"x","isComplete":"no","seq":1}')).toThrow(/isComplete/);
    expect(() => decodeTokenMessage('{"token":"x","isComplete":true,"seq":-1}')).toThrow(DecodeError);
    expect(() => decodeTokenMessage('not json')).toThrow(DecodeError);
  });
});
