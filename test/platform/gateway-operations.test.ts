/**
 * The operator API of the gateway on a real server, the platform in-process: the executions
 * list (filter, pages), cancelling a running execution (state, events, the agent's abort),
 * dead letters (list, replay of a selection, purge) and streams/consumers, each read back from
 * the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import { NonRetryableError, StreamNames } from '@multi-agent/nats-client';
import type { Subscription } from '@multi-agent/nats-client';
import { Collector, NatsServer } from '@multi-agent/testing';
import { startInProcess } from './support/in-process.js';
import type { InProcessPlatform } from './support/in-process.js';
import { eventsOfType, executionEvents, waitFor } from './support/platform.js';

let server: NatsServer;
let platform: InProcessPlatform;
let base: string;

beforeAll(async () => {
  server = await NatsServer.start();
  // Slow tokens: an agent node takes seconds, long enough to cancel it mid-call.
  platform = await startInProcess(server.url, { tokenDelayMs: 30 });
  base = platform.gatewayUrl;
});

afterAll(async () => {
  await platform?.stop();
  await server?.stop();
});

type Body = Record<string, unknown>;

async function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: Body }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...platform.authHeaders, ...(body === undefined ? {} : { 'content-type': contentType }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Body };
}

/** The data of the audit records on `subject`, read back from the AUDIT stream. */
async function audited(subject: string): Promise<Body[]> {
  const found: Body[] = [];
  for await (const { event } of platform.observer.readEvents({ stream: StreamNames.AUDIT, filterSubject: subject })) found.push(event.data as Body);
  return found;
}

const admin = { userId: 'test-admin', role: 'admin', via: 'api-key' };

async function start(workflowId: string, input: Body): Promise<string> {
  const { status, body } = await call('POST', `/api/workflows/${workflowId}/executions`, { input });
  expect(status).toBe(202);
  return body.executionId as string;
}

async function ended(executionId: string): Promise<Body> {
  return waitFor(async () => {
    const { body } = await call('GET', `/api/executions/${executionId}`);
    return ['completed', 'failed', 'cancelled'].includes(body.status as string) && body.pendingEvents === 0 ? body : undefined;
  }, 30_000, `execution ${executionId} to end`);
}

interface Summary {
  executionId: string;
  workflowId: string;
  status: string;
  requestedAt: string;
  error?: { code?: string; message: string; nodeId?: string };
}

