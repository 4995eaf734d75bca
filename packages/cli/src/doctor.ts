/**
 * `multi-agent doctor`: checks a running bus the way an operator would, and says for each
 * finding what to do. The server and JetStream; each platform stream against the topology;
 * each durable consumer twice, a window apart (stuck, not draining, growing); the DLQ watcher;
 * MAX_DELIVERIES advisories and DLQ records; the durables the services declare.
 */
import { EventSubjects } from '@multi-agent/events';
import { AdvisorySubjects, DEAD_LETTER_WATCHER, StreamNames, platformStreams } from '@multi-agent/nats-client';
import type { NatsClient } from '@multi-agent/nats-client';
import { SERVICE_BUS_ACCESS } from '@multi-agent/service-kit';
import type { ConsumerInfo } from '@nats-io/jetstream';

/** How bad a finding is: `fail` makes the exit code non-zero. */
export type FindingStatus = 'ok' | 'warn' | 'fail';

/** One result of a check. */
export interface Finding {
  status: FindingStatus;
  /** What was checked: `server`, `jetstream`, `stream`, `consumer`, `watcher`, `advisories`, `dlq`, `service`. */
  check: string;
  /** What it is about: a stream, a consumer (`STREAM/name`), a service. */
  subject: string;
  message: string;
  /** One line on how to fix it (warn and fail). */
  fix?: string;
}

/** What `doctor` found. */
export interface DoctorReport {
  server: { url?: string; version?: string; jetstream: boolean };
  findings: Finding[];
  /** Findings with status `fail`. */
  problems: number;
  /** Findings with status `warn`. */
  warnings: number;
}

/** Options of {@link diagnose}. */
export interface DiagnoseOptions {
  /** Time between the two looks at each consumer (ms). */
  windowMs: number;
}

/** The report of a bus that could not be examined: no connection, or no JetStream. */
export function unreachable(check: 'server' | 'jetstream', message: string): DoctorReport {
  const fix =
    check === 'jetstream'
      ? 'enable JetStream on the server: nats-server -js, or a jetstream {} block in its config'
      : 'check --server / NATS_URL and the NATS_* credentials, and that nats-server is running';
  return { server: { jetstream: false }, findings: [{ status: 'fail', check, subject: check, message, fix }], problems: 1, warnings: 0 };
}

// Which service runs a durable: the declaration knows; the client also writes it into the consumer's description.
const DECLARED_OWNER = new Map(
  Object.entries(SERVICE_BUS_ACCESS).flatMap(([service, access]) => access.consumes.flatMap((c) => (c.durable === undefined ? [] : [[c.durable, service] as const]))),
);

function ownerOf(info: ConsumerInfo): string | undefined {
  return DECLARED_OWNER.get(info.name) ?? /(?:^|\s)service=(\S+)/.exec(info.config.description ?? '')?.[1];
}

async function durables(client: NatsClient, streams: readonly string[]): Promise<Map<string, ConsumerInfo>> {
  const found = new Map<string, ConsumerInfo>();
  for (const stream of streams) {
    for await (const info of client.jetstream.jsm.consumers.list(stream)) {
      if (info.config.durable_name !== undefined) found.set(`${stream}/${info.name}`, info);
    }
  }
  return found;
}

/** The finding for one durable consumer, from two looks `windowSeconds` apart. */
export function consumerFinding(key: string, before: ConsumerInfo | undefined, after: ConsumerInfo, windowSeconds: number): Finding {
  const owner = ownerOf(after);
  const restart = owner === undefined ? 'the service that runs it' : `the ${owner} service`;
  const delivered = before === undefined || after.delivered.stream_seq !== before.delivered.stream_seq;
  const acked = before === undefined || after.ack_floor.stream_seq !== before.ack_floor.stream_seq;
  const base = { check: 'consumer', subject: key };
  if (after.num_ack_pending > 0 && (before?.num_ack_pending ?? 0) > 0 && !delivered && !acked) {
    return {
      ...base,
      status: 'fail',
      message: `stuck: ${after.num_ack_pending} events delivered and not acknowledged, no progress in ${windowSeconds}s`,
      fix: `restart ${restart}: unacknowledged events are redelivered after ack_wait (${(after.config.ack_wait ?? 30e9) / 1e9}s); a handler that legitimately runs longer needs a longer --window`,
    };
  }
  if (after.num_pending > 0 && !delivered) {
    return {
      ...base,
      status: 'fail',
      message: `not draining: ${after.num_pending} events waiting and none delivered in ${windowSeconds}s`,
      fix: `start ${restart} (the durable resumes where it stopped), or remove an obsolete consumer: nats consumer rm ${key.replace('/', ' ')}`,
    };
  }
  if (before !== undefined && after.num_pending > before.num_pending) {
    return {
      ...base,
      status: 'warn',
      message: `backlog growing: ${before.num_pending} -> ${after.num_pending} waiting in ${windowSeconds}s`,
      fix: `run more replicas of ${restart} (they share the durable), or raise its concurrency`,
    };
  }
  return { ...base, status: 'ok', message: `${after.num_pending} waiting, ${after.num_ack_pending} unacknowledged` };
}

