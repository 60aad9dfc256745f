/**
 * The upstream's circuit breaker, one per session: n consecutive failures of that session's
 * server within a window open it, its new requests then fail fast (SIDECAR_ERR_CIRCUIT_OPEN,
 * `data.retryAfterMs`) for a cool-down, and one probe decides whether it closes. The pump asks
 * it and tells it; the registry (`createUpstreamBreakers`) gives each session its own and keeps
 * the live ones for the metrics; /readyz reads the one stdio session's. See docs/operations.md.
 */
export {
  CircuitBreaker, DEFAULT_CIRCUIT_SETTINGS,
  type Admission, type CircuitBreakerSettings, type CircuitState, type CircuitTransition,
} from './breaker.js';
export { createUpstreamBreakers, type UpstreamBreakers } from './upstream.js';
