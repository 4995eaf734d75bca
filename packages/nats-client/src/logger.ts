/**
 * The platform's structured logger: pino, named after the service, with secrets kept out of
 * every line: fields named like credentials are censored ({@link LOG_REDACT_PATHS}) and
 * credentials in URLs are masked in the written line, wherever they appear (a message, an
 * error's message or stack, a field).
 */
import { pino } from 'pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import { LOG_REDACT_PATHS, maskUrlCredentials, REDACTED } from './redact.js';

/** The structured logger the client writes to (pino); a service may pass its own. */
export type Logger = PinoLogger;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written; default `LOG_LEVEL`, else `info`. */
  level?: string;
  /** Where the lines go; default stdout. */
  destination?: DestinationStream;
}

/** A pino logger for a service that never writes a credential. */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? pino.destination(1);
  return pino(
    { name: service, level: options.level ?? process.env.LOG_LEVEL ?? 'info', redact: { paths: [...LOG_REDACT_PATHS], censor: REDACTED } },
    { write: (line: string) => destination.write(maskUrlCredentials(line)) },
  );
}
