// Traces (--otlp-traces): a span per invocation and per server lifecycle event, exported to an
// OpenTelemetry Collector. Imported only when configured: this loads the OpenTelemetry SDK.
export { startTracing, tracesEndpoint, type TraceSettings, type Tracing, type TracingDeps } from './tracing.js';
export { createTracerObserver, type InvocationTrace, type TracerObserver, type TracerObserverOptions } from './tracer-observer.js';
export { formatTraceparent, parseTraceparent, remoteContextOf, type RemoteContext } from './trace-context.js';
export { withTraceparent } from './traceparent-splice.js';