describe('executions list', () => {
  const started: string[] = [];

  beforeAll(async () => {
    // Sequential, so each is requested after the previous one: newest first is the reverse.
    for (const people of [2, 3, 0, 4, 5]) started.push(await start('split-bill', { people }));
    for (const id of started) await ended(id);
  }, 60_000);

  it('pages through every execution of a workflow, newest first, with a stable cursor', async () => {
    const seen: Summary[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const { status, body } = await call('GET', `/api/executions?workflowId=split-bill&limit=2${cursor === undefined ? '' : `&cursor=${cursor}`}`);
      expect(status).toBe(200);
      expect(body.total).toBe(5);
      seen.push(...(body.executions as Summary[]));
      cursor = body.nextCursor as string | undefined;
      pages += 1;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(seen.map((s) => s.executionId)).toEqual([...started].reverse());
    expect(seen.every((s) => s.workflowId === 'split-bill')).toBe(true);
  });

  it('filters by status; a failed execution says why and which node failed', async () => {
    const { body } = await call('GET', '/api/executions?workflowId=split-bill&status=failed');
    expect(body.counts).toEqual({ completed: 4, failed: 1 });
    const [failed] = body.executions as Summary[];
    expect(body.executions).toHaveLength(1);
    expect(failed).toMatchObject({ executionId: started[2], status: 'failed', error: { code: 'DIVISION_BY_ZERO', nodeId: 'share' } });
    expect((await call('GET', '/api/executions?workflowId=perspectives')).body).toMatchObject({ executions: [], total: 0 });
  });

  it('refuses a bad filter or cursor with a typed error', async () => {
    expect((await call('GET', '/api/executions?status=lost')).body.error).toBe('INVALID_REQUEST');
    expect((await call('GET', '/api/executions?cursor=bm90IGEgY3Vyc29y')).body.error).toBe('INVALID_CURSOR');
    expect((await call('GET', '/api/executions?limit=1000')).status).toBe(400);
  });

  it('refuses to cancel an execution that has ended: 409', async () => {
    const { status, body } = await call('POST', `/api/executions/${started[0]}/cancel`, {});
    expect(status).toBe(409);
    expect(body).toMatchObject({ error: 'EXECUTION_FINISHED', status: 'completed' });
    expect((await call('GET', `/api/executions/${started[0]}`)).body.status).toBe('completed');
    expect((await call('POST', '/api/executions/no-such-execution/cancel', {})).body.error).toBe('EXECUTION_NOT_FOUND');
    expect((await call('POST', `/api/executions/${started[0]}/cancel`, '')).body.error).toBe('INVALID_REQUEST');
    expect((await call('POST', `/api/executions/${started[0]}/cancel`, '{"reason":')).body.error).toBe('INVALID_REQUEST');
  });
});

describe('cancelling a running execution', () => {
  it('ends it cancelled: no further node starts and the running agent aborts its model call', async () => {
    const executionId = await start('research-summary', { topic: 'cancellation' });
    // The agent is waiting for the model's answer.
    await waitFor(async () => eventsOfType(await executionEvents(platform.observer, executionId), EventSubjects.MODEL_INFERENCE_REQUESTED).length > 0, 15_000, 'the model request');

    // A cross-site form cannot cancel it.
    const form = await call('POST', `/api/executions/${executionId}/cancel`, 'reason=csrf', 'application/x-www-form-urlencoded');
    expect(form).toMatchObject({ status: 415, body: { error: 'UNSUPPORTED_MEDIA_TYPE' } });

    // Who cancelled is the caller of the token, never a body's say.
    expect(await call('POST', `/api/executions/${executionId}/cancel`, { reason: 'operator test', userId: 'ops' })).toMatchObject({ status: 400, body: { error: 'USER_ID_FROM_TOKEN' } });
    const { status, body } = await call('POST', `/api/executions/${executionId}/cancel`, { reason: 'operator test' });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: 'cancelled',
      cancellation: { reason: 'operator test', cancelledBy: 'test-admin' },
      nodes: { research: { status: 'cancelled' }, summarise: { status: 'skipped' } },
      pendingEvents: 0,
    });
    const again = await call('POST', `/api/executions/${executionId}/cancel`, {});
    expect(again).toMatchObject({ status: 409, body: { error: 'EXECUTION_FINISHED', status: 'cancelled' } });

    // The model finishes the inference it started; by then the agent has given up on it.
    const events = await waitFor(async () => {
      const all = await executionEvents(platform.observer, executionId);
      return eventsOfType(all, EventSubjects.MODEL_INFERENCE_COMPLETED).length > 0 && eventsOfType(all, EventSubjects.AGENT_EXECUTION_FAILED).length > 0 ? all : undefined;
    }, 20_000, 'the model answer and the agent abort');
    const aborted = eventsOfType(events, EventSubjects.AGENT_EXECUTION_FAILED)[0]!;
    expect((aborted.data as { error: { code: string } }).error.code).toBe('EXECUTION_CANCELLED');
    const answer = eventsOfType(events, EventSubjects.MODEL_INFERENCE_COMPLETED)[0]!;
    const seqOf = async (event: DomainEvent): Promise<number> => {
      for await (const stored of platform.observer.readEvents({ correlationId: executionId })) if (stored.event.eventId === event.eventId) return stored.seq;
      throw new Error(`event ${event.eventId} not found`);
    };
    // The handler saw the abort: it reported before the answer it was waiting for existed.
    expect(await seqOf(aborted)).toBeLessThan(await seqOf(answer));

    const cancelled = eventsOfType(events, EventSubjects.EXECUTION_CANCELLED);
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]!.eventId).toBe(body.cancelEventId);
    expect(cancelled[0]!.data).toMatchObject({ executionId, workflowId: 'research-summary', reason: 'operator test', userId: 'test-admin' });
    expect(eventsOfType(events, EventSubjects.EXECUTION_NODE_STARTED).map((e) => (e.data as { nodeId: string }).nodeId)).toEqual(['research']);
    expect(eventsOfType(events, EventSubjects.AGENT_EXECUTION_COMPLETED)).toEqual([]);
    expect(eventsOfType(events, EventSubjects.EXECUTION_COMPLETED)).toEqual([]);
    expect((await platform.store.get(executionId))!.state.status).toBe('cancelled');
    const listed = (await call('GET', '/api/executions?status=cancelled')).body.executions as Summary[];
    expect(listed.map((s) => s.executionId)).toEqual([executionId]);
  }, 60_000);
});