async function subjectCounts(client: NatsClient, stream: string, filter: string): Promise<Record<string, number>> {
  return (await client.jetstream.jsm.streams.info(stream, { subjects_filter: filter })).state.subjects ?? {};
}

/** Runs every check on a connected client. */
export async function diagnose(client: NatsClient, options: DiagnoseOptions): Promise<DoctorReport> {
  const health = client.health();
  const account = await client.jetstream.jsm.getAccountInfo();
  const findings: Finding[] = [
    { status: 'ok', check: 'jetstream', subject: 'jetstream', message: `enabled: ${account.streams} streams, ${account.consumers} consumers, ${(account.storage / 1024 / 1024).toFixed(1)} MiB stored` },
  ];

  for (const s of health.streams) {
    const base = { check: 'stream', subject: s.stream };
    if (s.action === 'unchanged') findings.push({ ...base, status: 'ok', message: 'matches the topology' });
    else if (s.action === 'created') findings.push({ ...base, status: 'warn', message: 'was missing; this connect created it', fix: 'none needed: every service creates missing streams on connect' });
    else if (s.action === 'updated') {
      findings.push({ ...base, status: 'warn', message: `had drifted (${s.drift.join(', ')}); this connect updated it to the topology`, fix: 'none needed; find who changes stream configs by hand (every service connect reverts them)' });
    } else {
      findings.push({
        ...base,
        status: 'fail',
        message: `drifted (${s.drift.join(', ')}) and cannot be updated: ${s.error ?? 'refused by the server'}`,
        fix: `recreate it: nats stream backup ${s.stream} ./${s.stream}-backup, then nats stream rm ${s.stream} -f, then start any service (it creates the stream from the topology)`,
      });
    }
  }

  const streams = platformStreams(client.config).map((s) => s.name);
  const first = await durables(client, streams);
  await new Promise<void>((resolve) => setTimeout(resolve, options.windowMs));
  const second = await durables(client, streams);
  const windowSeconds = options.windowMs / 1000;
  for (const [key, info] of second) findings.push(consumerFinding(key, first.get(key), info, windowSeconds));

  findings.push(
    second.has(`${StreamNames.ADVISORIES}/${DEAD_LETTER_WATCHER}`)
      ? { status: 'ok', check: 'watcher', subject: DEAD_LETTER_WATCHER, message: 'present: MAX_DELIVERIES advisories become DLQ records' }
      : {
          status: 'fail',
          check: 'watcher',
          subject: DEAD_LETTER_WATCHER,
          message: 'missing: events whose handler kept dying are not dead-lettered',
          fix: `start any service: its bus client creates the durable ${DEAD_LETTER_WATCHER} on ${StreamNames.ADVISORIES}`,
        },
  );

  const advisories = Object.entries(await subjectCounts(client, StreamNames.ADVISORIES, AdvisorySubjects.MAX_DELIVERIES));
  if (advisories.length > 0) {
    const total = advisories.reduce((sum, [, n]) => sum + n, 0);
    const perConsumer = advisories.map(([subject, n]) => `${subject.split('.').slice(-2).join('/')}: ${n}`).join(', ');
    findings.push({
      status: 'warn',
      check: 'advisories',
      subject: 'MAX_DELIVERIES',
      message: `${total} events exhausted their deliveries (${perConsumer})`,
      fix: 'their DLQ records say why: multi-agent dlq ls --consumer NAME',
    });
  }

  const dead = Object.entries(await subjectCounts(client, StreamNames.DLQ, EventSubjects.DLQ_ALL));
  const deadTotal = dead.reduce((sum, [, n]) => sum + n, 0);
  findings.push(
    deadTotal === 0
      ? { status: 'ok', check: 'dlq', subject: StreamNames.DLQ, message: 'empty' }
      : {
          status: 'warn',
          check: 'dlq',
          subject: StreamNames.DLQ,
          message: `${deadTotal} dead-lettered events (${dead.map(([subject, n]) => `${subject.slice(EventSubjects.DLQ.length + 1)}: ${n}`).join(', ')})`,
          fix: 'inspect with multi-agent dlq ls / dlq show SEQ, then dlq replay or dlq purge',
        },
  );

  const present = new Set([...second.values()].map((c) => c.name));
  for (const [service, access] of Object.entries(SERVICE_BUS_ACCESS)) {
    // A durable reading several subjects is declared once per subject: name it once.
    const missing = [...new Set(access.consumes.flatMap((c) => (c.durable === undefined || present.has(c.durable) ? [] : [c.durable])))];
    if (missing.length > 0) {
      findings.push({ status: 'warn', check: 'service', subject: service, message: `declared durables missing: ${missing.join(', ')} (not started on this server yet?)`, fix: `start the ${service} service` });
    }
  }

  return {
    server: { ...(health.server === undefined ? {} : { url: health.server }), ...(health.serverVersion === undefined ? {} : { version: health.serverVersion }), jetstream: true },
    findings,
    problems: findings.filter((f) => f.status === 'fail').length,
    warnings: findings.filter((f) => f.status === 'warn').length,
  };
}
