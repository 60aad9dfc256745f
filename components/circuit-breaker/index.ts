/**
 * The upstream's circuit breaker: n consecutive server failures within a window open it, new
 * requests then fail fast (SIDECAR_ERR_CIRCUIT_OPEN, `data.retryAfterMs`) for a cool-down, and
 * one probe decides whether it closes. The pump asks it and tells it; /readyz and the metrics
 * read it. See docs/operations.md.
 */
export {
  CircuitBreaker, circuitStateValue, DEFAULT_CIRCUIT_SETTINGS,
  type Admission, type CircuitBreakerSettings, type CircuitState, type CircuitTransition,
} from './breaker.js';
export { createUpstreamBreaker } from './upstream.js';
