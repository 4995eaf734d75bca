/**
 * Every kind of message on the bus, as a contract: the channel it travels on (a subject,
 * parameterised where part of it is data), the stream that stores it, and a zod schema of its
 * whole body, built from the event schema registry of `@multi-agent/events`.
 */
import {
  EventSubjects,
  SUBJECT_TOKEN_PATTERN,
  getEventSchema,
  listEventSchemas,
  subjectMatches,
  tokenMessageSchema,
} from '@multi-agent/events';
import { AdvisorySubjects, CORRELATION_INDEX_PREFIX, platformStreams, streamFor } from '@multi-agent/nats-client';
import * as z from 'zod';

/** What a message body is. */
export type MessageKind = 'event' | 'token' | 'advisory' | 'index';

/** One channel of the bus and the message on it. */
export interface MessageContract {
  /** Names the contract, its schema file and its channel: the subject, or the subject prefix for a parameterised one. */
  name: string;
  /** The subject, with `{parameter}` tokens where data goes, e.g. `dlq.{consumer}`. */
  address: string;
  /** Description of each `{parameter}` of the address. */
  parameters: Record<string, string>;
  kind: MessageKind;
  /** The stream that stores it; undefined for core NATS (request/reply). */
  stream: string | undefined;
  /** One line on what it is. */
  description: string;
  /** The whole message body. */
  schema: z.ZodType;
}

const STREAMS = platformStreams();

/** The address with each `{parameter}` as a `*` wildcard: the subjects it stands for. */
export function addressPattern(address: string): string {
  return address.replace(/\{[^}]+\}/g, '*');
}

/**
 * The wire envelope around an event's `data`: what `encodeEvent` writes (timestamp as an
 * ISO-8601 string; unknown fields are kept, so newer producers may add some).
 */
function envelope(eventType: z.ZodType, version: string, data: z.ZodType): z.ZodType {
  return z.looseObject({
    eventId: z.string().min(1).describe('Unique event ID (a UUID v4 for new events); also the Nats-Msg-Id header and the idempotency key'),
    eventType: eventType.describe('The subject the event is published on'),
    timestamp: z.iso.datetime({ offset: true }).describe('When the event was created, ISO-8601 with offset'),
    version: z.literal(version).describe('Schema version of data'),
    correlationId: z.string().optional().describe('Ties together every event of one flow (usually the first event\'s eventId)'),
    causationId: z.string().optional().describe('eventId of the event that caused this one'),
    data,
  });
}

// The parameterised subjects: the EventSubjects prefix, and what the data-dependent token is.
const PARAMETERS: Record<string, { token: string; description: string }> = {
  [EventSubjects.DLQ]: { token: 'consumer', description: 'The durable consumer that gave up on the event' },
  [EventSubjects.MODEL_TOKEN_STREAM]: { token: 'executionId', description: 'The execution whose tokens these are' },
};

function storedIn(address: string): string | undefined {
  return streamFor(STREAMS, addressPattern(address))?.name;
}

/** One event type's contract; several versions of it are alternatives, told apart by `version`. */
function eventContract(eventType: string, versions: readonly { version: string; data: z.ZodType }[]): MessageContract {
  const prefix = Object.keys(PARAMETERS).find((p) => subjectMatches(`${p}.*`, eventType));
  const parameter = prefix === undefined ? undefined : PARAMETERS[prefix];
  const name = prefix ?? eventType;
  const address = parameter === undefined ? eventType : `${name}.{${parameter.token}}`;
  const stream = storedIn(address);
  // A parameterised subject: the prefix, then one subject token.
  const typeSchema = parameter === undefined ? z.literal(eventType) : z.string().regex(new RegExp(`^${name.replace(/\./g, '\\.')}\\.${SUBJECT_TOKEN_PATTERN.source.slice(1, -1)}$`));
  const where = stream === undefined ? 'core NATS request/reply, in no stream' : `stored in the ${stream} stream`;
  const [first, second, ...rest] = versions.map(({ version, data }) => envelope(typeSchema, version, data));
  if (first === undefined) throw new Error(`no schema is registered for ${eventType}`);
  const schema = second === undefined ? first : z.union([first, second, ...rest]);
  const version = versions.length === 1 ? `version ${versions[0]?.version}` : `versions ${versions.map((v) => v.version).join(', ')}`;
  return {
    name,
    address,
    parameters: parameter === undefined ? {} : { [parameter.token]: parameter.description },
    kind: 'event',
    stream,
    description: `The ${name === EventSubjects.DLQ ? 'DLQ record' : name} event, ${version}; ${where}.`,
    schema: schema.meta({ title: name }),
  };
}

