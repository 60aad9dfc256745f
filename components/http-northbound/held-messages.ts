import type { Logger } from '../logging/index.js';

export interface HeldLimit {
  readonly messages: number;
  readonly bytes: number;
}

// Server messages no open stream can carry, kept for the session's next GET stream. Bounded by
// count and bytes: past either, the oldest is dropped, with a warning naming its method.
export class HeldMessages {
  readonly #limit: HeldLimit;
  readonly #logger: Logger;
  readonly #session: string | undefined;
  #lines: Buffer[] = [];
  /** The method of each held line (for the warning when one is dropped: the line is not read again). */
  #methods: Array<string | undefined> = [];
  #bytes = 0;

  constructor(limit: HeldLimit, logger: Logger, session: string | undefined) {
    this.#limit = limit;
    this.#logger = logger;
    this.#session = session;
  }

  get size(): number {
    return this.#lines.length;
  }

  hold(line: Buffer, method: string | undefined): void {
    this.#lines.push(line);
    this.#methods.push(method);
    this.#bytes += line.length;
    while (this.#lines.length > this.#limit.messages || (this.#bytes > this.#limit.bytes && this.#lines.length > 1)) {
      const dropped = this.#lines.shift()!;
      const method = this.#methods.shift();
      this.#bytes -= dropped.length;
      this.#logger.warn({ session: this.#session, method, held: this.#lines.length }, 'dropped the oldest server message held for a GET stream that has not opened');
    }
  }

  /** Everything held, oldest first; the queue is empty after. */
  take(): Buffer[] {
    const lines = this.#lines;
    this.#lines = [];
    this.#methods = [];
    this.#bytes = 0;
    return lines;
  }
}
