/**
 * The client's failure taxonomy. Every error carries a stable `code`; the ones a handler can
 * throw (`NonRetryableError`) steer the retry logic, the others describe what went wrong at
 * the bus so a caller can react to the class, not to a message string.
 */
import { EventBusError } from '@multi-agent/events';
import { errors } from '@nats-io/nats-core';

/** Stable error codes of `@multi-agent/nats-client`; decide on these, not on `instanceof` or message text. */
export const ClientErrorCodes = {
  CONFIG: 'CONFIG',
  NOT_CONNECTED: 'NOT_CONNECTED',
  AUTH_FAILED: 'AUTH_FAILED',
  TLS_FAILED: 'TLS_FAILED',
  NO_STREAM: 'NO_STREAM',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  PUBLISH_FAILED: 'PUBLISH_FAILED',
  JETSTREAM_UNAVAILABLE: 'JETSTREAM_UNAVAILABLE',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  NO_RESPONDERS: 'NO_RESPONDERS',
  REMOTE_HANDLER: 'REMOTE_HANDLER',
  NON_RETRYABLE: 'NON_RETRYABLE',
  HANDLER_TIMEOUT: 'HANDLER_TIMEOUT',
  STREAM_IDLE: 'STREAM_IDLE',
  CLIENT_CLOSED: 'CLIENT_CLOSED',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  NOT_PROVISIONED: 'NOT_PROVISIONED',
  DLQ_RECORD_UNREADABLE: 'DLQ_RECORD_UNREADABLE',
} as const;

/** The `code` of an error from any package of the bus, or `undefined` for foreign errors. */
export function errorCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** A configuration value (usually an environment variable) is invalid. Thrown at startup. */
export class ConfigError extends EventBusError {
  /** The variable or option that holds the bad value. */
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(ClientErrorCodes.CONFIG, `${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** The operation needs a connection and the client has none (never connected, or closed). */
export class NotConnectedError extends EventBusError {
  constructor(message = 'NATS client is not connected: call connect() first') {
    super(ClientErrorCodes.NOT_CONNECTED, message);
    this.name = 'NotConnectedError';
  }
}

/**
 * The server refused the client's credentials (user/password, token, nkey or creds file), or
 * they expired. Retrying with the same credentials cannot help. The message never holds them.
 */
export class AuthFailedError extends EventBusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ClientErrorCodes.AUTH_FAILED, message, options);
    this.name = 'AuthFailedError';
  }
}

/**
 * The TLS handshake with the server failed: its certificate is not signed by the configured CA
 * (`NATS_TLS_CA`), it names another host, or the server requires a client certificate that was
 * not given or that it does not trust.
 */
export class TlsFailedError extends EventBusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ClientErrorCodes.TLS_FAILED, message, options);
    this.name = 'TlsFailedError';
  }
}

/** No JetStream stream captures the subject, so a publish there would be stored nowhere. */
export class NoStreamError extends EventBusError {
  readonly subject: string;
  constructor(subject: string) {
    super(
      ClientErrorCodes.NO_STREAM,
      `no JetStream stream captures subject "${subject}"; publish events on a subject of the EVENTS, DLQ or TOKENS streams, or declare it in config.coreSubjects for core NATS`,
    );
    this.name = 'NoStreamError';
    this.subject = subject;
  }
}

/** The encoded message is larger than the server's `max_payload`. Nothing was sent. */
export class PayloadTooLargeError extends EventBusError {
  readonly size: number;
  readonly maxPayload: number;
  constructor(size: number, maxPayload: number, subject: string) {
    super(ClientErrorCodes.PAYLOAD_TOO_LARGE, `message for "${subject}" is ${size} bytes; the server accepts at most ${maxPayload}`);
    this.name = 'PayloadTooLargeError';
    this.size = size;
    this.maxPayload = maxPayload;
  }
}

/**
 * A publish was not acknowledged by JetStream. The event may or may not be stored:
 * publish it again with the same `eventId` and the stream's duplicate window keeps one copy.
 */
export class PublishError extends EventBusError {
  readonly subject: string;
  constructor(subject: string, message: string, options?: { cause?: unknown }) {
    super(ClientErrorCodes.PUBLISH_FAILED, `publish to "${subject}" failed: ${message}`, options);
    this.name = 'PublishError';
    this.subject = subject;
  }
}

/** JetStream did not answer an API call (stream or bucket setup) before the deadline, e.g. a cluster without quorum. */
export class JetStreamUnavailableError extends EventBusError {
  constructor(what: string, timeoutMs: number, cause: unknown) {
    super(ClientErrorCodes.JETSTREAM_UNAVAILABLE, `JetStream did not answer "${what}" within ${timeoutMs} ms`, { cause });
    this.name = 'JetStreamUnavailableError';
  }
}

/** A request got no reply within its timeout. */
export class RequestTimeoutError extends EventBusError {
  readonly subject: string;
  readonly timeoutMs: number;
  constructor(subject: string, timeoutMs: number) {
    super(ClientErrorCodes.REQUEST_TIMEOUT, `request to "${subject}" got no reply within ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
    this.subject = subject;
    this.timeoutMs = timeoutMs;
  }
}