/** Body of a JetStream MAX_DELIVERIES advisory: the fields the DLQ watcher reads. */
const maxDeliveriesAdvisorySchema = z.looseObject({
  type: z.literal('io.nats.jetstream.advisory.v1.max_deliver'),
  id: z.string(),
  timestamp: z.string(),
  stream: z.string(),
  consumer: z.string(),
  stream_seq: z.int().nonnegative(),
  deliveries: z.int().nonnegative(),
});

/** The description of the parameter of `subject`'s address. */
function parameterOf(subject: string): string {
  const parameter = PARAMETERS[subject];
  if (parameter === undefined) throw new Error(`no address parameter is described for ${subject}`);
  return parameter.description;
}

/** Body of a correlation index message: the EVENTS sequences of one flow. */
const correlationIndexSchema = z.looseObject({
  seqs: z.array(z.int().positive()).describe('EVENTS stream sequences of the flow\'s events, ascending'),
});

/**
 * Every message contract, sorted by name: the registry's events, the token stream, the
 * advisory the DLQ watcher reads and the correlation index.
 */
export function messageContracts(): MessageContract[] {
  const versionsByType = new Map<string, { version: string; data: z.ZodType }[]>();
  for (const { eventType, version } of listEventSchemas()) {
    const data = getEventSchema(eventType, version);
    if (data !== undefined) versionsByType.set(eventType, [...(versionsByType.get(eventType) ?? []), { version, data }]);
  }
  const events = [...versionsByType].map(([eventType, versions]) => eventContract(eventType, versions));
  const tokenAddress = `${EventSubjects.MODEL_TOKEN_STREAM}.{executionId}`;
  const tokens: MessageContract = {
    name: EventSubjects.MODEL_TOKEN_STREAM,
    address: tokenAddress,
    parameters: { executionId: parameterOf(EventSubjects.MODEL_TOKEN_STREAM) },
    kind: 'token',
    stream: storedIn(tokenAddress),
    description: `One token of an execution's model output, in order (seq), the last one with isComplete; stored in the ${storedIn(tokenAddress)} stream. Not an event: no envelope, no headers.`,
    schema: tokenMessageSchema.meta({ title: EventSubjects.MODEL_TOKEN_STREAM }),
  };
  const advisoryAddress = AdvisorySubjects.MAX_DELIVERIES.replace(/>$/, '{stream}.{consumer}');
  const advisory: MessageContract = {
    name: 'jetstream.advisory.max_deliveries',
    address: advisoryAddress,
    parameters: { stream: 'The stream of the event a consumer gave up on', consumer: 'That consumer' },
    kind: 'advisory',
    stream: storedIn(advisoryAddress),
    description: `Sent by the NATS server when a consumer exhausted an event's deliveries; the ${storedIn(advisoryAddress)} stream keeps it for the DLQ watcher, which writes the DLQ record.`,
    schema: maxDeliveriesAdvisorySchema.meta({ title: 'JetStream MAX_DELIVERIES advisory' }),
  };
  const indexAddress = `${CORRELATION_INDEX_PREFIX}.{correlationKey}`;
  const index: MessageContract = {
    name: CORRELATION_INDEX_PREFIX,
    address: indexAddress,
    parameters: { correlationKey: 'The flow\'s correlationId (the eventId of its first event when that has none); SHA-256 of it, base64url after `sha256-`, when it is no subject token' },
    kind: 'index',
    stream: storedIn(indexAddress),
    description: `Which events belong to one flow; one message per flow, kept in the ${storedIn(indexAddress)} stream and rewritten by the correlation indexer as the flow grows. Not an event.`,
    schema: correlationIndexSchema.meta({ title: 'correlation index' }),
  };
  return [...events, tokens, advisory, index].sort((a, b) => a.name.localeCompare(b.name));
}

/** The JSON Schema (draft-07) of a contract's message body, generated by zod. */
export function jsonSchemaOf(contract: MessageContract): Record<string, unknown> {
  return z.toJSONSchema(contract.schema, { target: 'draft-07', unrepresentable: 'any' });
}
