/**
 * Which subjects each platform service uses on the bus, declared once as data: what it
 * publishes, which stream subjects it reads (through a durable consumer or an ephemeral
 * reader), which request/reply subjects it serves or calls, and which KV buckets it opens.
 *
 * The AsyncAPI document of `multi-agent schema` and the NATS permissions of
 * `multi-agent auth generate` (bus-permissions.ts) are generated from it, and a test runs a workflow through every service and fails when one touches a subject
 * that is not declared here. Subjects are NATS patterns: `*` is one token, `>` the rest.
 *
 * @packageDocumentation
 */
import { EventSubjects } from '@multi-agent/events';
import {
  AdvisorySubjects,
  ATTEMPT_LEDGER_BUCKET,
  CORRELATION_INDEX_PREFIX,
  CORRELATION_INDEXER,
  DEAD_LETTER_WATCHER,
  platformStreams,
  StreamNames,
} from '@multi-agent/nats-client';
import { AuditSubjects } from './audit.js';
import { CLAIM_CHECK_BUCKET } from './claim-check.js';
import { EXECUTIONS_BUCKET } from './execution/store.js';

/** A stream subject a service reads. */
export interface ConsumedSubject {
  /** The consumer's filter subject (a pattern). */
  subject: string;
  /**
   * The durable consumer, shared by the service's replicas; absent for an ephemeral reader
   * (an ordered consumer that reads the stream back and goes away). A durable declared with
   * every subject of its stream is one consumer of the whole stream (filter `>`).
   */
  durable?: string;
  /** Where a new durable starts: `new` skips what the stream held before it (default `all`). */
  deliverPolicy?: 'all' | 'new';
}

/** What one service does on the bus. */
export interface BusAccess {
  /** Subjects it publishes on (events into a stream, tokens). */
  publishes: string[];
  /** Stream subjects it reads. */
  consumes: ConsumedSubject[];
  /** Core request/reply subjects it answers (queue group named after the service). */
  serves: string[];
  /**
   * Core request/reply subjects it sends requests to; it also listens on each one's response
   * subject (`tool.execute.response` for `tool.execute.request`), where a replier may answer
   * with an event.
   */
  calls: string[];
  /** JetStream KV buckets it opens. */
  kvBuckets: string[];
  /** JetStream object store buckets it opens. */
  objectStores: string[];
  /** Streams whose state and consumers it shows operators (stream and consumer info, consumer lists). */
  inspects: string[];
  /** Streams it deletes single messages from for operators (purging dead letters). */
  deletesFrom: string[];
  /** Streams it reads single stored messages from, by sequence or last by subject (message gets, no consumer). */
  getsFrom: string[];
}

/** The platform services, by the name their bus client carries. */
export type PlatformService = 'gateway' | 'orchestration' | 'agent' | 'tool' | 'model';

/** The name of the KV bucket of the `kv` idempotency store (the services' default store). */
export const IDEMPOTENCY_BUCKET = 'IDEMPOTENCY';

/**
 * The KV bucket where the bus client's DLQ replayer marks each replayed record (key
 * `seq.<dlqSequence>`, value `{ eventId, replayedAt }`); the client does not export its name.
 */
export const DLQ_REPLAYS_BUCKET = 'DLQ_REPLAYS';

/** Every subject of the EVENTS stream: what a reader of the whole stream consumes. */
const EVERY_EVENT: ConsumedSubject[] = (platformStreams().find((s) => s.name === StreamNames.EVENTS)?.subjects ?? []).map(
  (subject) => ({ subject }),
);

/**
 * What every service's bus client does by itself, whatever the service: it dead-letters the
 * events its handlers give up on (`dlq.<consumer>`), runs the shared watcher that turns
 * MAX_DELIVERIES advisories into DLQ records, and keeps handled eventIds in the idempotency
 * bucket.
 */
export const CLIENT_BUS_ACCESS: Readonly<BusAccess> = {
  publishes: [EventSubjects.DLQ_ALL],
  consumes: [{ subject: AdvisorySubjects.MAX_DELIVERIES, durable: DEAD_LETTER_WATCHER }],
  serves: [],
  calls: [],
  // The attempt ledger is opened on the first failure or crash suspect, not at start.
  kvBuckets: [IDEMPOTENCY_BUCKET, ATTEMPT_LEDGER_BUCKET],
  objectStores: [],
  inspects: [],
  deletesFrom: [],
  getsFrom: [],
};

