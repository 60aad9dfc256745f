/**
 * The admin endpoint (--admin <host:port>): GET /metrics (Prometheus text), /healthz (the proxy
 * is alive), /readyz (200, or 503 with the reason as JSON), /version. Started only with --admin.
 */
export { startAdminEndpoint, type AdminEndpoint, type AdminEndpointOptions, type ListenAddress, type MetricsSource } from './server.js';
export { circuitReadiness, combineReadiness, upstreamReadiness, type CircuitSource, type Readiness } from './readiness.js';
export { policyReadiness, type PolicyBundleSource } from './readiness.js';
