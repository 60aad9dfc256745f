import type { Clock } from '../clock/index.js';
import { ChurnMap } from '../values/index.js';
import type { PumpRequest } from './request.js';

/** Where a request's deadline comes from (the flag, or one policy rule) and how long it is. */
export interface DeadlineSource {
  readonly timeoutMs: number;
  /** The policy rule that set it; absent for --request-timeout-ms. */
  readonly ruleId?: string;
}

// The deadlines of the client's requests in flight (--request-timeout-ms, or a policy `deadline`
// rule). One insertion-ordered Map per source (the flag, or one compiled rule): within a source
// every request has the same timeout, so its deadlines fall in the order requests are tracked (a
// progress notification that restarts a deadline moves its request to the end of its own list).
// Keyed by source rather than by value so that the expiry can name the rule; sources are few
// (the flag and the policy's deadline rules), so scanning their heads is cheap. One timer waits
// for the soonest head. A request that ends leaves its list at once; the timer is not moved for it
// (it wakes, finds a later deadline, and waits for that), so an answer costs one Map delete per
// source and no timer work. Progress tokens are mapped only for requests that carry one.
export class RequestDeadlines<S extends DeadlineSource = DeadlineSource> {
  readonly #clock: Clock;
  readonly #expire: (request: PumpRequest, source: S) => void;
  /** Source → (request → its deadline, ms on the clock), soonest first. */
  readonly #lists = new Map<S, ChurnMap<PumpRequest, number>>();
  /** Progress token (as JSON text) → its request, and back. */
  readonly #byToken = new Map<string, PumpRequest>();
  readonly #tokenOf = new Map<PumpRequest, string>();
  #size = 0;
  #timer: unknown;
  /** When the armed timer fires (valid while #timer is set). */
  #armedAt = 0;

  constructor(clock: Clock, expire: (request: PumpRequest, source: S) => void) {
    this.#clock = clock;
    this.#expire = expire;
  }

  get size(): number {
    return this.#size;
  }

  /** Starts a request's deadline (`source.timeoutMs` > 0); `progressToken` (JSON text), when it asked for progress. */
  track(request: PumpRequest, source: S, progressToken?: string): void {
    const at = this.#clock.now() + source.timeoutMs;
    let list = this.#lists.get(source);
    if (list === undefined) this.#lists.set(source, list = new ChurnMap());
    list.set(request, at);
    this.#size++;
    if (progressToken !== undefined) {
      this.#byToken.set(progressToken, request);
      this.#tokenOf.set(request, progressToken);
    }
    // A shorter timeout than the one the timer waits for can be due sooner.
    if (this.#timer === undefined) this.#arm(at);
    else if (at < this.#armedAt) {
      this.#clock.clearTimeout(this.#timer);
      this.#arm(at);
    }
  }

  /** The request ended (answered, refused, cancelled, failed): its deadline is gone. */
  forget(request: PumpRequest): void {
    if (this.#size === 0) return;
    let found = false;
    for (const list of this.#lists.values()) {
      if (list.delete(request)) {
        found = true;
        break;
      }
    }
    if (!found) return;
    this.#size--;
    if (this.#tokenOf.size === 0) return;
    const token = this.#tokenOf.get(request);
    if (token === undefined) return;
    this.#tokenOf.delete(request);
    this.#byToken.delete(token);
  }

  /** A progress notification for this token (JSON text): its request's deadline starts again. */
  progressed(token: string): void {
    const request = this.#byToken.get(token);
    if (request === undefined) return;
    for (const [source, list] of this.#lists) {
      if (!list.delete(request)) continue;
      list.set(request, this.#clock.now() + source.timeoutMs);
      return;
    }
  }

  /**
   * The latest deadline of the requests tracked (undefined: none). O(requests): read only when a
   * caller needs a bound (a new HTTP session at a full cap), never per frame.
   */
  latest(): number | undefined {
    let latest: number | undefined;
    for (const list of this.#lists.values()) {
      for (const at of list.values()) if (latest === undefined || at > latest) latest = at;
    }
    return latest;
  }

  /** Stops the timer (the session ends; what is pending is failed by its stop sequence). */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(at: number): void {
    this.#armedAt = at;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.max(0, at - this.#clock.now()));
  }

  /** The list whose head is due soonest, and that head; lists left empty are dropped (a reload's old rules). */
  #soonest(): { list: ChurnMap<PumpRequest, number>; source: S; request: PumpRequest; at: number } | undefined {
    let soonest: { list: ChurnMap<PumpRequest, number>; source: S; request: PumpRequest; at: number } | undefined;
    for (const [source, list] of this.#lists) {
      const head = list.entries().next();
      if (head.done === true) {
        this.#lists.delete(source);
        continue;
      }
      const [request, at] = head.value;
      if (soonest === undefined || at < soonest.at) soonest = { list, source, request, at };
    }
    return soonest;
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    // Heads in deadline order across the lists, as long as they are due.
    for (let head = this.#soonest(); head !== undefined; head = this.#soonest()) {
      if (head.at > now) return this.#arm(head.at);
      this.forget(head.request);
      this.#expire(head.request, head.source);
    }
  }
}
