/**
 * NATS permissions derived from the bus-access declaration (bus-access.ts): per identity, the
 * exact subjects it may publish and subscribe to, JetStream API calls included. Nothing is
 * granted by hand: a service may do what its declaration says and what its bus client needs
 * to do it, nothing else, and never `$JS.API.>`.
 *
 * - Replies (JetStream API answers, PubAcks, fetched messages, request replies) arrive on the
 *   identity's own inbox prefix `_INBOX_<identity>`, so no identity reads another's replies.
 * - Durable consumers are created by `admin` (`multi-agent provision`); a service may look its
 *   durables up, pull from them and ack them, never create, delete or pull another's.
 * - An ephemeral reader is an ordered consumer whose filter is part of the API subject
 *   (`CONSUMER.CREATE.<stream>.<name>.<filter>`), so the grant is limited to the declared
 *   filter: the server does not check a consumer's filter against subscribe permissions.
 * - `readonly` reads every platform stream and bucket and writes nothing; `admin` manages the
 *   platform's streams, buckets and consumers and may replay and purge dead letters, but may
 *   not delete a stream.
 *
 * @packageDocumentation
 */
import { EventSubjects, subjectMatches } from '@multi-agent/events';
import { ATTEMPT_LEDGER_BUCKET, platformStreams, responseSubjectOf, StreamNames, streamFor, subjectWithin } from '@multi-agent/nats-client';
import type { StreamSpec } from '@multi-agent/nats-client';
import { busAccessOf, CLIENT_BUS_ACCESS, DLQ_REPLAYS_BUCKET, IDEMPOTENCY_BUCKET, SERVICE_BUS_ACCESS } from './bus-access.js';
import type { PlatformService } from './bus-access.js';
import { CLAIM_CHECK_BUCKET } from './claim-check.js';
import { EXECUTIONS_BUCKET } from './execution/store.js';

/** Who connects to the bus: the five services, the operator's `admin`, and `readonly` readers. */
export type BusIdentity = PlatformService | 'admin' | 'readonly';

/** Every identity, services first. */
export const BUS_IDENTITIES: readonly BusIdentity[] = [...(Object.keys(SERVICE_BUS_ACCESS) as PlatformService[]), 'admin', 'readonly'];

/** One direction's allow and deny lists (deny wins on the server). */
export interface SubjectPermissions {
  allow: string[];
  deny: string[];
}

/** The permissions of one NATS user. */
export interface NatsPermissions {
  publish: SubjectPermissions;
  subscribe: SubjectPermissions;
  /** May answer one reply to each request it receives (`allow_responses`), for the subjects it serves. */
  allowResponses: boolean;
}

/** A durable consumer of the declaration, with its stream. */
export interface DeclaredDurable {
  /** The service whose replicas share it; `undefined` for the DLQ watcher every client shares. */
  service: PlatformService | undefined;
  stream: string;
  durable: string;
  filterSubject: string;
  deliverPolicy: 'all' | 'new';
}

/** Every KV bucket the platform uses. */
export const PLATFORM_KV_BUCKETS: readonly string[] = [IDEMPOTENCY_BUCKET, ATTEMPT_LEDGER_BUCKET, EXECUTIONS_BUCKET, DLQ_REPLAYS_BUCKET];
/** Every object store bucket the platform uses. */
export const PLATFORM_OBJECT_STORES: readonly string[] = [CLAIM_CHECK_BUCKET];

/** The reply inbox prefix of an identity (`NATS_INBOX_PREFIX`). */
export function inboxPrefixOf(identity: BusIdentity): string {
  return `_INBOX_${identity}`;
}

const api = (rest: string): string => `$JS.API.${rest}`;
const kvStream = (bucket: string): string => `KV_${bucket}`;
const objectStream = (bucket: string): string => `OBJ_${bucket}`;

function streamOf(streams: readonly StreamSpec[], subject: string): StreamSpec {
  const stream = streamFor(streams, subject);
  if (stream === undefined) throw new Error(`no platform stream stores "${subject}"`);
  return stream;
}

/**
 * Every durable consumer the declaration names: each service's, then the shared DLQ watcher.
 * A durable declared with every subject of its stream is one consumer with filter `>`.
 *
 * @throws Error when a durable is declared with several subjects that are not its whole stream
 */
export function declaredDurables(streams: readonly StreamSpec[] = platformStreams()): DeclaredDurable[] {
  const durables: DeclaredDurable[] = [];
  const add = (service: PlatformService | undefined, consumes: readonly { subject: string; durable?: string; deliverPolicy?: 'all' | 'new' }[]): void => {
    const byDurable = new Map<string, { stream: StreamSpec; subjects: string[]; deliverPolicy: 'all' | 'new' }>();
    for (const c of consumes) {
      if (c.durable === undefined) continue;
      const stream = streamOf(streams, c.subject);
      const seen = byDurable.get(c.durable);
      if (seen === undefined) byDurable.set(c.durable, { stream, subjects: [c.subject], deliverPolicy: c.deliverPolicy ?? 'all' });
      else seen.subjects.push(c.subject);
    }
    for (const [durable, { stream, subjects, deliverPolicy }] of byDurable) {
      const whole = subjects.length > 1 && stream.subjects.every((s) => subjects.some((f) => subjectWithin(s, f)));
      if (subjects.length > 1 && !whole) throw new Error(`durable ${durable} is declared with ${subjects.join(', ')}: one consumer has one filter, or reads all of ${stream.name}`);
      durables.push({ service, stream: stream.name, durable, filterSubject: whole ? '>' : (subjects[0] ?? ''), deliverPolicy });
    }
  };
  for (const [service, access] of Object.entries(SERVICE_BUS_ACCESS) as [PlatformService, (typeof SERVICE_BUS_ACCESS)[PlatformService]][]) add(service, access.consumes);
  add(undefined, CLIENT_BUS_ACCESS.consumes);
  return durables;
}

