/**
 * Deterministic event IDs. An event that a retried or restarted handler publishes again gets
 * the same `eventId`, so JetStream's duplicate window stores it once and every consumer's
 * idempotency store skips it: a re-run cannot double an effect.
 */
import { createHash } from 'node:crypto';

/**
 * A UUID (RFC 9562 version 8, "custom") derived from `parts`: the same parts always give the
 * same ID, different parts practically never collide.
 *
 * @example stableEventId(executionId, 'dispatch', nodeId, '1')
 */
export function stableEventId(...parts: (string | number)[]): string {
  const hex = createHash('sha256').update(parts.map(String).join('\u0000')).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
