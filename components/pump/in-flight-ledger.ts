import { ChurnMap } from '../values/index.js';
import type { PumpRequest } from './request.js';

// The requests the other side has not answered yet, keyed by id value (Envelope.key). When the
// server dies, each gets an error instead of a hang. A ChurnMap: entries come and go with every
// request for the whole session (components/values/churn-map.ts says what a plain Map costs then).

/** A request awaiting its answer: the pump's request object. */
export type PendingRequest = PumpRequest;

export class InFlightLedger {
  readonly #pending = new ChurnMap<string, PumpRequest>();

  get size(): number {
    return this.#pending.size;
  }

  has(key: string): boolean {
    return this.#pending.has(key);
  }

  /** The request in flight with this key, left in place. */
  get(key: string): PumpRequest | undefined {
    return this.#pending.get(key);
  }

  /** Adds a request; a second one with the same key is the caller's to refuse (check `has` first). */
  add(request: PumpRequest): void {
    this.#pending.set(request.key, request);
  }

  /** Removes and returns the request a response answers, if it is pending. */
  settle(key: string): PumpRequest | undefined {
    const entry = this.#pending.get(key);
    if (entry !== undefined) this.#pending.delete(key);
    return entry;
  }

  /** Removes and returns every pending request, oldest first, but those whose id key is spared. */
  drain(spared?: ReadonlySet<string>): PumpRequest[] {
    const taken: PumpRequest[] = [];
    for (const [key, entry] of this.#pending) {
      if (spared?.has(key)) continue;
      taken.push(entry);
      this.#pending.delete(key);
    }
    return taken;
  }
}