/** Subjects that manage streams: no service or reader may send them. */
const STREAM_ADMIN = ['CREATE', 'UPDATE', 'DELETE', 'PURGE'].map((op) => api(`STREAM.${op}.>`));

/** Nobody but `admin` creates or deletes a declared durable; only its owner pulls from it. */
function durableDenies(durables: readonly DeclaredDurable[], own: ReadonlySet<string>): string[] {
  return durables.flatMap(({ stream, durable }) => [
    api(`CONSUMER.CREATE.${stream}.${durable}`),
    api(`CONSUMER.CREATE.${stream}.${durable}.>`),
    api(`CONSUMER.DURABLE.CREATE.${stream}.${durable}`),
    api(`CONSUMER.DELETE.${stream}.${durable}`),
    ...(own.has(durable) ? [] : [api(`CONSUMER.MSG.NEXT.${stream}.${durable}`), `$JS.ACK.${stream}.${durable}.>`]),
  ]);
}

/**
 * Short-lived consumers on `stream`: looked up, pulled from, acked (a broadcast subscription
 * acks; an ordered reader does not) and deleted by their random names, so by wildcard; the
 * declared durables are denied by name.
 */
function ephemeralUse(stream: string): string[] {
  return [api(`CONSUMER.INFO.${stream}.*`), api(`CONSUMER.MSG.NEXT.${stream}.*`), api(`CONSUMER.DELETE.${stream}.*`), `$JS.ACK.${stream}.*.>`];
}

/** Reading a bucket's stream: its info, direct and stored-message gets, and watchers/listers. */
function bucketReads(stream: string): string[] {
  return [
    api(`STREAM.INFO.${stream}`),
    api(`DIRECT.GET.${stream}`),
    api(`DIRECT.GET.${stream}.>`),
    api(`STREAM.MSG.GET.${stream}`),
    api(`CONSUMER.CREATE.${stream}.*`),
    api(`CONSUMER.CREATE.${stream}.*.>`),
    ...ephemeralUse(stream),
  ];
}

function servicePermissions(service: PlatformService, streams: readonly StreamSpec[], durables: readonly DeclaredDurable[]): NatsPermissions {
  const access = busAccessOf(service);
  const own = durables.filter((d) => d.service === service || d.service === undefined);
  const publish = new Set<string>([
    ...access.publishes,
    ...access.calls,
    // The JetStream manager asks for the account at connect; the client looks its streams up.
    api('INFO'),
    ...streams.map((s) => api(`STREAM.INFO.${s.name}`)),
  ]);
  for (const { stream, durable } of own) {
    publish.add(api(`CONSUMER.INFO.${stream}.${durable}`));
    publish.add(api(`CONSUMER.MSG.NEXT.${stream}.${durable}`));
    // Ack, nak, term and working all go to the message's reply subject under this prefix.
    publish.add(`$JS.ACK.${stream}.${durable}.>`);
  }
  // The DLQ watcher (every client runs it) reads the exhausted event by sequence and names
  // the service from its consumer's description.
  const watched = new Set(durables.filter((d) => d.stream !== StreamNames.DLQ && d.stream !== StreamNames.ADVISORIES).map((d) => d.stream));
  for (const stream of watched) publish.add(api(`STREAM.MSG.GET.${stream}`));
  // A token stream continues from its last stored token, read back by subject in the request body.
  const tokens = streams.find((s) => s.name === StreamNames.TOKENS);
  if (tokens !== undefined && access.publishes.some((p) => streamFor([tokens], p) !== undefined)) publish.add(api(`STREAM.MSG.GET.${tokens.name}`));
  for (const { stream, durable } of durables) publish.add(api(`CONSUMER.INFO.${stream}.${durable}`));
  // Ephemeral readers: an ordered consumer per read, its filter in the create subject.
  const readers = access.consumes.filter((c) => c.durable === undefined);
  for (const stream of new Set(readers.map((c) => streamOf(streams, c.subject)))) {
    const filters = readers.filter((c) => streamOf(streams, c.subject) === stream).map((c) => c.subject);
    for (const filter of filters) publish.add(api(`CONSUMER.CREATE.${stream.name}.*.${filter}`));
    // A reader of every subject of the stream may also read it unfiltered, by sequence, and list its consumers.
    if (stream.subjects.every((s) => filters.some((f) => subjectWithin(s, f)))) {
      for (const s of [`CONSUMER.CREATE.${stream.name}.*`, `STREAM.MSG.GET.${stream.name}`, `CONSUMER.LIST.${stream.name}`]) publish.add(api(s));
    }
    for (const s of ephemeralUse(stream.name)) publish.add(s);
  }
  for (const bucket of access.kvBuckets) {
    publish.add(`$KV.${bucket}.>`);
    for (const s of bucketReads(kvStream(bucket))) publish.add(s);
  }
  for (const bucket of access.objectStores) {
    publish.add(`$O.${bucket}.>`);
    for (const s of bucketReads(objectStream(bucket))) publish.add(s);
  }
  // Operator views and actions (the console): stream state and consumers, deleting dead letters.
  for (const stream of access.inspects) {
    for (const s of [`CONSUMER.LIST.${stream}`, `CONSUMER.NAMES.${stream}`, `CONSUMER.INFO.${stream}.*`]) publish.add(api(s));
  }
  for (const stream of access.deletesFrom) publish.add(api(`STREAM.MSG.DELETE.${stream}`));
  // Single stored messages by sequence or last by subject (a correlation read: the index, then its events).
  for (const stream of access.getsFrom) publish.add(api(`STREAM.MSG.GET.${stream}`));
  const subscribe = [
    `${inboxPrefixOf(service)}.>`,
    ...access.serves,
    ...access.calls.map(responseSubjectOf),
    // Subjects no stream stores are read with a core subscription.
    ...access.consumes.filter((c) => streamFor(streams, c.subject) === undefined).map((c) => c.subject),
  ];
  return {
    publish: { allow: [...publish], deny: [...STREAM_ADMIN, ...durableDenies(durables, new Set(own.map((d) => d.durable)))] },
    subscribe: { allow: [...new Set(subscribe)], deny: [] },
    allowResponses: access.serves.length > 0,
  };
}

