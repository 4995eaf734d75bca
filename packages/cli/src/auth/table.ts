/**
 * What each identity may do, as a Markdown table built from the bus-access declaration (the
 * README's Security section carries it; a test keeps the copy current).
 */
import { BUS_IDENTITIES, CLIENT_BUS_ACCESS, declaredDurables, SERVICE_BUS_ACCESS } from '@multi-agent/service-kit';
import type { BusAccess, BusIdentity, DeclaredDurable } from '@multi-agent/service-kit';

const code = (items: readonly string[]): string => (items.length === 0 ? '-' : [...new Set(items)].map((s) => `\`${s}\``).join(', '));

/** Durables by filter; one on a whole stream by its name. */
function durablesCell(durables: readonly DeclaredDurable[]): string {
  if (durables.length === 0) return '-';
  return durables.map((d) => (d.filterSubject === '>' ? `all of ${d.stream} (\`${d.durable}\`)` : `\`${d.filterSubject}\``)).join(', ');
}

function serviceRow(identity: string, access: Readonly<BusAccess>, durables: readonly DeclaredDurable[]): string {
  const readers = access.consumes.filter((c) => c.durable === undefined).map((c) => c.subject);
  const requests = [...access.serves.map((s) => `serves ${s}`), ...access.calls.map((s) => `calls ${s}`)];
  const operations = [
    ...(access.inspects.length === 0 ? [] : [`inspects ${access.inspects.join(', ')}`]),
    ...access.deletesFrom.map((s) => `deletes ${s} messages`),
    ...(access.getsFrom.length === 0 ? [] : [`gets ${access.getsFrom.join(', ')} messages`]),
  ];
  return `| ${identity} | ${code(access.publishes)} | ${durablesCell(durables)} | ${code(readers)} | ${code(requests)} | ${code([...access.kvBuckets, ...access.objectStores])} | ${operations.length === 0 ? '-' : operations.join('; ')} |`;
}

const FIXED: Record<Exclude<BusIdentity, keyof typeof SERVICE_BUS_ACCESS>, string> = {
  admin:
    '| admin | replays to event subjects, `dlq.*` | creates and updates every declared durable | every stream | - | every bucket | creates and updates every stream and bucket (`multi-agent provision`); purges only the DLQ; never deletes a stream |',
  readonly: '| readonly | - | - | every stream, live subjects too (CLI `streams`, `tail`, `trace`, `dlq ls`, `doctor`) | - | reads every bucket | inspects every stream |',
};

/** The Markdown table: one row per identity, then what every service's client adds. */
export function permissionsTable(): string {
  const durables = declaredDurables();
  const rows = BUS_IDENTITIES.map((identity) =>
    identity === 'admin' || identity === 'readonly' ? FIXED[identity] : serviceRow(identity, SERVICE_BUS_ACCESS[identity], durables.filter((d) => d.service === identity)),
  );
  return [
    '| Identity | Publishes | Durable consumers | Reads (ephemeral) | Request/reply | Buckets | Stream operations |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    serviceRow('every service (its bus client)', CLIENT_BUS_ACCESS, durables.filter((d) => d.service === undefined)),
  ].join('\n');
}
