/**
 * Tracing of one service process: when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, an OpenTelemetry tracer provider is registered
 * once per process and exports spans by OTLP/HTTP. The bus client then makes spans for every
 * publish, delivery and request (it uses only `@opentelemetry/api`). Unset, nothing is
 * registered and the client makes no spans.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import { envUrl } from '@multi-agent/nats-client';
import type { Env } from '@multi-agent/nats-client';

/** Registered tracing: `shutdown()` exports what is buffered and unregisters it. */
export interface Tracing {
  shutdown(): Promise<void>;
}

/** Options of {@link registerTracing}. */
export interface TracingOptions {
  /** `service.name` of the spans. */
  service: string;
  exporter: SpanExporter;
  /** Export each span as it ends instead of in batches (tests). Default false. */
  immediate?: boolean;
}

/**
 * Registers a tracer provider (with the W3C trace-context propagator and async context
 * tracking) for this process.
 */
export function registerTracing(options: TracingOptions): Tracing {
  const processor = options.immediate === true ? new SimpleSpanProcessor(options.exporter) : new BatchSpanProcessor(options.exporter);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.service }),
    spanProcessors: [processor],
  });
  provider.register();
  return {
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** The OTLP/HTTP traces URL the environment names, or undefined when tracing is off. */
function otlpTracesUrl(env: Env): string | undefined {
  const traces = envUrl(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (traces !== undefined) return traces;
  const base = envUrl(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  return base === undefined ? undefined : `${base}/v1/traces`;
}

/**
 * Starts tracing for a service process when the environment names an OTLP endpoint.
 *
 * @returns undefined when `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` is unset
 * @throws ConfigError when the endpoint is not an http(s) URL
 */
export function startTracing(service: string, env: Env): Tracing | undefined {
  const url = otlpTracesUrl(env);
  if (url === undefined) return undefined;
  return registerTracing({ service, exporter: new OTLPTraceExporter({ url }) });
}
