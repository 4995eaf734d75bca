/**
 * OpenTelemetry spans across the bus, with the messaging semantic conventions: a PRODUCER span
 * per publish, a CONSUMER span per handled delivery (child of the publish span, whose context
 * travels in the `traceparent` header), CLIENT/SERVER spans for request/reply. The handler runs
 * inside its consume span, so what it publishes joins the same trace.
 *
 * Only `@opentelemetry/api` is used: a process that registers no tracer provider gets no spans
 * and pays one check per message; one that registers only a propagator gets the context carried
 * and restored, without spans.
 */
import { ProxyTracerProvider, ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span } from '@opentelemetry/api';
import type { DomainEvent } from '@multi-agent/events';
import type { MsgHdrs } from '@nats-io/nats-core';

const TRACER_NAME = '@multi-agent/nats-client';
/**
 * What the global provider delegates to while no SDK registered one. A fresh proxy is the one
 * public way @opentelemetry/api 1.9 offers to reach the no-op provider; the class is deprecated
 * for creating providers, not for this.
 */
// eslint-disable-next-line @typescript-eslint/no-deprecated
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** The global provider: a proxy whose delegate is the registered SDK provider, if any. */
interface DelegatingProvider {
  getDelegate?: () => unknown;
}

/** True when a tracer provider is registered, i.e. spans would be recorded. */
function spansEnabled(): boolean {
  const provider = trace.getTracerProvider() as DelegatingProvider;
  return provider.getDelegate === undefined || provider.getDelegate() !== NOOP_PROVIDER;
}

/** True when a propagator is registered (the default no-op one has no fields). */
function propagatorEnabled(): boolean {
  return propagation.fields().length > 0;
}

/** Adds `traceparent`/`tracestate` of the active context to a header map. */
export function injectTraceContext(carrier: Record<string, string>): void {
  propagation.inject(context.active(), carrier);
}

/**
 * The context carried by a message's headers; without one a new trace starts, rather than one
 * inheriting whatever context the connection was opened in.
 */
function extractTraceContext(carrier: HeaderCarrier): Context {
  return propagation.extract(ROOT_CONTEXT, undefined, {
    get: (_carrier, key) => carrier.headers?.get(key) || undefined,
    keys: () => [],
  });
}

function messageAttributes(operation: string, subject: string, event: DomainEvent): Attributes {
  return {
    'messaging.system': 'nats',
    'messaging.operation': operation,
    'messaging.destination.name': subject,
    'messaging.message.id': event.eventId,
    ...(event.correlationId === undefined ? {} : { 'messaging.message.conversation_id': event.correlationId }),
  };
}

/** Runs `fn` in a new active span that ends (with an error status when `fn` throws) when `fn` settles. */
async function inSpan<T>(name: string, kind: SpanKind, attributes: Attributes, parent: Context, fn: () => Promise<T>): Promise<T> {
  const span = trace.getTracer(TRACER_NAME).startSpan(name, { kind, attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), fn);
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

function recordError(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  const code = (err as { code?: unknown } | null)?.code;
  span.setStatus(typeof code === 'string' ? { code: SpanStatusCode.ERROR, message: code } : { code: SpanStatusCode.ERROR });
}

/**
 * Runs a publish of `event` on `subject` inside a PRODUCER span; headers built inside `send`
 * carry that span as the consumer's parent.
 */
export function inPublishSpan<T>(subject: string, event: DomainEvent, send: () => Promise<T>): Promise<T> {
  if (!spansEnabled()) return send();
  return inSpan(`publish ${subject}`, SpanKind.PRODUCER, messageAttributes('publish', subject, event), context.active(), send);
}

/** Runs a request of `event` on `subject` inside a CLIENT span; the replier's SERVER span is its child. */
export function inRequestSpan<T>(subject: string, event: DomainEvent, send: () => Promise<T>): Promise<T> {
  if (!spansEnabled()) return send();
  return inSpan(`request ${subject}`, SpanKind.CLIENT, messageAttributes('request', subject, event), context.active(), send);
}

/** A received message (core or JetStream), as far as trace context extraction reads it. */
export interface HeaderCarrier {
  readonly headers?: MsgHdrs | undefined;
}

/** The delivery a consume span describes. */
export interface ConsumedMessage {
  subject: string;
  event: DomainEvent;
  /** The durable consumer or queue group. */
  consumer: string;
  /** The received message: its headers are read (and so parsed) only when tracing needs them. */
  carrier: HeaderCarrier;
  /** True for a request (SERVER span), false for an event (CONSUMER span). */
  isRequest: boolean;
}

/**
 * Runs the handler of one delivery inside a CONSUMER (or, for a request, SERVER) span whose
 * parent is the publisher's span from the message headers. Without a tracer provider no span
 * is made; the carried context is still restored when a propagator is registered.
 */
export function runInConsumeSpan<T>(message: ConsumedMessage, handle: () => Promise<T>): Promise<T> {
  const withSpans = spansEnabled();
  // Without either there is nothing to restore, and parsing headers costs.
  if (!withSpans && !propagatorEnabled()) return handle();
  const parent = extractTraceContext(message.carrier);
  if (!withSpans) return context.with(parent, handle);
  const attributes = {
    ...messageAttributes('process', message.subject, message.event),
    'messaging.consumer.group.name': message.consumer,
  };
  return inSpan(`process ${message.subject}`, message.isRequest ? SpanKind.SERVER : SpanKind.CONSUMER, attributes, parent, handle);
}
