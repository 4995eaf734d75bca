/**
 * Event subjects, and the guards that keep data from choosing a subject.
 *
 * NATS routes on dot-separated tokens and treats `*` and `>` as wildcards. A value such as
 * `executionId = "x.>"` interpolated into `model.token.stream.${executionId}` would subscribe
 * to (or publish on) subjects it must not reach: subject injection. Every token that comes
 * from data goes through {@link assertSubjectToken}.
 *
 * @packageDocumentation
 */
import { SubjectTokenError, type SubjectTokenProblem } from './errors.js';

/**
 * Every subject of the platform, by family (the guide's "Event Subjects").
 *
 * `MODEL_TOKEN_STREAM` and `DLQ` are prefixes (build real subjects with {@link subjects});
 * `DLQ_ALL` is a subscription pattern. `TOOL_EXECUTE_REQUEST`/`TOOL_EXECUTE_RESPONSE` are core
 * request/reply subjects, kept out of every JetStream stream.
 */
export const EventSubjects = {
  // workflow.* — workflow lifecycle
  WORKFLOW_CREATED: 'workflow.created',
  WORKFLOW_UPDATED: 'workflow.updated',
  WORKFLOW_DELETED: 'workflow.deleted',
  WORKFLOW_EXECUTION_REQUESTED: 'workflow.execution.requested',

  // execution.* — execution lifecycle
  EXECUTION_STARTED: 'execution.started',
  EXECUTION_COMPLETED: 'execution.completed',
  EXECUTION_FAILED: 'execution.failed',
  EXECUTION_CANCELLED: 'execution.cancelled',
  EXECUTION_RESUMED: 'execution.resumed',

  // execution.node.* — node-level execution
  EXECUTION_NODE_STARTED: 'execution.node.started',
  EXECUTION_NODE_COMPLETED: 'execution.node.completed',
  EXECUTION_NODE_FAILED: 'execution.node.failed',

  // agent.* — agent lifecycle
  AGENT_CREATED: 'agent.created',
  AGENT_UPDATED: 'agent.updated',
  AGENT_DELETED: 'agent.deleted',

  // agent.execution.* — agent execution
  AGENT_EXECUTION_REQUESTED: 'agent.execution.requested',
  AGENT_EXECUTION_STARTED: 'agent.execution.started',
  AGENT_EXECUTION_COMPLETED: 'agent.execution.completed',
  AGENT_EXECUTION_FAILED: 'agent.execution.failed',
  // agent.tool.* — the tool calls an agent's model asked for
  AGENT_TOOL_CALLED: 'agent.tool.called',

  // tool.execution.* — tool execution (stored in the EVENTS stream)
  TOOL_EXECUTION_REQUESTED: 'tool.execution.requested',
  TOOL_EXECUTION_COMPLETED: 'tool.execution.completed',
  TOOL_EXECUTION_FAILED: 'tool.execution.failed',

  // tool.execute.* — core request/reply, in no stream (a stream would answer a request with its PubAck)
  TOOL_EXECUTE_REQUEST: 'tool.execute.request',
  TOOL_EXECUTE_RESPONSE: 'tool.execute.response',

  // model.inference.* — model inference
  MODEL_INFERENCE_REQUESTED: 'model.inference.requested',
  MODEL_INFERENCE_COMPLETED: 'model.inference.completed',
  MODEL_INFERENCE_FAILED: 'model.inference.failed',

  // model.token.* — token streaming; prefix, the real subject is model.token.stream.<executionId>
  MODEL_TOKEN_STREAM: 'model.token.stream',

  // vector.* — vector database
  VECTOR_UPSERTED: 'vector.upserted',
  VECTOR_DELETED: 'vector.deleted',
  VECTOR_SEARCH_COMPLETED: 'vector.search.completed',

  // dlq.* — dead letters; prefix, the real subject is dlq.<consumer>
  DLQ: 'dlq',
  DLQ_ALL: 'dlq.*',
} as const;

/** Any value of {@link EventSubjects}. */
export type EventSubject = (typeof EventSubjects)[keyof typeof EventSubjects];

/** What a token interpolated into a subject may look like: 1-128 of `A-Z a-z 0-9 _ -`. */
export const SUBJECT_TOKEN_PATTERN: RegExp = /^[A-Za-z0-9_-]{1,128}$/;

/** Longest token {@link SUBJECT_TOKEN_PATTERN} accepts. */
export const MAX_SUBJECT_TOKEN_LENGTH = 128;

// Quote a token for an error message: JSON escapes control characters, and long input is cut
// so a hostile value cannot flood the logs.
function quote(token: string): string {
  const shown = token.length > 64 ? `${token.slice(0, 64)}…` : token;
  return JSON.stringify(shown);
}

// A non-string where a token was expected, as text: String() would call the value's own
// `toString`, which data such as `{"toString": 0}` replaces (a TypeError, not a SubjectTokenError).
function nonStringText(value: unknown): string {
  return typeof value === 'object' && value !== null ? Object.prototype.toString.call(value) : String(value);
}

