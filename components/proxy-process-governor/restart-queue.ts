import type { Logger } from 'pino';
import type { ErrorCode } from '../errors/index.js';
import type { Envelope } from '../framing/index.js';
import type { Clock } from '../clock/index.js';

interface HeldFrame {
  readonly line: Buffer;
  readonly id: string | undefined;
  /** The id by value (Envelope.key), as the pump keys its pending requests. */
  readonly key: string | undefined;
  readonly deadline: number;
}

export interface RestartQueueOptions {
  readonly limit: number;
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Answers a request the queue gives up on (the governor turns it into an error frame for the client). */
  readonly answer: (id: string, code: ErrorCode, detail: string) => void;
}

// While the server restarts, client frames wait here, bounded in count, bytes and time. Each
// request that cannot wait is answered with a retryable error; nothing is replayed.
export class RestartQueue {
  readonly #options: RestartQueueOptions;
  #held: HeldFrame[] = [];
  #bytes = 0;
  #timer: unknown;

  constructor(options: RestartQueueOptions) {
    this.#options = options;
  }

  hold(line: Buffer, envelope: Envelope | undefined): void {
    const { limit, maxBytes, timeoutMs, clock, logger, answer } = this.#options;
    const kind = envelope?.kind;
    if (kind === 'response' || kind === 'error') {
      logger.debug('dropped a client response meant for the server that exited');
      return;
    }
    const id = kind === 'request' ? envelope!.id : undefined;
    if (this.#held.length >= limit || this.#bytes + line.length > maxBytes) {
      if (id !== undefined) answer(id, 'SIDECAR_ERR_UPSTREAM_RESTARTING', 'too many requests are waiting for it');
      else logger.warn({ method: envelope?.method }, 'dropped a notification: too many frames are waiting for the restarting server');
      return;
    }
    this.#held.push({ line: Buffer.from(line), id, key: id === undefined ? undefined : envelope!.key, deadline: clock.now() + timeoutMs });
    this.#bytes += line.length;
    if (this.#held.length === 1) this.#timer = clock.setTimeout(() => this.#expire(), timeoutMs);
  }

  /** The id keys of the requests waiting (they were not sent to the server that died). */
  waitingIds(): Set<string> {
    return new Set(this.#held.flatMap((frame) => (frame.key === undefined ? [] : [frame.key])));
  }

  /** Hands every held frame, in order, to the new server. */
  release(send: (line: Buffer) => void): void {
    for (const frame of this.#take()) send(frame.line);
  }

  /** Answers every held request with this error and drops the rest. */
  answerAll(code: ErrorCode, detail: string): void {
    for (const frame of this.#take()) if (frame.id !== undefined) this.#options.answer(frame.id, code, detail);
  }

  #take(): HeldFrame[] {
    this.#options.clock.clearTimeout(this.#timer);
    const frames = this.#held;
    this.#held = [];
    this.#bytes = 0;
    return frames;
  }

  #expire(): void {
    const { clock, timeoutMs, answer } = this.#options;
    const now = clock.now();
    while (this.#held.length > 0 && this.#held[0]!.deadline <= now) {
      const frame = this.#held.shift()!;
      this.#bytes -= frame.line.length;
      if (frame.id !== undefined) answer(frame.id, 'SIDECAR_ERR_UPSTREAM_RESTARTING', `it did not come back within ${timeoutMs} ms`);
    }
    if (this.#held.length > 0) this.#timer = clock.setTimeout(() => this.#expire(), this.#held[0]!.deadline - now);
  }
}
