import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deepJsonText, hostileString, hostileValue, jsonishText, returnsOrThrowsTyped } from '@multi-agent/testing/hostile-input';
import { DecodeError, decodeEvent, decodeTokenMessage, encodeEvent, EncodeError, EventBusError, EventSubjects, validateEvent } from '../src/index.js';

const encoder = new TextEncoder();

/** An envelope whose every field is either valid or hostile, on a real event type half the time (so its data schema runs). */
const envelopeText = fc
  .record({
    eventId: fc.oneof(fc.uuid(), hostileValue()),
    eventType: fc.oneof(fc.constantFrom(...Object.values(EventSubjects)), hostileValue()),
    version: fc.oneof(fc.constant('1.0'), hostileValue()),
    timestamp: fc.oneof(fc.constant('2026-01-01T00:00:00.000Z'), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), hostileValue()),
    correlationId: fc.oneof(fc.constant(undefined), fc.constant(null), hostileValue()),
    data: hostileValue(),
    extra: fc.dictionary(hostileString, hostileValue(), { maxKeys: 3 }),
  })
  .map(({ extra, ...fields }) => {
    try {
      return JSON.stringify({ ...extra, ...fields });
    } catch {
      return '{}';
    }
  });

const DECODE = ['DECODE'];

describe('decodeEvent on hostile bytes (property)', () => {
  it('returns an event or throws DecodeError for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        returnsOrThrowsTyped(() => decodeEvent(bytes), DecodeError, DECODE);
      }),
      { numRuns: 300 },
    );
  });

  it('returns an event or throws DecodeError for broken and valid JSON text, as bytes or string', () => {
    fc.assert(
      fc.property(jsonishText, fc.boolean(), (text, asBytes) => {
        returnsOrThrowsTyped(() => decodeEvent(asBytes ? encoder.encode(text) : text), DecodeError, DECODE);
      }),
      { numRuns: 100 },
    );
  });

  it('decodes a hostile envelope to a well-formed event, or throws DecodeError; validation then throws only ValidationError or UnsupportedVersionError; re-encoding round-trips', () => {
    fc.assert(
      fc.property(envelopeText, (text) => {
        const event = returnsOrThrowsTyped(() => decodeEvent(text), DecodeError, DECODE);
        if (event === undefined) return;
        expect(typeof event.eventId).toBe('string');
        expect(event.timestamp).toBeInstanceOf(Date);
        expect(Number.isNaN(event.timestamp.getTime())).toBe(false);
        returnsOrThrowsTyped(() => validateEvent(event), EventBusError, ['VALIDATION', 'UNSUPPORTED_VERSION']);
        const bytes = returnsOrThrowsTyped(() => encodeEvent(event), EncodeError, ['ENCODE']);
        expect(bytes).toBeDefined();
        expect(decodeEvent(bytes!)).toEqual(event);
      }),
      { numRuns: 150 },
    );
  });

  it('rejects envelope fields nested deeper than JSON.stringify can walk with DecodeError', () => {
    fc.assert(
      fc.property(fc.constantFrom('eventId', 'eventType', 'version', 'timestamp'), deepJsonText, (field, deep) => {
        const envelope = { eventId: 'e', eventType: 'a.b', version: '1.0', timestamp: '2026-01-01T00:00:00Z', [field]: '@@' };
        const text = JSON.stringify(envelope).replace('"@@"', deep);
        returnsOrThrowsTyped(() => decodeEvent(text), DecodeError, DECODE);
      }),
      { numRuns: 20 },
    );
  });

  it('decodes deeply nested data', () => {
    fc.assert(
      fc.property(deepJsonText, (deep) => {
        const text = `{"eventId":"e","eventType":"x.y","version":"1.0","timestamp":"2026-01-01T00:00:00Z","data":${deep}}`;
        expect(returnsOrThrowsTyped(() => decodeEvent(text), DecodeError, DECODE)?.eventType).toBe('x.y');
      }),
      { numRuns: 10 },
    );
  });
});

describe('decodeTokenMessage on hostile bytes (property)', () => {
  it('returns a token message or throws DecodeError', () => {
    fc.assert(
      fc.property(fc.oneof(jsonishText, fc.uint8Array({ maxLength: 512 })), (input) => {
        const message = returnsOrThrowsTyped(() => decodeTokenMessage(input), DecodeError, DECODE);
        if (message !== undefined) expect(typeof message.token).toBe('string');
      }),
      { numRuns: 200 },
    );
  });
});
