import type { Logger } from 'pino';
import type { Clock } from '../clock/index.js';
import { CircuitBreaker, type CircuitBreakerSettings } from './breaker.js';

/**
 * The breaker the runtime puts in front of the server command: one for all of its sessions
 * (over HTTP they all run the same command, so its failures are theirs), each transition logged.
 * Undefined when `failures` is 0 (off).
 */
export function createUpstreamBreaker(settings: CircuitBreakerSettings, clock: Clock, logger: Logger): CircuitBreaker | undefined {
  if (settings.failures === 0) return undefined;
  return new CircuitBreaker(clock, settings, ({ from, to, failures }) => {
    if (to === 'open') {
      logger.warn({ from, failures, windowMs: settings.windowMs, cooldownMs: settings.cooldownMs }, 'the circuit breaker opened: the MCP server kept failing; new requests fail fast until a probe passes');
    } else if (to === 'half-open') {
      logger.info({ from }, 'the circuit breaker is half-open: the next request probes the MCP server');
    } else {
      logger.info({ from }, 'the circuit breaker closed: the MCP server answered the probe');
    }
  });
}
