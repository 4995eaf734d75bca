import { describe, expect, it } from 'vitest';
import {
  assertPublishSubject,
  assertSubjectToken,
  assertSubscribeSubject,
  EventSubjects,
  SUBJECT_TOKEN_PATTERN,
  SubjectTokenError,
  subjectMatches,
  subjects,
} from '../src/index.js';

function rejection(fn: () => unknown): SubjectTokenError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SubjectTokenError);
    return error as SubjectTokenError;
  }
  throw new Error('expected a SubjectTokenError, nothing was thrown');
}

describe('assertSubjectToken', () => {
  it.each([
    ['a.b', 'separator', "contains '.'"],
    ['*', 'wildcard', 'wildcard'],
    ['exec-*', 'wildcard', 'wildcard'],
    ['>', 'wildcard', 'wildcard'],
    ['a b', 'whitespace', 'whitespace'],
    ['a\tb', 'whitespace', 'whitespace'],
    ['a\nb', 'whitespace', 'whitespace'],
    ['a\u0000b', 'control-character', 'control character'],
    ['', 'empty', 'empty'],
    ['x'.repeat(129), 'too-long', '129 characters'],
    ['é', 'invalid-character', '"é"'],
  ] as const)('rejects %j (%s)', (token, problem, why) => {
    const error = rejection(() => assertSubjectToken(token, 'executionId'));
    expect(error.code).toBe('SUBJECT_TOKEN');
    expect(error.name).toBe('SubjectTokenError');
    expect(error.problem).toBe(problem);
    expect(error.token).toBe(token);
    expect(error.field).toBe('executionId');
    expect(error.message).toContain('executionId');
    expect(error.message).toContain(why);
  });

  it('keeps control characters out of the message and cuts long tokens', () => {
    expect(rejection(() => assertSubjectToken('a\u0000b')).message).not.toContain('\u0000');
    const long = rejection(() => assertSubjectToken('y'.repeat(10_000)));
    expect(long.message.length).toBeLessThan(300);
    expect(long.token).toHaveLength(10_000);
  });

  it('rejects non-strings from untyped callers', () => {
    expect(rejection(() => assertSubjectToken(42 as unknown as string)).problem).toBe('not-a-string');
  });

  it('accepts and returns valid tokens, up to 128 characters', () => {
    const max = 'x'.repeat(128);
    expect(assertSubjectToken(max)).toBe(max);
    expect(assertSubjectToken('execution-789')).toBe('execution-789');
    expect(assertSubjectToken('A_z-0')).toBe('A_z-0');
    expect(SUBJECT_TOKEN_PATTERN.test(max)).toBe(true);
    expect(SUBJECT_TOKEN_PATTERN.test(`${max}x`)).toBe(false);
  });
});

describe('subject builders', () => {
  it('build subjects from valid tokens', () => {
    expect(subjects.tokenStream('execution-789')).toBe('model.token.stream.execution-789');
    expect(subjects.deadLetter('orchestration-agent-completed')).toBe('dlq.orchestration-agent-completed');
  });

  it('refuse injected tokens and name the field', () => {
    expect(rejection(() => subjects.tokenStream('x.>')).field).toBe('executionId');
    expect(rejection(() => subjects.tokenStream('*')).problem).toBe('wildcard');
    expect(rejection(() => subjects.deadLetter('a b')).field).toBe('consumer');
  });
});

describe('assertPublishSubject', () => {
  it('accepts every concrete platform subject', () => {
    for (const subject of Object.values(EventSubjects)) {
      if (subject === EventSubjects.DLQ_ALL) continue;
      expect(assertPublishSubject(subject)).toBe(subject);
    }
  });

  it.each(['a.*', 'a.>', '>', 'a..b', '.a', 'a.', '', 'a.b c', 'a.\u0000'])('rejects %j', (subject) => {
    const error = rejection(() => assertPublishSubject(subject));
    expect(error.subject).toBe(subject);
  });

  it('names the bad token', () => {
    const error = rejection(() => assertPublishSubject('model.token.stream.x y'));
    expect(error.token).toBe('x y');
    expect(error.message).toContain('token 4');
  });
});

describe('assertSubscribeSubject', () => {
  it.each(['execution.node.*', 'dlq.*', 'workflow.>', '>', '*.*', 'a.*.c.>'])('accepts %j', (subject) => {
    expect(assertSubscribeSubject(subject)).toBe(subject);
  });

  it.each(['a.>.b', '>.a', 'a*', 'a.b*', 'a..b', 'a.', 'a b', ''])('rejects %j', (subject) => {
    rejection(() => assertSubscribeSubject(subject));
  });
});

describe('subjectMatches', () => {
  it.each([
    ['execution.node.*', 'execution.node.completed', true],
    ['execution.node.*', 'execution.node', false],
    ['execution.node.*', 'execution.node.completed.x', false],
    ['execution.*', 'execution.node.completed', false],
    ['execution.>', 'execution.node.completed', true],
    ['execution.>', 'execution.started', true],
    ['execution.>', 'execution', false],
    ['>', 'a', true],
    ['>', 'a.b.c', true],
    ['*.*.completed', 'agent.execution.completed', true],
    ['*.*.completed', 'agent.execution.failed', false],
    ['dlq.*', 'dlq.my-consumer', true],
    ['dlq.*', 'dlqx.my-consumer', false],
    ['workflow.created', 'workflow.created', true],
    ['workflow.created', 'workflow.updated', false],
    ['workflow.created', 'workflow', false],
    ['workflow', 'workflow.created', false],
    ['a.>.b', 'a.x.b', false],
    ['a..b', 'a..b', false],
    ['a.*', 'a.', false],
  ] as const)('%s vs %s -> %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});
