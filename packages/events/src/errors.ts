/**
 * Typed errors of the event contracts.
 *
 * Every class carries a stable string `code` (safe to switch on across package copies and
 * process boundaries, unlike `instanceof`) and a `name` equal to its class name (so logs and
 * DLQ records name the class even after minification).
 *
 * @packageDocumentation
 */

/** Stable error codes of `@multi-agent/events`. */
export const EventErrorCodes = {
  SUBJECT_TOKEN: 'SUBJECT_TOKEN',
  VALIDATION: 'VALIDATION',
  DECODE: 'DECODE',
  ENCODE: 'ENCODE',
  SCHEMA_CONFLICT: 'SCHEMA_CONFLICT',
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
} as const;

/** Base class of every error thrown by the event bus packages. */
export class EventBusError extends Error {
  /** Stable machine-readable code, e.g. `'VALIDATION'`. */
  readonly code: string;

  /**
   * @param code - stable machine-readable code
   * @param message - human-readable description
   * @param options - `cause`: the underlying error, kept for diagnostics
   */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventBusError';
    this.code = code;
  }
}

/** Why a subject token was rejected. */
export type SubjectTokenProblem =
  | 'not-a-string'
  | 'empty'
  | 'too-long'
  | 'separator'
  | 'wildcard'
  | 'whitespace'
  | 'control-character'
  | 'invalid-character';

/**
 * A subject, or a token interpolated into one, is not safe: it contains `.`, a wildcard,
 * whitespace or a control character, is empty, or is too long. Interpolating such a value
 * would let data choose the subject (subject injection), so it is rejected before anything is sent.
 */
export class SubjectTokenError extends EventBusError {
  declare readonly code: 'SUBJECT_TOKEN';
  /** The offending token (for a whole-subject check: the first bad token). */
  readonly token: string;
  /** The field the token came from, e.g. `'executionId'`, when known. */
  readonly field?: string;
  /** The whole subject being checked, when the check was on a subject. */
  readonly subject?: string;
  /** What is wrong with the token. */
  readonly problem: SubjectTokenProblem;

  /**
   * @param token - the offending token
   * @param problem - what is wrong with it
   * @param message - human-readable description (already names the token and the problem)
   * @param options - `field` / `subject` for context, `cause`
   */
  constructor(
    token: string,
    problem: SubjectTokenProblem,
    message: string,
    options?: { field?: string; subject?: string; cause?: unknown },
  ) {
    super(EventErrorCodes.SUBJECT_TOKEN, message, options);
    this.name = 'SubjectTokenError';
    this.token = token;
    this.problem = problem;
    if (options?.field !== undefined) this.field = options.field;
    if (options?.subject !== undefined) this.subject = options.subject;
  }
}

/** One problem found while validating an event. */
export interface ValidationIssue {
  /** Where, e.g. `data.executionId` or `data.items[2].id`; `(root)` for the event itself. */
  path: string;
  /** What is wrong there. */
  message: string;
}

/**
 * An event does not satisfy its contract: a bad envelope (eventId, eventType, timestamp,
 * version...) or `data` that does not match the schema registered for its type and version.
 * Retrying cannot fix it: consumers send such events to the DLQ at once (reason `validation`).
 */
export class ValidationError extends EventBusError {
  declare readonly code: 'VALIDATION';
  /** The event's `eventType` (as far as it could be read). */
  readonly eventType: string;
  /** The event's `version` (as far as it could be read). */
  readonly version: string;
  /** Every problem found, in schema order. */
  readonly issues: ValidationIssue[];

  /**
   * @param eventType - the event's type, or `''` when it had none
   * @param version - the event's version, or `''` when it had none
   * @param issues - the problems found; the message lists them
   * @param options - `cause`: e.g. the underlying `ZodError`
   */
  constructor(eventType: string, version: string, issues: ValidationIssue[], options?: { cause?: unknown }) {
    const what = eventType === '' ? 'event' : `event ${eventType}@${version === '' ? '?' : version}`;
    const list = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    super(EventErrorCodes.VALIDATION, `Invalid ${what}: ${list}`, options);
    this.name = 'ValidationError';
    this.eventType = eventType;
    this.version = version;
    this.issues = issues;
  }
}

/**
 * Bytes received from the bus are not an event: not UTF-8, malformed JSON, not a JSON object,
 * or a missing/invalid envelope field. Retrying cannot fix it (DLQ reason `decode`).
 */
export class DecodeError extends EventBusError {
  declare readonly code: 'DECODE';
  /** The envelope field at fault, when the problem is one field. */
  readonly field?: string;

  /**
   * @param message - what is wrong with the payload
   * @param options - `field` at fault, `cause` (e.g. the `SyntaxError` from `JSON.parse`)
   */
  constructor(message: string, options?: { field?: string; cause?: unknown }) {
    super(EventErrorCodes.DECODE, message, options);
    this.name = 'DecodeError';
    if (options?.field !== undefined) this.field = options.field;
  }
}

/**
 * An event cannot be put on the wire: its timestamp is not a valid Date, a header value
 * contains a control character, or its data is not JSON-serialisable (BigInt, cycles).
 */
export class EncodeError extends EventBusError {
  declare readonly code: 'ENCODE';

  /**
   * @param message - what cannot be encoded
   * @param options - `cause`: the underlying error
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(EventErrorCodes.ENCODE, message, options);
    this.name = 'EncodeError';
  }
}

/**
 * A schema registration would replace a built-in platform schema. The platform contracts are
 * fixed per version: register a new version instead.
 */
export class SchemaConflictError extends EventBusError {
  declare readonly code: 'SCHEMA_CONFLICT';
  /** The event type whose schema was being registered. */
  readonly eventType: string;
  /** The version whose schema was being registered. */
  readonly version: string;

  /**
   * @param eventType - the event type being registered
   * @param version - the version being registered
   */
  constructor(eventType: string, version: string) {
    super(
      EventErrorCodes.SCHEMA_CONFLICT,
      `A built-in schema is registered for ${eventType}@${version}; register a new version instead of replacing it`,
    );
    this.name = 'SchemaConflictError';
    this.eventType = eventType;
    this.version = version;
  }
}

/**
 * An event of a known type carries a schema version this consumer cannot read: a major version
 * it has no schema for (or a version that is not `major.minor`). A new major may change or
 * remove fields, so guessing is unsafe; retrying cannot help either. Consumers send such events
 * to the DLQ at once (reason `validation`), and publishing one is refused.
 */
export class UnsupportedVersionError extends EventBusError {
  declare readonly code: 'UNSUPPORTED_VERSION';
  /** The event's `eventType`. */
  readonly eventType: string;
  /** The version it carries. */
  readonly version: string;
  /** The versions registered for its type, e.g. `['1.0', '1.1']`. */
  readonly supported: string[];

  /**
   * @param eventType - the event's type
   * @param version - the version it carries
   * @param supported - the versions registered for that type
   */
  constructor(eventType: string, version: string, supported: string[]) {
    super(
      EventErrorCodes.UNSUPPORTED_VERSION,
      `Unsupported version ${JSON.stringify(version)} of ${eventType}: this consumer reads ${supported.join(', ')} (a newer minor of a known major is read by the highest known minor below it; an unknown major is refused)`,
    );
    this.name = 'UnsupportedVersionError';
    this.eventType = eventType;
    this.version = version;
    this.supported = supported;
  }
}
