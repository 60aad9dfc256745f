import type { Clock } from '../clock/index.js';
import type { PumpRequest } from './request.js';

// The deadlines of the client's requests in flight (--request-timeout-ms). One value for every
// request, so deadlines fall in the order requests are tracked: a Map keeps that order (a
// progress notification that restarts a deadline moves its request to the end), and one timer
// waits for the soonest. A request that ends leaves the map at once; the timer is not moved
// for it (it wakes, finds a later deadline at the head, and waits for that), so an answer costs
// one Map delete and no timer work. Progress tokens are mapped only when the progress option is
// on, and only for requests that carry one.
export class RequestDeadlines {
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #expire: (request: PumpRequest) => void;
  /** Request → its deadline (ms on the clock), soonest first. */
  readonly #deadlines = new Map<PumpRequest, number>();
  /** Progress token (as JSON text) → its request, and back. */
  readonly #byToken = new Map<string, PumpRequest>();
  readonly #tokenOf = new Map<PumpRequest, string>();
  #timer: unknown;

  constructor(clock: Clock, timeoutMs: number, expire: (request: PumpRequest) => void) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
    this.#expire = expire;
  }

  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  get size(): number {
    return this.#deadlines.size;
  }

  /** Starts a request's deadline; `progressToken` (JSON text), when it asked for progress. */
  track(request: PumpRequest, progressToken?: string): void {
    const at = this.#clock.now() + this.#timeoutMs;
    this.#deadlines.set(request, at);
    if (progressToken !== undefined) {
      this.#byToken.set(progressToken, request);
      this.#tokenOf.set(request, progressToken);
    }
    if (this.#timer === undefined) this.#arm(at);
  }

  /** The request ended (answered, refused, cancelled, failed): its deadline is gone. */
  forget(request: PumpRequest): void {
    if (!this.#deadlines.delete(request)) return;
    if (this.#tokenOf.size === 0) return;
    const token = this.#tokenOf.get(request);
    if (token === undefined) return;
    this.#tokenOf.delete(request);
    this.#byToken.delete(token);
  }

  /** A progress notification for this token (JSON text): its request's deadline starts again. */
  progressed(token: string): void {
    const request = this.#byToken.get(token);
    if (request === undefined || !this.#deadlines.has(request)) return;
    this.#deadlines.delete(request);
    this.#deadlines.set(request, this.#clock.now() + this.#timeoutMs);
  }

  /** Stops the timer (the session ends; what is pending is failed by its stop sequence). */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(at: number): void {
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.max(0, at - this.#clock.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (const [request, at] of this.#deadlines) {
      if (at > now) return this.#arm(at);
      this.forget(request);
      this.#expire(request);
    }
  }
}
