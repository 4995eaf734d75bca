/**
 * The AsyncAPI 3.0 document of the platform: a channel per message contract, the messages
 * with their headers and payload schemas, and the operations of each service, derived from
 * the bus-access declaration of `@multi-agent/service-kit`.
 */
import { DEFAULT_EVENT_VERSION, EVENT_CONTENT_TYPE, EventHeaders } from '@multi-agent/events';
import { subjectWithin } from '@multi-agent/nats-client';
import type { BusAccess } from '@multi-agent/service-kit';
import { addressPattern, jsonSchemaOf } from './messages.js';
import type { MessageContract } from './messages.js';

/** A declared subject no channel carries: the declaration and the contracts disagree. */
export class ContractError extends Error {
  readonly code = 'UNKNOWN_SUBJECT';

  constructor(
    /** Who declared it. */
    readonly service: string,
    /** The subject. */
    readonly subject: string,
  ) {
    super(`${service} declares ${subject}, which no message contract carries`);
    this.name = 'ContractError';
  }
}

/** The header a replier sets on an error reply (its body is `{ name, code?, message }`). */
const REPLY_ERROR_HEADER = 'reply-error';
/** The trace-state header that travels with `traceparent` when tracing is on. */
const TRACESTATE_HEADER = 'tracestate';

type Json = Record<string, unknown>;
const ref = (path: string): Json => ({ $ref: `#/${path}` });

/** Headers of every event message, as the publisher sets them. */
function eventHeadersSchema(): Json {
  const header = (description: string): Json => ({ type: 'string', description });
  return {
    type: 'object',
    properties: {
      [EventHeaders.MSG_ID]: header('The eventId; JetStream stores a message once per id within the duplicate window (2 minutes)'),
      [EventHeaders.EVENT_TYPE]: header('The eventType'),
      [EventHeaders.EVENT_VERSION]: header('The version'),
      [EventHeaders.CONTENT_TYPE]: { type: 'string', const: EVENT_CONTENT_TYPE },
      [EventHeaders.CORRELATION_ID]: header('The correlationId, when set'),
      [EventHeaders.CAUSATION_ID]: header('The causationId, when set'),
      [EventHeaders.TRACEPARENT]: header('W3C trace context of the publisher, when tracing is on'),
      [TRACESTATE_HEADER]: header('W3C trace state, with traceparent, when the tracer sets one'),
    },
    required: [EventHeaders.MSG_ID, EventHeaders.EVENT_TYPE, EventHeaders.EVENT_VERSION, EventHeaders.CONTENT_TYPE],
  };
}

/** A contract's schema for embedding: the `$schema` keyword belongs to a standalone file. */
function embedded(contract: MessageContract): Json {
  const { $schema: _draft, ...schema } = jsonSchemaOf(contract);
  return schema;
}

/** One entry of the bus-access declaration. */
export interface AccessDeclaration {
  /** Who: a service, or `every-service` for what each service's bus client does by itself. */
  who: string;
  access: Readonly<BusAccess>;
}

/**
 * Builds the document: a channel per contract (named like the contract), operations
 * `<who>.<publishes|consumes|reads|serves|calls>.<channel>` from the declarations (`consumes`
 * through a durable consumer, `reads` through an ephemeral reader).
 *
 * @throws {@link ContractError} when a declaration names a subject no contract carries
 */
