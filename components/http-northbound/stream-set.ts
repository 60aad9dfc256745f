import type { ServerResponse } from 'node:http';
import type { StreamWriter } from './exchange.js';

export interface CongestionHandlers {
  /** The first stream of the session went over its high-water mark: stop feeding the session. */
  onCongested(): void;
  /** The last congested stream drained (or closed). */
  onDrained(): void;
}

// The session's writes to its HTTP responses. Backpressure is per session, as on a channel: the
// pump is told `onCongested` when any response stream is over its high-water mark (its socket
// is slow), and `onDrained` when none is; a stream that closes stops counting.
export class StreamSet implements StreamWriter {
  readonly #handlers: CongestionHandlers;
  readonly #congested = new Map<ServerResponse, () => void>();
  #waiters: Array<() => void> = [];

  constructor(handlers: CongestionHandlers) {
    this.#handlers = handlers;
  }

  /** False if the stream has already ended or closed (nothing written). */
  write(res: ServerResponse, chunk: Buffer): boolean {
    if (res.writableEnded || res.destroyed) return false;
    if (!res.write(chunk)) this.#watch(res);
    return true;
  }

  end(res: ServerResponse, chunk?: Buffer): void {
    if (res.writableEnded || res.destroyed) return;
    if (chunk === undefined) res.end();
    else res.end(chunk);
    // After end() no 'drain' comes; a large body still waiting for the socket counts until 'finish'.
    if (res.writableLength > res.writableHighWaterMark) this.#watch(res);
  }

  /** Resolves when no stream is congested. */
  drained(): Promise<void> {
    if (this.#congested.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #watch(res: ServerResponse): void {
    if (this.#congested.has(res)) return;
    const release = (): void => {
      res.off('drain', release);
      res.off('finish', release);
      res.off('close', release);
      if (!this.#congested.delete(res) || this.#congested.size > 0) return;
      this.#handlers.onDrained();
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    };
    this.#congested.set(res, release);
    res.on('drain', release);
    res.on('finish', release);
    res.on('close', release);
    if (this.#congested.size === 1) this.#handlers.onCongested();
  }
}