function tokenProblem(token: string): { problem: SubjectTokenProblem; why: string } | undefined {
  if (SUBJECT_TOKEN_PATTERN.test(token)) return undefined;
  if (token.length === 0) return { problem: 'empty', why: 'is empty' };
  if (token.length > MAX_SUBJECT_TOKEN_LENGTH) {
    return { problem: 'too-long', why: `is ${token.length} characters long (at most ${MAX_SUBJECT_TOKEN_LENGTH})` };
  }
  if (token.includes('.')) return { problem: 'separator', why: "contains '.', the subject separator" };
  if (/[*>]/.test(token)) return { problem: 'wildcard', why: "contains a wildcard ('*' or '>')" };
  // eslint-disable-next-line no-control-regex -- control characters are exactly what we look for
  if (/[\u0000-\u001f\u007f-\u009f]/.test(token)) {
    if (/[\t\n\v\f\r]/.test(token)) return { problem: 'whitespace', why: 'contains whitespace' };
    return { problem: 'control-character', why: 'contains a control character' };
  }
  if (/\s/.test(token)) return { problem: 'whitespace', why: 'contains whitespace' };
  const bad = /[^A-Za-z0-9_-]/u.exec(token)?.[0] ?? '?';
  return { problem: 'invalid-character', why: `contains ${JSON.stringify(bad)} (allowed: A-Z a-z 0-9 _ -)` };
}

/**
 * Checks one token that will be interpolated into a subject.
 *
 * @param token - the value, e.g. an `executionId`
 * @param field - the field it came from, named in the error
 * @returns the token, unchanged
 * @throws {@link SubjectTokenError} when it does not match {@link SUBJECT_TOKEN_PATTERN}
 *   (contains `.`, a wildcard, whitespace or a control character, is empty or too long)
 */
export function assertSubjectToken(token: string, field?: string): string {
  const where = field === undefined ? 'Subject token' : `Subject token ${field}`;
  if (typeof token !== 'string') {
    throw new SubjectTokenError(nonStringText(token), 'not-a-string', `${where} must be a string, got ${typeof token}`, {
      ...(field === undefined ? {} : { field }),
    });
  }
  const found = tokenProblem(token);
  if (found === undefined) return token;
  throw new SubjectTokenError(token, found.problem, `${where} ${quote(token)} ${found.why}`, {
    ...(field === undefined ? {} : { field }),
  });
}

function assertSubject(subject: string, allowWildcards: boolean): string {
  const kind = allowWildcards ? 'subscribe' : 'publish';
  if (typeof subject !== 'string') {
    throw new SubjectTokenError(nonStringText(subject), 'not-a-string', `A ${kind} subject must be a string, got ${typeof subject}`);
  }
  const tokens = subject.split('.');
  tokens.forEach((token, i) => {
    if (allowWildcards && token === '*') return;
    if (allowWildcards && token === '>') {
      if (i === tokens.length - 1) return;
      throw new SubjectTokenError(token, 'wildcard', `Subject ${quote(subject)}: '>' is only allowed as the last token`, {
        subject,
      });
    }
    if (token === '*' || token === '>') {
      throw new SubjectTokenError(token, 'wildcard', `Subject ${quote(subject)}: wildcard '${token}' in a publish subject`, {
        subject,
      });
    }
    const found = tokenProblem(token);
    if (found !== undefined) {
      throw new SubjectTokenError(
        token,
        found.problem,
        `Subject ${quote(subject)}: token ${i + 1} ${quote(token)} ${found.why}`,
        { subject },
      );
    }
  });
  return subject;
}

const MAX_REMEMBERED_SUBJECTS = 10_000;
const validPublishSubjects = new Set<string>();

/**
 * Checks a subject to publish on: every dot-separated token matches
 * {@link SUBJECT_TOKEN_PATTERN}; no wildcards, no empty tokens.
 *
 * @returns the subject, unchanged
 * @throws {@link SubjectTokenError} naming the first bad token
 */
export function assertPublishSubject(subject: string): string {
  // Every publish and receipt checks its subject, and subjects are few: a valid one is
  // remembered (the check is pure), an invalid one is checked again to throw.
  if (validPublishSubjects.has(subject)) return subject;
  assertSubject(subject, false);
  if (validPublishSubjects.size >= MAX_REMEMBERED_SUBJECTS) validPublishSubjects.clear();
  validPublishSubjects.add(subject);
  return subject;
}

/**
 * Checks a subject to subscribe to: every token matches {@link SUBJECT_TOKEN_PATTERN} or is
 * `*`; `>` is allowed only as the last token. Partial wildcards such as `a*` are rejected
 * (NATS would take them literally, which is never what was meant).
 *
 * @returns the subject, unchanged
 * @throws {@link SubjectTokenError} naming the first bad token
 */
export function assertSubscribeSubject(subject: string): string {
  return assertSubject(subject, true);
}

/**
 * Whether `subject` is matched by the subscription `pattern`, with NATS wildcard semantics:
 * `*` matches exactly one token, `>` (last token only) matches one or more trailing tokens.
 * Malformed input (empty tokens, `>` not last) matches nothing.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  if (p.includes('') || s.includes('')) return false;
  for (let i = 0; i < p.length; i++) {
    const pt = p[i];
    if (pt === '>') return i === p.length - 1 && s.length > i;
    const st = s[i];
    if (st === undefined) return false;
    if (pt !== '*' && pt !== st) return false;
  }
  return p.length === s.length;
}

/** Builders of data-dependent subjects; each interpolated token is checked. */
export const subjects: {
  /** `model.token.stream.<executionId>`: where the tokens of one execution are streamed. */
  tokenStream(executionId: string): string;
  /** `dlq.<consumer>`: where the dead letters of one consumer go. */
  deadLetter(consumer: string): string;
} = {
  tokenStream: (executionId) => `${EventSubjects.MODEL_TOKEN_STREAM}.${assertSubjectToken(executionId, 'executionId')}`,
  deadLetter: (consumer) => `${EventSubjects.DLQ}.${assertSubjectToken(consumer, 'consumer')}`,
};
