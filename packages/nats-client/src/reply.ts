/**
 * The request/reply wire: how a replier's result or error becomes a reply message and how the
 * requester turns it back into an event or a typed error.
 */
import { completeEnvelope, decodeEvent } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import { RemoteHandlerError } from './errors.js';

/** Header that marks a reply as a handler failure. */
export const REPLY_ERROR_HEADER = 'reply-error';

/** `tool.execute.request` -> `tool.execute.response`; other subjects get `<subject>.reply`. */
export function responseSubjectOf(requestSubject: string): string {
  return requestSubject.endsWith('.request') ? `${requestSubject.slice(0, -'.request'.length)}.response` : `${requestSubject}.reply`;
}

function isEvent(value: unknown): value is DomainEvent {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as DomainEvent).eventType === 'string' &&
    typeof (value as DomainEvent).eventId === 'string' &&
    (value as DomainEvent).timestamp instanceof Date
  );
}

/** The reply event for a handler's return value: an event is sent as is, anything else is wrapped as `data`. */
export function replyEvent(request: DomainEvent, requestSubject: string, result: unknown): DomainEvent {
  if (isEvent(result)) return result;
  return completeEnvelope({
    eventType: responseSubjectOf(requestSubject),
    correlationId: request.eventId,
    causationId: request.eventId,
    data: result,
  });
}

/** The body of an error reply. */
export function encodeReplyError(err: unknown): Uint8Array {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return new TextEncoder().encode(
    JSON.stringify({ name: e.name, code: typeof code === 'string' ? code : undefined, message: e.message }),
  );
}

/** Decodes a reply, throwing `RemoteHandlerError` for an error reply. */
export function decodeReply(subject: string, data: Uint8Array, isError: boolean): DomainEvent {
  if (isError) {
    const remote = JSON.parse(new TextDecoder().decode(data)) as { name?: string; code?: string; message?: string };
    throw new RemoteHandlerError(subject, { ...remote, message: remote.message ?? 'unknown error' });
  }
  return decodeEvent(data);
}