/** A request was sent to a subject nobody listens on. Fails at once, without waiting for the timeout. */
export class NoRespondersError extends EventBusError {
  readonly subject: string;
  constructor(subject: string) {
    super(ClientErrorCodes.NO_RESPONDERS, `no service is listening on "${subject}"`);
    this.name = 'NoRespondersError';
    this.subject = subject;
  }
}

/** The replier's handler threw; its error class and message travel back to the requester. */
export class RemoteHandlerError extends EventBusError {
  readonly subject: string;
  readonly remoteCode: string;
  readonly remoteName: string;
  constructor(subject: string, remote: { code?: string; name?: string; message: string }) {
    super(ClientErrorCodes.REMOTE_HANDLER, `handler for "${subject}" failed: ${remote.message}`);
    this.name = 'RemoteHandlerError';
    this.subject = subject;
    this.remoteCode = remote.code ?? 'UNKNOWN';
    this.remoteName = remote.name ?? 'Error';
  }
}

/**
 * Throw this from a handler when retrying cannot help (bad input, a missing entity):
 * the event goes to the DLQ at once instead of being retried.
 */
export class NonRetryableError extends EventBusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ClientErrorCodes.NON_RETRYABLE, message, options);
    this.name = 'NonRetryableError';
  }
}

/** A handler ran longer than its `handlerTimeoutMs`; the attempt counts as failed. */
export class HandlerTimeoutError extends EventBusError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(ClientErrorCodes.HANDLER_TIMEOUT, `handler did not finish within ${timeoutMs} ms`);
    this.name = 'HandlerTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** A token stream received nothing for longer than its idle timeout (its producer likely died). */
export class StreamIdleError extends EventBusError {
  readonly subject: string;
  readonly idleMs: number;
  constructor(subject: string, idleMs: number) {
    super(ClientErrorCodes.STREAM_IDLE, `token stream "${subject}" received nothing for ${idleMs} ms before completion`);
    this.name = 'StreamIdleError';
    this.subject = subject;
    this.idleMs = idleMs;
  }
}

/** The operation was refused because the client is closing. */
export class ClientClosedError extends EventBusError {
  constructor() {
    super(ClientErrorCodes.CLIENT_CLOSED, 'NATS client is closing or closed');
    this.name = 'ClientClosedError';
  }
}

/**
 * The server refused a publish or subscribe: the identity the client connected with has no
 * permission for the subject (see `multi-agent auth generate`). Retrying cannot help.
 */
export class PermissionError extends EventBusError {
  readonly operation: 'publish' | 'subscribe';
  readonly subject: string;
  constructor(operation: 'publish' | 'subscribe', subject: string, options?: { cause?: unknown }) {
    super(ClientErrorCodes.PERMISSION_DENIED, `the server refused to let this identity ${operation} on "${subject}"`, options);
    this.name = 'PermissionError';
    this.operation = operation;
    this.subject = subject;
  }
}

/** nats.js's permission violation, alone or as the cause of a request error, as a `PermissionError`; otherwise `undefined`. */
export function asPermissionError(err: unknown): PermissionError | undefined {
  if (err instanceof PermissionError) return err;
  const violation = err instanceof errors.PermissionViolationError ? err : err instanceof Error && err.cause instanceof errors.PermissionViolationError ? err.cause : undefined;
  if (violation === undefined) return undefined;
  return new PermissionError(violation.operation === 'publish' ? 'publish' : 'subscribe', violation.subject, { cause: err });
}

/** The command that creates what a service only looks up. */
export const PROVISION_COMMAND = 'npx multi-agent provision';

/**
 * A stream, bucket or durable consumer the client needs does not exist, and this client does
 * not create it (`NATS_PROVISION=false`, or its identity may not): provisioning is an admin act.
 */
export class NotProvisionedError extends EventBusError {
  /** What is missing, e.g. `stream EVENTS` or `durable consumer tool-x on stream EVENTS`. */
  readonly missing: string;
  constructor(missing: string, options?: { cause?: unknown }) {
    super(ClientErrorCodes.NOT_PROVISIONED, `${missing} does not exist and this client does not create it: run \`${PROVISION_COMMAND}\` with the admin identity`, options);
    this.name = 'NotProvisionedError';
    this.missing = missing;
  }
}

/** The message at a DLQ sequence is not a DLQ record (not JSON, or not the record's shape): it can be purged, not read or replayed. */
export class DeadLetterUnreadableError extends EventBusError {
  /** Its sequence in the DLQ stream. */
  readonly dlqSequence: number;
  constructor(dlqSequence: number, why: string) {
    super(ClientErrorCodes.DLQ_RECORD_UNREADABLE, `DLQ message ${dlqSequence} is ${why}`);
    this.name = 'DeadLetterUnreadableError';
    this.dlqSequence = dlqSequence;
  }
}
