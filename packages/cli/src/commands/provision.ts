/**
 * `multi-agent provision`: creates the platform's streams, buckets and durable consumers with
 * the admin identity and prints where the server differed from the topology. Exit code 1 when
 * drift remains that provisioning cannot fix in place.
 */
import type { NatsClient } from '@multi-agent/nats-client';
import type { Io } from '../output.js';
import { printJson, printTable } from '../output.js';
import { provisionTopology } from '../provision.js';

/** Provisions and prints one line per stream, bucket and durable; resolves with the exit code. */
export async function provisionCommand(client: NatsClient, io: Io, json: boolean): Promise<number> {
  const report = await provisionTopology(client);
  const failed = report.results.some((r) => r.action === 'drift-not-updated');
  if (json) {
    printJson(io, report);
    return failed ? 1 : 0;
  }
  printTable(
    io,
    ['kind', 'name', 'action', 'drift'],
    report.results.map((r) => [r.kind, r.name, r.action, [r.drift.join(', '), r.error ?? ''].filter((s) => s !== '').join(': ')]),
  );
  for (const { stream, durable } of report.undeclared) io.out(`note: durable ${durable} on ${stream} is in no service's declaration (left alone)`);
  return failed ? 1 : 0;
}
