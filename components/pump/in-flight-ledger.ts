import type { ObservedFrame } from './observer.js';

// The requests the other side has not answered yet, keyed by id value (Envelope.key). When the
// server dies, each gets an error instead of a hang.

export interface PendingRequest {
  /** The id as the client wrote it (JSON text), echoed byte for byte in a local reply. */
  readonly rawId: string;
  /** The id by value: what the answer's id must equal. */
  readonly key: string;
  readonly method: string;
  /** With an observer: the request as observed, and the observer's trace. */
  readonly observed?: ObservedFrame;
  readonly trace?: unknown;
}

export class InFlightLedger {
  readonly #pending = new Map<string, PendingRequest>();

  get size(): number {
    return this.#pending.size;
  }

  has(key: string): boolean {
    return this.#pending.has(key);
  }

  /** Adds a request; a second one with the same key is the caller's to refuse (check `has` first). */
  add(rawId: string, key: string, method: string, observed?: ObservedFrame, trace?: unknown): void {
    this.#pending.set(key, observed === undefined ? { rawId, key, method } : { rawId, key, method, observed, trace });
  }

  /** Removes and returns the request a response answers, if it is pending. */
  settle(key: string): PendingRequest | undefined {
    const entry = this.#pending.get(key);
    if (entry !== undefined) this.#pending.delete(key);
    return entry;
  }

  /** Removes and returns every pending request, oldest first, but those whose id key is spared. */
  drain(spared?: ReadonlySet<string>): PendingRequest[] {
    const taken: PendingRequest[] = [];
    for (const [key, entry] of this.#pending) {
      if (spared?.has(key)) continue;
      taken.push(entry);
      this.#pending.delete(key);
    }
    return taken;
  }
}
