/**
 * --otlp-traces: the OpenTelemetry SDK (the 2.x line, which runs on Node 20), a batch span
 * processor and the OTLP/HTTP exporter (JSON). This module is imported only when traces are
 * configured, so a proxy without them loads no OpenTelemetry code at all.
 */
import { BasicTracerProvider, BatchSpanProcessor, type IdGenerator, type Sampler, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Clock } from '../clock/index.js';
import type { Logger } from '../logging/index.js';
import { createTracerObserver, type TracerObserver } from './tracer-observer.js';

export interface TraceSettings {
  /** The Collector's OTLP/HTTP traces endpoint; a URL without a path gets `/v1/traces`. */
  readonly url: string;
  /** --trace-inject: requests without trace context are sent to the server with the proxy's. */
  readonly inject: boolean;
}

export interface TracingDeps {
  readonly logger: Logger;
  readonly clock: Clock;
  /** `service.version` of the spans' resource. */
  readonly version?: string;
  readonly transport: 'stdio' | 'http';
  /** Tests: where spans go instead of the OTLP exporter, how they are batched, ids and sampling. */
  readonly processor?: SpanProcessor;
  readonly idGenerator?: IdGenerator;
  readonly sampler?: Sampler;
}

export interface Tracing {
  /** One observer serves every session: it keeps nothing per session. */
  readonly observer: TracerObserver;
  /** Spans the Collector took, and spans dropped because an export failed (for the metrics). */
  readonly exportStats: Readonly<TraceExportStats>;
  /** Exports what is still queued (bounded in time) and stops. */
  close(): Promise<void>;
}

export interface TraceExportStats {
  exported: number;
  dropped: number;
}

/** How long stopping waits for the last spans to be exported: a Collector that is down never holds the proxy's exit. */
const SHUTDOWN_WAIT_MS = 3000;

/** The endpoint as OTLP/HTTP defines it: the base URL of a Collector gets the traces path. */
export function tracesEndpoint(url: string): string {
  const parsed = new URL(url);
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/v1/traces';
  return parsed.href;
}

export function startTracing(settings: TraceSettings, deps: TracingDeps): Tracing {
  const { logger } = deps;
  const endpoint = tracesEndpoint(settings.url);
  const exportStats: TraceExportStats = { exported: 0, dropped: 0 };
  const processor = deps.processor ?? new BatchSpanProcessor(loggedExporter(new OTLPTraceExporter({ url: endpoint }), logger, endpoint, exportStats));
  // Sampling follows the OpenTelemetry variables (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG) unless a test sets it.
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': process.env['OTEL_SERVICE_NAME'] ?? 'mcp-sidecar', 'service.version': deps.version ?? 'unknown' }),
    spanProcessors: [processor],
    ...(deps.idGenerator === undefined ? {} : { idGenerator: deps.idGenerator }),
    ...(deps.sampler === undefined ? {} : { sampler: deps.sampler }),
  });
  const tracer = provider.getTracer('mcp-sidecar', deps.version);
  const observer = createTracerObserver({ tracer, transport: deps.transport === 'http' ? 'tcp' : 'pipe', inject: settings.inject, clock: deps.clock });
  logger.info({ endpoint, inject: settings.inject }, 'traces are exported over OTLP/HTTP');
  return {
    observer,
    exportStats,
    async close() {
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), SHUTDOWN_WAIT_MS);
        timer.unref();
      });
      const result = await Promise.race([provider.shutdown().then(() => 'done' as const, (error: unknown) => error), gaveUp]);
      clearTimeout(timer);
      if (result === 'timeout') logger.warn({ endpoint, waitedMs: SHUTDOWN_WAIT_MS }, 'the last spans were not exported before the proxy stopped');
      else if (result !== 'done') logger.warn({ endpoint, err: result }, 'exporting the last spans failed');
    },
  };
}

/**
 * The exporter, with its failures logged: the SDK reports them only to its own diagnostic
 * logger, which is silent. One line when exports start failing, one when they recover.
 */
function loggedExporter(inner: SpanExporter, logger: Logger, endpoint: string, stats: TraceExportStats): SpanExporter {
  let failing = false;
  return {
    export(spans, done) {
      inner.export(spans, (result) => {
        // ExportResultCode.SUCCESS is 0 (@opentelemetry/core, not a dependency of ours).
        const ok = result.code === 0;
        if (ok) stats.exported += spans.length;
        else stats.dropped += spans.length;
        if (!ok && !failing) logger.warn({ endpoint, spans: spans.length, err: result.error?.message }, 'exporting spans to the Collector failed; spans are dropped until it answers');
        else if (ok && failing) logger.info({ endpoint }, 'exporting spans to the Collector works again');
        failing = !ok;
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}
