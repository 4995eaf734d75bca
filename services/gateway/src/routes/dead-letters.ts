/**
 * Dead letters: list them (`GET /api/dead-letters`), replay a selection
 * (`POST /api/dead-letters/replay`) and purge handled or selected records
 * (`POST /api/dead-letters/purge`). Replay goes through the bus client's replayer: a new
 * eventId derived from the record, `causationId` = the original eventId, a record is replayed
 * at most once. Purging deletes the records' messages from the `DLQ` stream. Admin only.
 */
import { DEAD_LETTER_REASONS, SUBJECT_TOKEN_PATTERN } from '@multi-agent/events';
import type { DeadLetterReason } from '@multi-agent/events';
import { ClientErrorCodes, errorCode, StreamNames } from '@multi-agent/nats-client';
import { AuditSubjects } from '@multi-agent/service-kit';
import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../audit.js';
import type { GatewayContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { countDeadLetters, readDeadLetters } from './dead-letter-records.js';
import { requireJsonBody } from './json-only.js';

/** Most records one replay or purge request names. */
const MAX_SELECTION = 500;

const sequencesSchema = { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, maxItems: MAX_SELECTION, uniqueItems: true } as const;

/** Registers the dead-letter routes. */
export function registerDeadLetterRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get<{ Querystring: { consumer?: string; reason?: DeadLetterReason } }>(
    '/api/dead-letters',
    {
      config: { access: 'admin' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { consumer: { type: 'string', pattern: SUBJECT_TOKEN_PATTERN.source }, reason: { type: 'string', enum: [...DEAD_LETTER_REASONS] } },
        },
      },
    },
    async (request) => {
      const { consumer, reason } = request.query;
      const { records: all, unreadable } = await readDeadLetters(ctx.client, consumer);
      // Counts are over the consumer filter, not the reason filter: they label the reason filter.
      const records = all.filter((r) => reason === undefined || r.reason === reason);
      return { records: records.reverse(), total: records.length, counts: countDeadLetters(all), unreadable };
    },
  );

  app.post<{ Body: { sequences: number[] } }>(
    '/api/dead-letters/replay',
    {
      config: { access: 'admin' },
      onRequest: requireJsonBody,
      schema: { body: { type: 'object', additionalProperties: false, required: ['sequences'], properties: { sequences: sequencesSchema } } },
    },
    async (request) => {
      const results = [];
      for (const dlqSequence of request.body.sequences) {
        let found: boolean;
        try {
          found = (await ctx.client.deadLetters.read(dlqSequence)) !== undefined;
        } catch (err) {
          if (errorCode(err) !== ClientErrorCodes.DLQ_RECORD_UNREADABLE) throw err;
          results.push({ dlqSequence, status: 'not-replayable' as const, reason: (err as Error).message });
          continue;
        }
        if (!found) {
          results.push({ dlqSequence, status: 'not-found' as const });
          continue;
        }
        results.push(await ctx.client.deadLetters.replay(dlqSequence));
      }
      const replayed = results.filter((r) => r.status === 'replayed').map((r) => r.dlqSequence);
      ctx.client.logger.info({ replayed }, 'dead letters replayed');
      if (replayed.length > 0) await recordAudit(ctx, request, AuditSubjects.DEAD_LETTERS_REPLAYED, { dlqSequences: replayed });
      return { results };
    },
  );

  app.post<{ Body: { sequences?: number[]; handled?: true } }>(
    '/api/dead-letters/purge',
    {
      config: { access: 'admin' },
      onRequest: requireJsonBody,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { sequences: sequencesSchema, handled: { type: 'boolean', const: true } },
        },
      },
    },
    async (request) => {
      const { sequences, handled } = request.body;
      if ((sequences === undefined) === (handled === undefined)) {
        throw new HttpError(400, 'INVALID_REQUEST', 'name the records to purge: either "sequences": [DLQ sequences] or "handled": true');
      }
      const selected = sequences ?? (await readDeadLetters(ctx.client)).records.filter((r) => r.handled).map((r) => r.dlqSequence);
      const purged: number[] = [];
      const notFound: number[] = [];
      const { jsm } = ctx.client.jetstream;
      for (const seq of selected) {
        // The server answers a missing message with a generic delete failure: look first.
        if ((await jsm.streams.getMessage(StreamNames.DLQ, { seq })) === null) {
          notFound.push(seq);
          continue;
        }
        // false: drop the message without overwriting its bytes on disk (a purge, not an erase).
        await jsm.streams.deleteMessage(StreamNames.DLQ, seq, false);
        purged.push(seq);
      }
      ctx.client.logger.info({ purged, handled: handled === true }, 'dead letters purged');
      if (purged.length > 0) await recordAudit(ctx, request, AuditSubjects.DEAD_LETTERS_PURGED, { dlqSequences: purged });
      return { purged, notFound };
    },
  );
}