/** Per service, what its own code does on the bus (its client adds {@link CLIENT_BUS_ACCESS}). */
export const SERVICE_BUS_ACCESS: Readonly<Record<PlatformService, Readonly<BusAccess>>> = {
  gateway: {
    publishes: [
      EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
      // An operator cancels an execution.
      EventSubjects.EXECUTION_CANCELLED,
      // An operator replays dead letters: each goes back to its original subject.
      ...EVERY_EVENT.map((c) => c.subject),
      // Who started, cancelled, replayed or purged what (the AUDIT stream).
      ...Object.values(AuditSubjects),
      // Its correlation indexer writes the index of every flow; no other service may.
      `${CORRELATION_INDEX_PREFIX}.*`,
    ],
    consumes: [
      // An execution's events: those the index lists are got by sequence (getsFrom); the part
      // not indexed yet is scanned by headers.
      ...EVERY_EVENT,
      // The correlation indexer reads every event once: one durable on the whole stream (filter `>`).
      ...EVERY_EVENT.map((c) => ({ ...c, durable: CORRELATION_INDEXER })),
      // An execution's token stream, and the DLQ, for the API.
      { subject: `${EventSubjects.MODEL_TOKEN_STREAM}.*` },
      { subject: EventSubjects.DLQ_ALL },
    ],
    serves: [],
    calls: [],
    // The replay markers say which dead letters were replayed.
    kvBuckets: [EXECUTIONS_BUCKET, DLQ_REPLAYS_BUCKET],
    // Large execution inputs are claim-checked at intake.
    objectStores: [CLAIM_CHECK_BUCKET],
    // The console's streams page, and purging dead letters.
    inspects: platformStreams().map((s) => s.name),
    deletesFrom: [StreamNames.DLQ],
    // A flow's index message, and the events it lists (readCorrelation; the indexer reads the index back).
    getsFrom: [StreamNames.EVENTS, StreamNames.EVENT_INDEX],
  },
  orchestration: {
    publishes: [
      EventSubjects.EXECUTION_STARTED,
      EventSubjects.EXECUTION_NODE_STARTED,
      EventSubjects.EXECUTION_NODE_COMPLETED,
      EventSubjects.EXECUTION_NODE_FAILED,
      EventSubjects.EXECUTION_COMPLETED,
      EventSubjects.EXECUTION_FAILED,
      // A replayed dead letter revives the execution it failed.
      EventSubjects.EXECUTION_RESUMED,
      EventSubjects.AGENT_EXECUTION_REQUESTED,
      EventSubjects.TOOL_EXECUTION_REQUESTED,
    ],
    consumes: [
      { subject: EventSubjects.WORKFLOW_EXECUTION_REQUESTED, durable: 'orchestration-workflow_execution_requested' },
      { subject: EventSubjects.AGENT_EXECUTION_COMPLETED, durable: 'orchestration-agent_execution_completed' },
      { subject: EventSubjects.AGENT_EXECUTION_FAILED, durable: 'orchestration-agent_execution_failed' },
      { subject: EventSubjects.TOOL_EXECUTION_COMPLETED, durable: 'orchestration-tool_execution_completed' },
      { subject: EventSubjects.TOOL_EXECUTION_FAILED, durable: 'orchestration-tool_execution_failed' },
      // Dead letters of an execution's events fail its node or the execution.
      { subject: EventSubjects.DLQ_ALL, durable: 'orchestration-dlq_any' },
    ],
    serves: [],
    calls: [],
    kvBuckets: [EXECUTIONS_BUCKET],
    objectStores: [],
    inspects: [],
    deletesFrom: [],
    getsFrom: [],
  },
  agent: {
    publishes: [
      EventSubjects.AGENT_EXECUTION_STARTED,
      EventSubjects.AGENT_EXECUTION_COMPLETED,
      EventSubjects.AGENT_EXECUTION_FAILED,
      EventSubjects.MODEL_INFERENCE_REQUESTED,
      // One per tool call its model asked for.
      EventSubjects.AGENT_TOOL_CALLED,
    ],
    consumes: [
      { subject: EventSubjects.AGENT_EXECUTION_REQUESTED, durable: 'agent-agent_execution_requested' },
      // The model's answer, read back from the stream by causationId.
      { subject: 'model.inference.>' },
      // Every instance hears cancellations (a broadcast consumer each), to abort the nodes it runs.
      { subject: EventSubjects.EXECUTION_CANCELLED },
    ],
    serves: [],
    calls: [EventSubjects.TOOL_EXECUTE_REQUEST],
    kvBuckets: [],
    // Claim-checked inputs are resolved into prompts.
    objectStores: [CLAIM_CHECK_BUCKET],
    inspects: [],
    deletesFrom: [],
    getsFrom: [],
  },
  tool: {
    publishes: [EventSubjects.TOOL_EXECUTION_COMPLETED, EventSubjects.TOOL_EXECUTION_FAILED],
    consumes: [{ subject: EventSubjects.TOOL_EXECUTION_REQUESTED, durable: 'tool-tool_execution_requested' }],
    serves: [EventSubjects.TOOL_EXECUTE_REQUEST],
    calls: [],
    kvBuckets: [],
    // Claim-checked tool params are resolved before a tool runs.
    objectStores: [CLAIM_CHECK_BUCKET],
    inspects: [],
    deletesFrom: [],
    getsFrom: [],
  },
  model: {
    publishes: [EventSubjects.MODEL_INFERENCE_COMPLETED, EventSubjects.MODEL_INFERENCE_FAILED, `${EventSubjects.MODEL_TOKEN_STREAM}.*`],
    consumes: [
      { subject: EventSubjects.MODEL_INFERENCE_REQUESTED, durable: 'model-model_inference_requested' },
      // Ending executions complete their token stream.
      { subject: 'execution.*', durable: 'model-execution_any', deliverPolicy: 'new' },
    ],
    serves: [],
    calls: [],
    kvBuckets: [],
    objectStores: [],
    inspects: [],
    deletesFrom: [],
    getsFrom: [],
  },
};

/** Everything a service's process does on the bus: its own access plus its client's. */
export function busAccessOf(service: PlatformService): BusAccess {
  const own = SERVICE_BUS_ACCESS[service];
  return {
    publishes: [...own.publishes, ...CLIENT_BUS_ACCESS.publishes],
    consumes: [...own.consumes, ...CLIENT_BUS_ACCESS.consumes],
    serves: [...own.serves, ...CLIENT_BUS_ACCESS.serves],
    calls: [...own.calls, ...CLIENT_BUS_ACCESS.calls],
    kvBuckets: [...own.kvBuckets, ...CLIENT_BUS_ACCESS.kvBuckets],
    objectStores: [...own.objectStores, ...CLIENT_BUS_ACCESS.objectStores],
    inspects: [...own.inspects, ...CLIENT_BUS_ACCESS.inspects],
    deletesFrom: [...own.deletesFrom, ...CLIENT_BUS_ACCESS.deletesFrom],
    getsFrom: [...own.getsFrom, ...CLIENT_BUS_ACCESS.getsFrom],
  };
}
