/** `multi-agent doctor`: checks the bus and prints each finding with its fix. */
import { JetStreamUnavailableError } from '@multi-agent/nats-client';
import type { NatsClient } from '@multi-agent/nats-client';
import { diagnose, unreachable } from '../doctor.js';
import type { DoctorReport, FindingStatus } from '../doctor.js';
import { paint, printJson } from '../output.js';
import type { Colour, Io } from '../output.js';

const LOOK: Record<FindingStatus, { label: string; colour: Colour }> = {
  ok: { label: 'ok', colour: 'green' },
  warn: { label: 'warn', colour: 'yellow' },
  fail: { label: 'FAIL', colour: 'red' },
};

function print(io: Io, report: DoctorReport): void {
  const { url, version } = report.server;
  if (url !== undefined) io.out(`nats-server ${version ?? '(unknown version)'} at ${url}`);
  for (const f of report.findings) {
    const look = LOOK[f.status];
    const about = f.check === f.subject ? f.check : `${f.check} ${f.subject}`;
    const line = `${paint(io, look.colour, look.label.padEnd(4))}  ${about}: ${f.message}`;
    io.out(f.status === 'ok' ? paint(io, 'dim', line) : line);
    if (f.fix !== undefined && f.status !== 'ok') io.out(`      fix: ${f.fix}`);
  }
  const summary = `${report.problems} ${report.problems === 1 ? 'problem' : 'problems'}, ${report.warnings} ${report.warnings === 1 ? 'warning' : 'warnings'}`;
  io.out(paint(io, report.problems > 0 ? 'red' : 'green', report.problems > 0 ? summary : `healthy (${summary})`));
}

/** Options of {@link doctorCommand}. */
export interface DoctorOptions {
  json: boolean;
  /** Time between the two looks at each consumer (ms). */
  windowMs: number;
}

/** Connects, diagnoses and prints; exit code 1 when a check failed. */
export async function doctorCommand(connect: () => Promise<NatsClient>, io: Io, options: DoctorOptions): Promise<number> {
  let report: DoctorReport;
  try {
    report = await diagnose(await connect(), { windowMs: options.windowMs });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    report = unreachable(err instanceof JetStreamUnavailableError ? 'jetstream' : 'server', message);
  }
  if (options.json) printJson(io, report);
  else print(io, report);
  return report.problems > 0 ? 1 : 0;
}
