import type { Clock } from '../clock/index.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerSettings {
  /** Consecutive upstream failures that open the breaker; 0 turns it off (never opens). */
  readonly failures: number;
  /** The failures must fall within this many milliseconds (first to last) to count as one run. */
  readonly windowMs: number;
  /** How long it stays open before one probe request may pass. */
  readonly cooldownMs: number;
}

export const DEFAULT_CIRCUIT_SETTINGS: CircuitBreakerSettings = Object.freeze({ failures: 5, windowMs: 30_000, cooldownMs: 10_000 });

/** What `admit` says of a new request: pass it, pass it as the half-open probe, or refuse it for `retryAfterMs`. */
export type Admission =
  | { readonly admitted: true; readonly probe: boolean }
  | { readonly admitted: false; readonly retryAfterMs: number; readonly state: 'open' | 'half-open' };

export interface CircuitTransition {
  readonly from: CircuitState;
  readonly to: CircuitState;
  /** The consecutive failures that opened it (to `open`), else 0. */
  readonly failures: number;
  readonly at: number;
}

const PASS: Admission = Object.freeze({ admitted: true, probe: false });
const PROBE: Admission = Object.freeze({ admitted: true, probe: true });

// The upstream's circuit breaker (Nygard's pattern): closed, it counts consecutive failures of
// the server (it exited under a request, answered unreadably, could not take it while
// restarting, or let it run past its deadline); n of them within the window open it. Open, new
// requests fail fast until the cool-down has passed; then it is half-open: one probe passes,
// and the next answer from the server closes it (a failure opens it again). An answer the
// server gives (even a JSON-RPC error) is a success: the server is up and talking.
// Open → half-open happens when someone looks (a request, a scrape, /readyz), not on a timer:
// nothing runs while nothing asks, and a fake clock drives every transition exactly.
export class CircuitBreaker {
  readonly #clock: Clock;
  readonly #settings: CircuitBreakerSettings;
  readonly #onTransition: ((transition: CircuitTransition) => void) | undefined;
  #state: CircuitState = 'closed';
  /** Times of the current run of consecutive failures, a ring of `failures` slots. */
  readonly #failureTimes: Float64Array;
  #run = 0;
  #openedAt = 0;
  #probeInFlight = false;
  readonly #transitions: Record<CircuitState, number> = { closed: 0, open: 0, 'half-open': 0 };

  constructor(clock: Clock, settings: CircuitBreakerSettings, onTransition?: (transition: CircuitTransition) => void) {
    this.#clock = clock;
    this.#settings = settings;
    this.#onTransition = onTransition;
    this.#failureTimes = new Float64Array(Math.max(1, settings.failures));
  }

  get enabled(): boolean {
    return this.#settings.failures > 0;
  }

  get settings(): CircuitBreakerSettings {
    return this.#settings;
  }

  /** The state now (an open breaker past its cool-down becomes half-open as it is read). */
  get state(): CircuitState {
    this.#coolDown();
    return this.#state;
  }

  /** Transitions so far, by the state entered. */
  get transitions(): Readonly<Record<CircuitState, number>> {
    return this.#transitions;
  }

  /** Milliseconds until an open breaker lets a probe through (0 when not open). */
  get retryAfterMs(): number {
    if (this.state !== 'open') return 0;
    return Math.max(0, this.#openedAt + this.#settings.cooldownMs - this.#clock.now());
  }

  /** Asked for each new client request, before it is forwarded. */
  admit(): Admission {
    if (this.#state === 'closed') return PASS;
    this.#coolDown();
    if (this.#state === 'open') return { admitted: false, retryAfterMs: this.retryAfterMs, state: 'open' };
    if (!this.#probeInFlight) {
      this.#probeInFlight = true;
      return PROBE;
    }
    // The probe's outcome is not known yet: a cool-down is the honest bound on when to retry.
    return { admitted: false, retryAfterMs: this.#settings.cooldownMs, state: 'half-open' };
  }

  /** The server answered a request (a result or a JSON-RPC error). */
  recordSuccess(): void {
    this.#run = 0;
    this.#coolDown();
    if (this.#state === 'half-open') this.#enter('closed', 0);
  }

  /** A request failed because of the server: it exited, restarted, answered unreadably, or ran past its deadline. */
  recordFailure(): void {
    if (!this.enabled) return;
    this.#coolDown(); // past its cool-down, a late failure is the verdict a probe would give
    const now = this.#clock.now();
    if (this.#state === 'half-open') return this.#open(now, 1);
    if (this.#state === 'open') return; // already failing fast: the cool-down is not extended
    const slots = this.#failureTimes.length;
    this.#failureTimes[this.#run % slots] = now;
    this.#run++;
    if (this.#run < slots) return;
    // The oldest of the last n failures: the whole run must fit in the window.
    const oldest = this.#failureTimes[(this.#run - slots) % slots]!;
    if (now - oldest <= this.#settings.windowMs) this.#open(now, slots);
  }

  /** The probe ended without a verdict on the server (cancelled, its client gone, the proxy stopping): the next request probes. */
  probeAbandoned(): void {
    if (this.#state === 'half-open') this.#probeInFlight = false;
  }

  #open(now: number, failures: number): void {
    this.#openedAt = now;
    this.#run = 0;
    this.#enter('open', failures);
  }

  #coolDown(): void {
    if (this.#state === 'open' && this.#clock.now() - this.#openedAt >= this.#settings.cooldownMs) this.#enter('half-open', 0);
  }

  #enter(to: CircuitState, failures: number): void {
    const from = this.#state;
    this.#state = to;
    this.#probeInFlight = false;
    this.#transitions[to]++;
    this.#onTransition?.({ from, to, failures, at: this.#clock.now() });
  }
}