describe('dead letters', () => {
  const consumer = 'console-test-vectors';
  let broken = true;
  const handled = new Collector<DomainEvent>();
  let subscription: Subscription;
  let records: { dlqSequence: number; eventId: string }[] = [];

  interface DeadLetterView {
    dlqSequence: number;
    reason: string;
    service: string;
    consumer: string;
    failureCount: number;
    firstFailureAt: string;
    lastFailureAt: string;
    event?: { eventId: string };
    replay?: { eventId: string };
    handled: boolean;
  }

  async function list(): Promise<DeadLetterView[]> {
    const { status, body } = await call('GET', `/api/dead-letters?consumer=${consumer}`);
    expect(status).toBe(200);
    return body.records as DeadLetterView[];
  }

  async function dlqHas(seq: number): Promise<boolean> {
    return (await platform.observer.jetstream.jsm.streams.getMessage(StreamNames.DLQ, { seq }).catch(() => null)) !== null;
  }

  beforeAll(async () => {
    subscription = await platform.observer.subscribe(
      EventSubjects.VECTOR_UPSERTED,
      async (event: DomainEvent) => {
        if (broken) throw new NonRetryableError('the vector index is offline');
        handled.push(event);
      },
      consumer,
    );
    const ids = [];
    for (const n of [1, 2, 3]) ids.push((await platform.observer.publish({ eventType: EventSubjects.VECTOR_UPSERTED, data: { collection: 'docs', ids: [`doc-${n}`] } })).eventId);
    // And one that is not an event at all: dead-lettered as `decode`, kept as bytes, not replayable.
    await platform.observer.jetstream.js.publish(EventSubjects.VECTOR_UPSERTED, 'not json');
    const found = await waitFor(async () => ((await list()).length === 4 ? list() : undefined), 15_000, 'four DLQ records');
    records = ids.map((eventId) => ({ eventId, dlqSequence: found.find((r) => r.event?.eventId === eventId)!.dlqSequence }));
  }, 30_000);

  afterAll(async () => {
    await subscription?.stop();
  });

  it('lists the records with reason, service, consumer, failures and the event; counts them by reason', async () => {
    const found = await list();
    expect(found.map((r) => r.dlqSequence)).toEqual([...found.map((r) => r.dlqSequence)].sort((a, b) => b - a));
    const first = found.find((r) => r.dlqSequence === records[0]!.dlqSequence)!;
    expect(first).toMatchObject({ reason: 'non-retryable', service: 'test-observer', consumer, failureCount: 1, handled: false });
    expect(Date.parse(first.lastFailureAt)).toBeGreaterThanOrEqual(Date.parse(first.firstFailureAt));
    expect(first.event).toMatchObject({ eventId: records[0]!.eventId, eventType: EventSubjects.VECTOR_UPSERTED, data: { collection: 'docs', ids: ['doc-1'] } });
    const { body } = await call('GET', `/api/dead-letters?consumer=${consumer}&reason=decode`);
    expect(body.records).toHaveLength(1);
    expect((body.counts as { byReason: Record<string, number> }).byReason).toMatchObject({ 'non-retryable': 3, decode: 1, validation: 0 });
  });

  it('replays a selection: new eventIds, in the stream, handled by the consumer; the records become handled', async () => {
    broken = false;
    const selection = records.slice(0, 2).map((r) => r.dlqSequence);
    const decodeRecord = (await list()).find((r) => r.reason === 'decode')!.dlqSequence;
    const { status, body } = await call('POST', '/api/dead-letters/replay', { sequences: [...selection, decodeRecord, 999_999] });
    expect(status).toBe(200);
    const results = body.results as { dlqSequence: number; status: string; eventId?: string }[];
    expect(results.map((r) => r.status)).toEqual(['replayed', 'replayed', 'not-replayable', 'not-found']);
    const newIds = results.slice(0, 2).map((r) => r.eventId!);
    expect(newIds.filter((id) => records.some((r) => r.eventId === id))).toEqual([]);

    // Read back from the EVENTS stream: the new events, caused by the originals.
    const stored = [];
    for await (const { event } of platform.observer.readEvents({ filterSubject: EventSubjects.VECTOR_UPSERTED })) if (newIds.includes(event.eventId)) stored.push(event);
    expect(stored.map((e) => e.causationId).sort()).toEqual(records.slice(0, 2).map((r) => r.eventId).sort());
    expect((await handled.waitFor(2)).map((e) => e.eventId).sort()).toEqual([...newIds].sort());

    const after = await list();
    for (const seq of selection) expect(after.find((r) => r.dlqSequence === seq)).toMatchObject({ handled: true, replay: { eventId: newIds[selection.indexOf(seq)] } });
    // Replaying twice publishes once.
    const twice = await call('POST', '/api/dead-letters/replay', { sequences: [selection[0]] });
    expect(twice.body.results).toEqual([expect.objectContaining({ status: 'already-replayed', eventId: newIds[0] })]);
    // Audited once: who replayed which records (the second call replayed nothing).
    expect(await audited('audit.dead-letters.replayed')).toEqual([{ actor: admin, dlqSequences: selection }]);
  });

  it('a replay that is dead-lettered again leaves its record unhandled', async () => {
    broken = true;
    const third = records[2]!.dlqSequence;
    const { body } = await call('POST', '/api/dead-letters/replay', { sequences: [third] });
    const replayId = (body.results as { eventId: string }[])[0]!.eventId;
    const found = await waitFor(async () => {
      const all = await list();
      return all.some((r) => r.event?.eventId === replayId) ? all : undefined;
    }, 15_000, 'the replay to be dead-lettered');
    expect(found.find((r) => r.dlqSequence === third)).toMatchObject({ replay: { eventId: replayId }, handled: false });
    expect((await call('GET', `/api/dead-letters?consumer=${consumer}`)).body.counts).toMatchObject({ handled: 2 });
  });

  it('purges handled records, then a selection; read back from the DLQ stream', async () => {
    const [first, second, third] = records.map((r) => r.dlqSequence) as [number, number, number];
    expect((await call('POST', '/api/dead-letters/purge', {})).body.error).toBe('INVALID_REQUEST');
    expect((await call('POST', '/api/dead-letters/purge', '{"handled":true}', 'text/plain')).status).toBe(415);
    expect(await dlqHas(first)).toBe(true);

    const purgeHandled = await call('POST', '/api/dead-letters/purge', { handled: true });
    expect(purgeHandled.body).toEqual({ purged: [first, second], notFound: [] });
    expect([await dlqHas(first), await dlqHas(second), await dlqHas(third)]).toEqual([false, false, true]);

    const bySelection = await call('POST', '/api/dead-letters/purge', { sequences: [third, first] });
    expect(bySelection.body).toEqual({ purged: [third], notFound: [first] });
    expect(await dlqHas(third)).toBe(false);
    expect((await list()).map((r) => r.dlqSequence)).not.toContain(third);
    expect(await audited('audit.dead-letters.purged')).toEqual([
      { actor: admin, dlqSequences: [first, second] },
      { actor: admin, dlqSequences: [third] },
    ]);
  });

  it('shows a message on a DLQ subject that is not a record apart from the records, refuses to replay it, and purges it', async () => {
    const { seq: garbage } = await platform.observer.jetstream.js.publish(`dlq.${consumer}`, 'not a record');
    const { status, body } = await call('GET', `/api/dead-letters?consumer=${consumer}`);
    expect(status).toBe(200);
    expect((body.records as DeadLetterView[]).map((r) => r.dlqSequence)).not.toContain(garbage);
    expect(body.unreadable).toEqual([{ dlqSequence: garbage, subject: `dlq.${consumer}`, error: 'not JSON' }]);
    const replay = await call('POST', '/api/dead-letters/replay', { sequences: [garbage] });
    expect(replay.body).toEqual({ results: [{ dlqSequence: garbage, status: 'not-replayable', reason: `DLQ message ${garbage} is not JSON` }] });
    expect((await call('POST', '/api/dead-letters/purge', { sequences: [garbage] })).body).toEqual({ purged: [garbage], notFound: [] });
    expect((await call('GET', `/api/dead-letters?consumer=${consumer}`)).body.unreadable).toEqual([]);
  });
});

