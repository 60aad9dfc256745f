// The client requests the server has not answered yet, keyed by id. When the server dies,
// each gets an error instead of a hang.

export interface PendingRequest {
  /** The id as the client wrote it (JSON text), echoed byte for byte in a local reply. */
  readonly rawId: string;
  readonly method: string;
}

// Ids are compared by value: `"a"` and `"\u0061"`, `1` and `1.0` name the same request.
export function idKey(rawId: string): string {
  const c = rawId.charCodeAt(0);
  if (c === 0x22 /* " */) return rawId.includes('\\') ? JSON.stringify(JSON.parse(rawId)) : rawId;
  return /^-?\d+$/.test(rawId) ? rawId : String(JSON.parse(rawId));
}

export class InFlightLedger {
  readonly #pending = new Map<string, PendingRequest>();

  get size(): number {
    return this.#pending.size;
  }

  add(rawId: string, method: string): void {
    this.#pending.set(idKey(rawId), { rawId, method });
  }

  /** Removes and returns the request a response answers, if it is pending. */
  settle(rawId: string): PendingRequest | undefined {
    const key = idKey(rawId);
    const entry = this.#pending.get(key);
    if (entry !== undefined) this.#pending.delete(key);
    return entry;
  }

  /** Removes and returns every pending request, oldest first. */
  drain(): PendingRequest[] {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    return all;
  }
}
