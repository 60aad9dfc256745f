/**
 * The proxy's Prometheus metrics (prom-client), served by the admin endpoint. Loaded only with
 * --admin: the runtime MUST import this component dynamically, so that without the admin
 * endpoint none of it (prom-client included) is loaded and the frame path carries no observer.
 * The series are listed in docs/operations.md.
 */
export {
  createMetrics, METRIC_PREFIX, DURATION_BUCKETS_SECONDS,
  type CircuitSource, type Metrics, type MetricsOptions, type UpstreamSource, type PolicyInfo, type ReportSinkCounts, type PolicyBundleCounts,
} from './metrics.js';
export { KNOWN_METHODS, methodLabel } from './labels.js';
