/**
 * The `clock` tool: the current time, in UTC or an IANA time zone, split into the parts a
 * prompt usually wants (date, time, weekday, year).
 */
import * as z from 'zod';
import { ToolError } from './tool-error.js';

/** Input of `clock`. */
export const clockInputSchema = z.strictObject({
  /** IANA time zone such as `Europe/Paris`; default `UTC`. */
  timeZone: z.string().min(1).max(64).optional(),
});

/** Output of `clock`. */
export interface ClockOutput {
  iso: string;
  epochMs: number;
  timeZone: string;
  /** `YYYY-MM-DD` in the time zone. */
  date: string;
  /** `HH:MM:SS` (24 h) in the time zone. */
  time: string;
  weekday: string;
  year: number;
}

/**
 * Reads the clock.
 *
 * @throws ToolError `INVALID_TIMEZONE` for a zone the runtime does not know
 */
export function clock(input: z.output<typeof clockInputSchema>, now: Date = new Date()): ClockOutput {
  const timeZone = input.timeZone ?? 'UTC';
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'long',
      hourCycle: 'h23',
    }).formatToParts(now);
  } catch {
    throw new ToolError('INVALID_TIMEZONE', `unknown time zone "${timeZone}" (use an IANA name such as Europe/Paris)`);
  }
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  return {
    iso: now.toISOString(),
    epochMs: now.getTime(),
    timeZone,
    date: `${part('year')}-${part('month')}-${part('day')}`,
    time: `${part('hour')}:${part('minute')}:${part('second')}`,
    weekday: part('weekday'),
    year: Number(part('year')),
  };
}