describe('streams and consumers', () => {
  it('reports streams and durables as the server does, with liveness, and each service ready with its lag', async () => {
    const { jsm } = platform.observer.jetstream;
    // A durable nobody runs, with a backlog: pending, and down.
    await jsm.consumers.add(StreamNames.EVENTS, { durable_name: 'console-test-idle', filter_subject: EventSubjects.VECTOR_DELETED, ack_policy: 'explicit', description: 'service=nobody' });
    for (const id of ['a', 'b']) await platform.observer.publish({ eventType: EventSubjects.VECTOR_DELETED, data: { collection: 'docs', ids: [id] } });

    const { status, body } = await call('GET', '/api/streams');
    expect(status).toBe(200);
    const streams = body.streams as { name: string; messages: number; bytes: number }[];
    const dlq = await jsm.streams.info(StreamNames.DLQ);
    expect(streams.find((s) => s.name === StreamNames.DLQ)).toMatchObject({ messages: dlq.state.messages, bytes: dlq.state.bytes });
    expect(streams.map((s) => s.name).sort()).toEqual(['ADVISORIES', 'AUDIT', 'DLQ', 'EVENTS', 'EVENT_INDEX', 'TOKENS']);

    const consumers = body.consumers as { name: string; service?: string; pending: number; ackPending: number; redelivered: number; waiting: number; liveness: string }[];
    const idle = consumers.find((c) => c.name === 'console-test-idle')!;
    const idleInfo = await jsm.consumers.info(StreamNames.EVENTS, 'console-test-idle');
    expect(idle).toMatchObject({ service: 'nobody', pending: idleInfo.num_pending, ackPending: idleInfo.num_ack_pending, redelivered: idleInfo.num_redelivered, waiting: 0, liveness: 'down' });
    expect(idle.pending).toBe(2);
    const tool = consumers.find((c) => c.name === 'tool-tool_execution_requested')!;
    expect(tool).toMatchObject({ service: 'tool', liveness: 'alive' });
    expect(tool.waiting).toBeGreaterThan(0);

    const services = body.services as { service: string; ready: boolean; lag: number; durables: string[] }[];
    expect(services.map((s) => [s.service, s.ready])).toEqual([
      ['gateway', true],
      ['orchestration', true],
      ['agent', true],
      ['tool', true],
      ['model', true],
    ]);
    expect(services.find((s) => s.service === 'orchestration')!.durables).toContain('orchestration-dlq_any');
    expect(services.find((s) => s.service === 'gateway')!.durables).toEqual(['correlation-indexer']);
  });
});
