/**
 * W3C trace context across the bus: the active OpenTelemetry context travels in the
 * `traceparent` header and is restored around the handler. Without an SDK these are no-ops.
 */
import { context, propagation } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';

/** True when an OpenTelemetry propagator is registered (the default no-op one has no fields). */
export function tracingEnabled(): boolean {
  return propagation.fields().length > 0;
}

/** Adds `traceparent`/`tracestate` of the active context to a header map. */
export function injectTraceContext(carrier: Record<string, string>): void {
  propagation.inject(context.active(), carrier);
}

/** The context carried by a message's headers (the active one when there is none). */
export function extractTraceContext(get: (name: string) => string | undefined): Context {
  return propagation.extract(context.active(), undefined, {
    get: (_carrier, key) => get(key),
    keys: () => [],
  });
}

/** Runs `fn` inside `ctx`, so spans the handler starts join the publisher's trace. */
export function withTraceContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}