export function asyncApiDocument(contracts: readonly MessageContract[], declarations: readonly AccessDeclaration[]): Json {
  const channels: Json = {};
  const messages: Json = {};
  const schemas: Json = { 'event-headers': eventHeadersSchema() };
  for (const c of contracts) {
    schemas[c.name] = embedded(c);
    messages[c.name] = {
      name: c.name,
      title: c.name,
      summary: c.description,
      contentType: EVENT_CONTENT_TYPE,
      ...(c.kind === 'event' ? { headers: ref('components/schemas/event-headers') } : {}),
      payload: ref(`components/schemas/${c.name}`),
    };
    channels[c.name] = {
      address: c.address,
      description: c.description,
      ...(Object.keys(c.parameters).length === 0
        ? {}
        : { parameters: Object.fromEntries(Object.entries(c.parameters).map(([p, description]) => [p, { description }])) }),
      messages: { [c.name]: ref(`components/messages/${c.name}`) },
    };
  }
  // A reply goes to the requester's inbox (the NATS reply subject): the replier's result as an
  // event, or an error.
  schemas['reply-error'] = {
    type: 'object',
    properties: { name: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
    required: ['name', 'message'],
  };
  messages['reply-error'] = {
    name: 'reply-error',
    summary: `A replier failed: header ${REPLY_ERROR_HEADER}: 1, the error as the body.`,
    contentType: EVENT_CONTENT_TYPE,
    headers: { type: 'object', properties: { [REPLY_ERROR_HEADER]: { type: 'string', const: '1' } }, required: [REPLY_ERROR_HEADER] },
    payload: ref('components/schemas/reply-error'),
  };

  const operations: Json = {};
  const kvBuckets: Json = {};
  for (const { who, access } of declarations) {
    const on = (subject: string): MessageContract[] => {
      const found = contracts.filter((c) => subjectWithin(addressPattern(c.address), subject));
      if (found.length === 0) throw new ContractError(who, subject);
      return found;
    };
    const add = (verb: string, c: MessageContract, operation: Json): void => {
      operations[`${who}.${verb}.${c.name}`] ??= { channel: ref(`channels/${c.name}`), ...operation };
    };
    for (const s of access.publishes) for (const c of on(s)) add('publishes', c, { action: 'send', summary: `${who} publishes ${c.address}` });
    for (const { subject, durable } of access.consumes) {
      for (const c of on(subject)) {
        const how = durable === undefined ? `an ephemeral reader of ${subject}` : `the durable consumer ${durable} (filter ${subject})`;
        // A service may both consume a channel durably and read it back: two operations.
        add(durable === undefined ? 'reads' : 'consumes', c, { action: 'receive', summary: `${who} reads ${c.address} through ${how}`, ...(durable === undefined ? {} : { 'x-durable': durable }) });
      }
    }
    for (const s of access.serves) {
      for (const c of on(s)) {
        add('serves', c, { action: 'receive', summary: `${who} answers ${c.address} (queue group ${who})`, ...replyTo(c, contracts) });
      }
    }
    for (const s of access.calls) {
      for (const c of on(s)) add('calls', c, { action: 'send', summary: `${who} sends requests on ${c.address}`, ...replyTo(c, contracts) });
    }
    if (access.kvBuckets.length > 0) kvBuckets[who] = [...access.kvBuckets];
  }
  for (const [id, channel] of Object.entries(replyChannels(contracts))) channels[id] = channel;

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Multi-Agent Platform event bus',
      version: DEFAULT_EVENT_VERSION,
      description:
        'Events, token streams, request/reply and DLQ records of the platform on NATS JetStream. Generated by `multi-agent schema` from the zod schemas of @multi-agent/events and the bus-access declaration of @multi-agent/service-kit.',
    },
    defaultContentType: EVENT_CONTENT_TYPE,
    servers: { local: { host: 'localhost:4222', protocol: 'nats', description: 'NATS_URL; JetStream enabled' } },
    channels,
    operations,
    components: { schemas, messages },
    'x-kv-buckets': kvBuckets,
  };
}

// Request subjects and their reply: `x.request` is answered with `x.response`.
const REQUEST_SUFFIX = '.request';

function responseOf(request: MessageContract, contracts: readonly MessageContract[]): MessageContract | undefined {
  if (!request.name.endsWith(REQUEST_SUFFIX)) return undefined;
  return contracts.find((c) => c.name === `${request.name.slice(0, -REQUEST_SUFFIX.length)}.response`);
}

const replyChannelId = (request: MessageContract): string => `${request.name}.reply`;

/** The `reply` of an operation on a request channel (none for other channels). */
function replyTo(request: MessageContract, contracts: readonly MessageContract[]): Json {
  return responseOf(request, contracts) === undefined ? {} : { reply: { channel: ref(`channels/${replyChannelId(request)}`) } };
}

/** One reply channel (address unknown: the requester's inbox) per request contract with a response contract. */
function replyChannels(contracts: readonly MessageContract[]): Json {
  const channels: Json = {};
  for (const request of contracts) {
    const response = responseOf(request, contracts);
    if (response === undefined) continue;
    channels[replyChannelId(request)] = {
      address: null,
      description: `Replies to ${request.address}, sent to the requester's inbox (the NATS reply subject): the ${response.name} event, or a reply-error.`,
      messages: {
        [response.name]: ref(`components/messages/${response.name}`),
        'reply-error': ref('components/messages/reply-error'),
      },
    };
  }
  return channels;
}
