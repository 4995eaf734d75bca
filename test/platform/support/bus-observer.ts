/**
 * Test support: what a service does on the bus, read off its wire. A `NatsProxy` in front of
 * the server sees every protocol operation of the connection behind it; this turns them into
 * the terms of a `BusAccess` declaration (published, called and served subjects, consumers
 * with their durable name and filter, KV buckets) and lists what the declaration lacks.
 */
import { subjectMatches } from '@multi-agent/events';
import { platformStreams, streamFor, subjectWithin } from '@multi-agent/nats-client';
import type { BusAccess } from '@multi-agent/service-kit';
import type { NatsOp } from '@multi-agent/testing';

/** A consumer the connection created. */
export interface ObservedConsumer {
  stream: string;
  durable?: string;
  /** Its filter subjects (every subject of the stream when it had none, or `>`). */
  filters: string[];
}

/** What one connection did, in declaration terms. */
export interface ObservedAccess {
  publishes: Set<string>;
  calls: Set<string>;
  serves: Set<string>;
  consumers: ObservedConsumer[];
  kvBuckets: Set<string>;
}

const STREAMS = platformStreams();
const RESPONSE_SUFFIX = '.response';

/** A fresh, empty record. */
export function emptyAccess(): ObservedAccess {
  return { publishes: new Set(), calls: new Set(), serves: new Set(), consumers: [], kvBuckets: new Set() };
}

/** KV buckets live in streams named `KV_<bucket>`. */
function bucketOf(stream: string | undefined): string | undefined {
  return stream?.startsWith('KV_') === true ? stream.slice(3) : undefined;
}

interface ConsumerCreate {
  stream_name?: string;
  config?: { durable_name?: string; filter_subject?: string; filter_subjects?: string[] };
}

function recordConsumer(access: ObservedAccess, apiTokens: string[], payload: Buffer | undefined): void {
  // $JS.API.CONSUMER.CREATE.<stream>[.<name>[.<filter>]] or $JS.API.CONSUMER.DURABLE.CREATE.<stream>.<durable>
  const stream = apiTokens[1] === 'DURABLE' ? apiTokens[3] : apiTokens[2];
  const request = JSON.parse(payload?.toString('utf8') ?? '{}') as ConsumerCreate;
  const name = request.stream_name ?? stream ?? '';
  const bucket = bucketOf(name);
  if (bucket !== undefined) {
    access.kvBuckets.add(bucket);
    return;
  }
  const config = request.config ?? {};
  // No filter, or `>`, reads every subject of the stream.
  const filters = config.filter_subjects ?? (config.filter_subject === undefined || config.filter_subject === '>' ? undefined : [config.filter_subject]);
  access.consumers.push({
    stream: name,
    ...(config.durable_name === undefined ? {} : { durable: config.durable_name }),
    filters: filters ?? STREAMS.find((s) => s.name === name)?.subjects ?? ['>'],
  });
}

/** Adds one client-to-server operation to `access`. */
export function observe(access: ObservedAccess, op: NatsOp): void {
  const subject = op.subject;
  if (subject === undefined) return;
  if (op.op === 'SUB') {
    if (subject.startsWith('_INBOX.')) return;
    // A live read of a stream subject (token streams); the response subject of a request it
    // sends (`x.response` for `x.request`); anything else is a subject it answers.
    const stream = streamFor(STREAMS, subject);
    if (stream !== undefined) access.consumers.push({ stream: stream.name, filters: [subject] });
    else if (subject.endsWith(RESPONSE_SUFFIX)) access.calls.add(`${subject.slice(0, -RESPONSE_SUFFIX.length)}.request`);
    else access.serves.add(subject);
    return;
  }
  if (op.op !== 'PUB' && op.op !== 'HPUB') return;
  // Replies, acks and flow control go to inboxes and $JS.ACK/$JS.FC subjects the server made up.
  if (subject.startsWith('_INBOX.') || subject.startsWith('$JS.ACK.') || subject.startsWith('$JS.FC.')) return;
  if (subject.startsWith('$KV.')) {
    access.kvBuckets.add(subject.split('.')[1] ?? '');
    return;
  }
  if (subject.startsWith('$JS.API.')) {
    const tokens = subject.split('.').slice(2);
    if (tokens[0] === 'CONSUMER' && (tokens[1] === 'CREATE' || (tokens[1] === 'DURABLE' && tokens[2] === 'CREATE'))) {
      recordConsumer(access, tokens, op.payload);
      return;
    }
    // STREAM.INFO.KV_X, DIRECT.GET.KV_X...: the stream name follows the operation.
    const bucket = tokens.map(bucketOf).find((b) => b !== undefined);
    if (bucket !== undefined) access.kvBuckets.add(bucket);
    return;
  }
  if (streamFor(STREAMS, subject) !== undefined || op.reply === undefined) access.publishes.add(subject);
  else access.calls.add(subject);
}

/** Everything `observed` did that `declared` does not cover, one readable line each. */
export function undeclared(service: string, observed: ObservedAccess, declared: BusAccess): string[] {
  const problems: string[] = [];
  const covered = (patterns: string[], subject: string): boolean => patterns.some((p) => subjectMatches(p, subject) || p === subject);
  for (const s of observed.publishes) if (!covered(declared.publishes, s)) problems.push(`${service} publishes ${s}: not in publishes`);
  for (const s of observed.calls) if (!covered(declared.calls, s)) problems.push(`${service} calls ${s}: not in calls`);
  for (const s of observed.serves) if (!covered(declared.serves, s)) problems.push(`${service} serves ${s}: not in serves`);
  for (const b of observed.kvBuckets) if (!declared.kvBuckets.includes(b)) problems.push(`${service} opens KV bucket ${b}: not in kvBuckets`);
  for (const c of observed.consumers) {
    for (const filter of c.filters) {
      const ok = declared.consumes.some((d) => d.durable === c.durable && subjectWithin(filter, d.subject));
      if (!ok) problems.push(`${service} reads ${filter} from ${c.stream} (${c.durable === undefined ? 'ephemeral' : `durable ${c.durable}`}): not in consumes`);
    }
  }
  return problems;
}
