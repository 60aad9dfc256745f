import type { Logger } from 'pino';
import type { Clock } from '../clock/index.js';
import { CircuitBreaker, type CircuitBreakerSettings, type CircuitState, type CircuitTransition } from './breaker.js';

/**
 * The breakers of the server command's sessions: one per session, because each session has its
 * own server process (over HTTP) and one session's failures must never reach another (no shared
 * count opened by a co-tenant, no count reset by a co-tenant's success). It keeps the live ones
 * for the metrics, and counts every transition of every session that ever lived.
 */
export interface UpstreamBreakers {
  /** A new breaker for one session; `sessionLogger` (which names the session) logs its transitions. */
  forSession(sessionLogger: Logger): CircuitBreaker;
  /** The session has ended: its breaker is forgotten (its transitions stay counted). */
  release(breaker: CircuitBreaker): void;
  /** Live sessions' breakers in each state, read now (an open one past its cool-down reads half-open). */
  counts(): Record<CircuitState, number>;
  /** Transitions of every session's breaker so far, by the state entered; never goes down. */
  readonly transitions: Readonly<Record<CircuitState, number>>;
  /** Breakers of live sessions. */
  readonly size: number;
}

/** The breakers the runtime gives its sessions; undefined when `failures` is 0 (off). */
export function createUpstreamBreakers(settings: CircuitBreakerSettings, clock: Clock): UpstreamBreakers | undefined {
  if (settings.failures === 0) return undefined;
  const live = new Set<CircuitBreaker>();
  const transitions: Record<CircuitState, number> = { closed: 0, open: 0, 'half-open': 0 };
  return {
    forSession(sessionLogger) {
      const breaker = new CircuitBreaker(clock, settings, (transition) => {
        transitions[transition.to]++;
        logTransition(sessionLogger, settings, transition);
      });
      live.add(breaker);
      return breaker;
    },
    release: (breaker) => void live.delete(breaker),
    counts() {
      const counts: Record<CircuitState, number> = { closed: 0, open: 0, 'half-open': 0 };
      for (const breaker of live) counts[breaker.state]++;
      return counts;
    },
    transitions,
    get size() {
      return live.size;
    },
  };
}

function logTransition(logger: Logger, settings: CircuitBreakerSettings, { from, to, failures }: CircuitTransition): void {
  if (to === 'open') {
    logger.warn({ from, failures, windowMs: settings.windowMs, cooldownMs: settings.cooldownMs }, 'the circuit breaker opened: the MCP server kept failing; new requests fail fast until a probe passes');
  } else if (to === 'half-open') {
    logger.info({ from }, 'the circuit breaker is half-open: the next request probes the MCP server');
  } else {
    logger.info({ from }, 'the circuit breaker closed: the MCP server answered the probe');
  }
}
