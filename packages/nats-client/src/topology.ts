/**
 * The platform's stream topology (docs/architecture.md, "Streams and subjects") and subject routing: which stream, if any,
 * stores a subject. Subjects outside every stream are core NATS (request/reply, queue groups).
 */
import { subjectMatches } from '@multi-agent/events';
import { builtinNatsConfig } from './config.js';
import type { NatsConfig } from './config.js';

/** The subset of a JetStream stream config the platform manages. */
export interface StreamSpec {
  name: string;
  subjects: string[];
  /** Maximum age in milliseconds. */
  maxAgeMs: number;
  maxMsgs: number;
  maxBytes: number;
  /** Duplicate-detection window in milliseconds. */
  duplicateWindowMs: number;
  replicas: number;
  /** Messages kept per subject (older ones are dropped); default unlimited. */
  maxMsgsPerSubject?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Names of the platform's streams. */
export const StreamNames = {
  EVENTS: 'EVENTS',
  DLQ: 'DLQ',
  TOKENS: 'TOKENS',
  ADVISORIES: 'ADVISORIES',
  AUDIT: 'AUDIT',
  EVENT_INDEX: 'EVENT_INDEX',
} as const;

/**
 * Subject prefix of the EVENT_INDEX stream: `index.correlation.<key>` holds the EVENTS
 * sequences of one flow (see correlation-index.ts). Outside every subject the guide names.
 */
export const CORRELATION_INDEX_PREFIX = 'index.correlation';

/** Advisory subjects the ADVISORIES stream keeps, so a DLQ watcher that was down still sees them. */
export const AdvisorySubjects = {
  MAX_DELIVERIES: '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>',
  MSG_TERMINATED: '$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.>',
} as const;

/** The platform streams for a given config. */
export function platformStreams(config: Pick<NatsConfig, 'replicas' | 'tokensMaxBytes'> = builtinNatsConfig): StreamSpec[] {
  const base = { maxMsgs: -1, maxBytes: -1, duplicateWindowMs: 2 * 60 * 1000, replicas: config.replicas };
  return [
    {
      ...base,
      name: StreamNames.EVENTS,
      subjects: ['workflow.>', 'execution.>', 'agent.>', 'tool.execution.>', 'model.inference.>', 'vector.>'],
      maxAgeMs: 7 * DAY_MS,
      maxMsgs: 1_000_000,
    },
    { ...base, name: StreamNames.DLQ, subjects: ['dlq.*'], maxAgeMs: 30 * DAY_MS },
    {
      ...base,
      name: StreamNames.TOKENS,
      subjects: ['model.token.>'],
      maxAgeMs: 60 * 60 * 1000,
      maxBytes: config.tokensMaxBytes,
    },
    {
      ...base,
      name: StreamNames.ADVISORIES,
      subjects: [AdvisorySubjects.MAX_DELIVERIES, AdvisorySubjects.MSG_TERMINATED],
      maxAgeMs: 7 * DAY_MS,
    },
    // Who did what through the gateway: kept a year, whatever the other streams keep.
    { ...base, name: StreamNames.AUDIT, subjects: ['audit.>'], maxAgeMs: 365 * DAY_MS },
    {
      // One message per flow, rewritten as the flow grows; kept as long as EVENTS keeps events.
      ...base,
      name: StreamNames.EVENT_INDEX,
      subjects: [`${CORRELATION_INDEX_PREFIX}.*`],
      maxAgeMs: 7 * DAY_MS,
      maxMsgs: 1_000_000,
      maxMsgsPerSubject: 1,
    },
  ];
}

/**
 * True when every subject matched by `pattern` is also matched by `covering`
 * (e.g. `execution.node.*` lies within `execution.>`).
 */
export function subjectWithin(pattern: string, covering: string): boolean {
  const p = pattern.split('.');
  const c = covering.split('.');
  for (let i = 0; i < c.length; i++) {
    const ct = c[i];
    const pt = p[i];
    if (ct === '>') return pt !== undefined;
    if (pt === undefined || pt === '>') return false;
    if (ct === '*') continue;
    if (pt === '*' || pt !== ct) return false;
  }
  return p.length === c.length;
}

/** Finds the stream that stores every subject matched by `subject`, if any. */
export function streamFor(streams: readonly StreamSpec[], subject: string): StreamSpec | undefined {
  return streams.find((s) => s.subjects.some((covering) => subjectWithin(subject, covering)));
}

/** True when `subject` is declared as served by core NATS. */
export function isCoreSubject(coreSubjects: readonly string[], subject: string): boolean {
  return coreSubjects.some((pattern) => subjectMatches(pattern, subject) || subjectWithin(subject, pattern));
}
