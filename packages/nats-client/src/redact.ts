/**
 * Keeping secrets out of logs and error messages: the field names pino censors, and the
 * masking of credentials written into URLs (`nats://user:pass@host`, `redis://:pass@host`,
 * `https://user:key@api.example.com`).
 */

/** Field names whose values are secrets, wherever they appear in a log record (up to three levels deep). */
export const SECRET_FIELD_NAMES: readonly string[] = [
  'password',
  'pass',
  'token',
  'nkeySeed',
  'seed',
  'apiKey',
  'secret',
  'authorization',
  'cookie',
  'NATS_PASSWORD',
  'NATS_TOKEN',
  'NATS_NKEY_SEED',
  'MODEL_API_KEY',
  'REDIS_PASSWORD',
];

/**
 * The pino `redact` paths of {@link SECRET_FIELD_NAMES}: each name at the top level and one or
 * two objects down (`auth.pass`, `req.headers.authorization`). Every logger of the platform
 * uses this one list.
 */
export const LOG_REDACT_PATHS: readonly string[] = SECRET_FIELD_NAMES.flatMap((name) => [name, `*.${name}`, `*.*.${name}`]);

/** What a censored value is replaced with. */
export const REDACTED = '[redacted]';

// scheme://userinfo@ — userinfo runs to the last `@` before the host: a password may hold an `@`.
// The scheme is bounded so that a long run such as `a.a.a.a…` in a log line stays linear.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]{0,31}:\/\/)[^\s/?#@"',]*(?:@[^\s/?#@"',]*)*@/gi;

/**
 * Replaces the credentials of every URL in `text` with `***`: `nats://u:p@host:4222` becomes
 * `nats://***@host:4222`. Text without URL credentials comes back unchanged.
 */
export function maskUrlCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***@');
}