/** Every stream of the platform, buckets included. */
function allStreams(streams: readonly StreamSpec[]): string[] {
  return [...streams.map((s) => s.name), ...PLATFORM_KV_BUCKETS.map(kvStream), ...PLATFORM_OBJECT_STORES.map(objectStream)];
}

/** What `readonly` may do (and `admin` on top of its own rights): look at and read everything. */
function readerPublishes(streams: readonly StreamSpec[]): string[] {
  return [
    api('INFO'),
    api('STREAM.NAMES'),
    api('STREAM.LIST'),
    ...allStreams(streams).flatMap((s) => [api(`CONSUMER.LIST.${s}`), api(`CONSUMER.NAMES.${s}`), ...bucketReads(s)]),
  ];
}

/** Every subject a platform stream stores (a reader may watch them live, as `tail` does). */
function streamSubjects(streams: readonly StreamSpec[]): string[] {
  return streams.flatMap((s) => s.subjects);
}

function readonlyPermissions(streams: readonly StreamSpec[], durables: readonly DeclaredDurable[]): NatsPermissions {
  return {
    publish: { allow: readerPublishes(streams), deny: [...STREAM_ADMIN, ...durableDenies(durables, new Set())] },
    subscribe: { allow: [`${inboxPrefixOf('readonly')}.>`, ...streamSubjects(streams)], deny: [] },
    allowResponses: false,
  };
}

function adminPermissions(streams: readonly StreamSpec[]): NatsPermissions {
  const manage = allStreams(streams).flatMap((s) => [
    api(`STREAM.CREATE.${s}`),
    api(`STREAM.UPDATE.${s}`),
    api(`CONSUMER.DURABLE.CREATE.${s}.*`),
  ]);
  const events = streams.find((s) => s.name === StreamNames.EVENTS)?.subjects ?? [];
  return {
    publish: {
      allow: [
        ...readerPublishes(streams),
        ...manage,
        // `dlq purge` and `dlq replay`: the DLQ is the one stream an operator empties.
        api(`STREAM.PURGE.${StreamNames.DLQ}`),
        EventSubjects.DLQ_ALL,
        ...events,
        ...PLATFORM_KV_BUCKETS.map((b) => `$KV.${b}.>`),
      ],
      // Provisioning never deletes a stream.
      deny: [api('STREAM.DELETE.>')],
    },
    subscribe: { allow: [`${inboxPrefixOf('admin')}.>`, ...streamSubjects(streams)], deny: [] },
    allowResponses: false,
  };
}

/** The NATS permissions of one identity, derived from the bus-access declaration. */
export function natsPermissionsOf(identity: BusIdentity, streams: readonly StreamSpec[] = platformStreams()): NatsPermissions {
  const durables = declaredDurables(streams);
  if (identity === 'admin') return adminPermissions(streams);
  if (identity === 'readonly') return readonlyPermissions(streams, durables);
  return servicePermissions(identity, streams, durables);
}

/** True when `identity`'s permissions let it publish on `subject` (allowed, and not denied). */
export function mayPublish(identity: BusIdentity, subject: string): boolean {
  const { allow, deny } = natsPermissionsOf(identity).publish;
  return allow.some((p) => subjectMatches(p, subject)) && !deny.some((p) => subjectMatches(p, subject));
}
