/** The client's structured logger: pino, named after the service. */
import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';

/** The structured logger the client writes to (pino); a service may pass its own. */
export type Logger = PinoLogger;

/** A pino logger for a service; level from `LOG_LEVEL` (default `info`). */
export function createLogger(service: string): Logger {
  return pino({ name: service, level: process.env.LOG_LEVEL ?? 'info' });
}
