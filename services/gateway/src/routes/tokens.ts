/**
 * `GET /api/executions/:id/tokens`: the execution's token stream as Server-Sent Events, read
 * with `subscribeStream` (so it starts from the first token even when the browser comes late).
 *
 * Each token is `id: <seq>` + `data: {"token","seq","nodeId"}` (`nodeId`: the workflow node
 * whose inference produced it, absent when the producer did not say); the end of the stream is
 * `event: end`. A browser that reconnects sends `Last-Event-ID` (an `EventSource` does that by
 * itself); a page that reloads passes `?lastEventId=` since it cannot set the header. Either way
 * the stream continues after that sequence: no gap, no duplicate.
 */
import { isTerminal } from '@multi-agent/service-kit';
import { errorCode, StreamIdleError } from '@multi-agent/nats-client';
import type { FastifyInstance } from 'fastify';
import { idSchema } from '../context.js';
import type { GatewayContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { requireExecution } from './executions.js';

function parseLastEventId(header: string | string[] | undefined, query: string | undefined): number {
  const raw = (Array.isArray(header) ? header[0] : header) ?? query;
  if (raw === undefined || raw.trim() === '') return 0;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new HttpError(400, 'INVALID_LAST_EVENT_ID', `Last-Event-ID must be a token sequence number, got "${raw}"`);
  return value;
}

/** Registers the SSE route. */
export function registerTokenRoutes(app: FastifyInstance, ctx: GatewayContext, onConnection: (delta: 1 | -1) => void): void {
  app.get<{ Params: { executionId: string }; Querystring: { lastEventId?: string } }>(
    '/api/executions/:executionId/tokens',
    {
      config: { sseStream: true },
      schema: {
        params: { type: 'object', properties: { executionId: idSchema }, required: ['executionId'] },
        querystring: { type: 'object', properties: { lastEventId: { type: 'string', maxLength: 20 } } },
      },
    },
    async (request, reply) => {
      const { executionId } = request.params;
      const lastSeen = parseLastEventId(request.headers['last-event-id'], request.query.lastEventId);
      await requireExecution(ctx, executionId);

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // Browsers reconnect after this long when the connection drops.
      res.write('retry: 1000\n\n');
      const abort = new AbortController();
      // The response (not the request, which ends at once for a GET) closes when the browser goes away.
      res.on('close', () => abort.abort());
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), ctx.sseHeartbeatMs);
      onConnection(1);
      const send = (fields: { id?: number; event?: string; data: unknown }): void => {
        res.write(`${fields.id === undefined ? '' : `id: ${fields.id}\n`}${fields.event === undefined ? '' : `event: ${fields.event}\n`}data: ${JSON.stringify(fields.data)}\n\n`);
      };
      let fromSeq = lastSeen + 1;
      try {
        for (;;) {
          try {
            for await (const token of ctx.client.subscribeStream(executionId, { fromSeq, signal: abort.signal, idleTimeoutMs: ctx.tokenIdleMs })) {
              fromSeq = token.seq + 1;
              if (token.token !== '' || !token.isComplete) send({ id: token.seq, data: { token: token.token, seq: token.seq, nodeId: token.nodeId } });
              if (token.isComplete) {
                send({ id: token.seq, event: 'end', data: { seq: token.seq } });
                return;
              }
            }
            return;
          } catch (err) {
            if (!(err instanceof StreamIdleError)) throw err;
            // Quiet is normal between nodes; an execution that ended without completing its
            // stream (its model service died) will not send more, so tell the browser to stop.
            const stored = await ctx.store.get(executionId);
            if (stored === undefined || isTerminal(stored.state.status)) {
              send({ event: 'end', data: { seq: fromSeq - 1, reason: 'execution ended without completing its token stream' } });
              return;
            }
          }
        }
      } catch (err) {
        if (!abort.signal.aborted) {
          ctx.client.logger.warn({ err, executionId }, 'token stream failed');
          // The detail is in the log above; the browser gets a code, and reconnects from its last token.
          send({ event: 'error', data: { code: errorCode(err) ?? 'INTERNAL', message: 'the token stream failed; reconnect with Last-Event-ID' } });
        }
      } finally {
        clearInterval(heartbeat);
        onConnection(-1);
        res.end();
      }
    },
  );
}
