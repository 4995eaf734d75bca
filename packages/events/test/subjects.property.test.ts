import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostileString, hostileValue, returnsOrThrowsTyped } from '@multi-agent/testing/hostile-input';
import {
  assertPublishSubject,
  assertSubjectToken,
  assertSubscribeSubject,
  SUBJECT_TOKEN_PATTERN,
  SubjectTokenError,
  subjectMatches,
  subjects,
} from '../src/index.js';

const TOKEN = ['SUBJECT_TOKEN'];

/** Subjects built from hostile tokens, wildcards and empty tokens. */
const hostileSubject = fc.oneof(
  hostileString,
  fc.array(fc.oneof(hostileString, fc.constantFrom('*', '>', '', 'a', 'tool', 'x-1')), { minLength: 1, maxLength: 12 }).map((tokens) => tokens.join('.')),
);

describe('subject guards on hostile input (property)', () => {
  it('assertSubjectToken returns exactly the tokens the pattern accepts and throws SubjectTokenError for the rest, whatever the type', () => {
    fc.assert(
      fc.property(fc.oneof(hostileString, hostileValue({ cycles: true })), (token) => {
        const accepted = returnsOrThrowsTyped(() => assertSubjectToken(token as string, 'executionId'), SubjectTokenError, TOKEN);
        const valid = typeof token === 'string' && SUBJECT_TOKEN_PATTERN.test(token);
        expect(accepted).toBe(valid ? token : undefined);
      }),
      { numRuns: 300 },
    );
  });

  it('the subject builders accept a token only when the subject they build is a valid publish subject', () => {
    fc.assert(
      fc.property(hostileString, (token) => {
        const subject = returnsOrThrowsTyped(() => subjects.tokenStream(token), SubjectTokenError, TOKEN);
        if (subject !== undefined) expect(assertPublishSubject(subject)).toBe(subject);
        const dlq = returnsOrThrowsTyped(() => subjects.deadLetter(token), SubjectTokenError, TOKEN);
        expect(dlq === undefined).toBe(subject === undefined);
      }),
      { numRuns: 200 },
    );
  });

  it('assertPublishSubject and assertSubscribeSubject accept a subject only when every token is valid (wildcards only to subscribe)', () => {
    fc.assert(
      fc.property(fc.oneof(hostileSubject, hostileValue()), (subject) => {
        const published = returnsOrThrowsTyped(() => assertPublishSubject(subject as string), SubjectTokenError, TOKEN);
        const subscribed = returnsOrThrowsTyped(() => assertSubscribeSubject(subject as string), SubjectTokenError, TOKEN);
        if (typeof subject !== 'string') {
          expect([published, subscribed]).toEqual([undefined, undefined]);
          return;
        }
        const tokens = subject.split('.');
        const plain = tokens.every((t) => SUBJECT_TOKEN_PATTERN.test(t));
        expect(published).toBe(plain ? subject : undefined);
        const withWildcards = tokens.every((t, i) => SUBJECT_TOKEN_PATTERN.test(t) || t === '*' || (t === '>' && i === tokens.length - 1));
        expect(subscribed).toBe(withWildcards ? subject : undefined);
      }),
      { numRuns: 300 },
    );
  });

  it('subjectMatches never throws and agrees with NATS semantics on valid subjects', () => {
    fc.assert(
      fc.property(hostileSubject, hostileSubject, (pattern, subject) => {
        const matched = returnsOrThrowsTyped(() => subjectMatches(pattern, subject), SubjectTokenError);
        expect(typeof matched).toBe('boolean');
        if (subject.split('.').every((t) => SUBJECT_TOKEN_PATTERN.test(t))) {
          expect(subjectMatches(subject, subject)).toBe(true);
          expect(subjectMatches('>', subject)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
