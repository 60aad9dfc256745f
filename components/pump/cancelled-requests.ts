import type { PumpRequest } from './request.js';

const MAX_CANCELLED_REMEMBERED = 1024;

// MCP: a request the client cancelled gets no response, so it leaves the ledger (ended) at once.
// It is remembered here, for a while, so that a late response is still judged by the method it
// answers (response rules redact it) and not taken for one that answers nothing. The client side
// remembers, the server side takes; bounded, oldest forgotten first.
export class CancelledRequests {
  readonly #requests = new Map<string, PumpRequest>();

  remember(request: PumpRequest): void {
    this.#requests.set(request.key, request);
    if (this.#requests.size > MAX_CANCELLED_REMEMBERED) this.#requests.delete(this.#requests.keys().next().value!);
  }

  /** The cancelled (already ended) request this id key answers, forgotten as it is taken. */
  take(key: string): PumpRequest | undefined {
    if (this.#requests.size === 0) return undefined;
    const request = this.#requests.get(key);
    if (request !== undefined) this.#requests.delete(key);
    return request;
  }
}
