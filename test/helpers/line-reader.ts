// Reads a byte stream as lines (split on `\n` only, so a `\r` stays visible), keeping every
// line for later assertions and handing them out one by one with a timeout.
import type { Readable } from 'node:stream';

export class LineReader {
  /** Every complete line seen so far, without its `\n`, in order. */
  readonly lines: Buffer[] = [];
  /** Every byte seen so far. */
  #chunks: Buffer[] = [];
  #partial: Buffer[] = [];
  #next = 0;
  #ended = false;
  #waiters: Array<() => void> = [];
  readonly #label: string;

  constructor(stream: Readable, label: string) {
    this.#label = label;
    stream.on('data', (chunk: Buffer) => this.#push(chunk));
    stream.once('end', () => this.#finish());
    stream.once('close', () => this.#finish());
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** All bytes received so far. */
  get bytes(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  /** Bytes after the last `\n` (a line not terminated yet, or cut by EOF). */
  get partial(): Buffer {
    return Buffer.concat(this.#partial);
  }

  /** The next line not handed out yet; rejects after `timeoutMs` or if the stream ends first. */
  async nextLine(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.#next >= this.lines.length) {
      if (this.#ended) throw new Error(`${this.#label}: the stream ended while a line was awaited`);
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.#wait(left))) {
        throw new Error(`${this.#label}: no line within ${timeoutMs} ms (partial: ${this.partial.length} bytes)`);
      }
    }
    return this.lines[this.#next++]!;
  }

  /** Waits until the stream has ended; false on timeout. */
  async untilEnd(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ended) {
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.#wait(left))) return this.#ended;
    }
    return true;
  }

  /** Lines not handed out by nextLine yet. */
  get unread(): Buffer[] {
    return this.lines.slice(this.#next);
  }

  #wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve(false);
      }, ms);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#waiters.push(wake);
    });
  }

  #wakeAll(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    let start = 0;
    let newline: number;
    let added = false;
    while ((newline = chunk.indexOf(0x0a, start)) !== -1) {
      this.#partial.push(chunk.subarray(start, newline));
      this.lines.push(Buffer.concat(this.#partial));
      this.#partial = [];
      start = newline + 1;
      added = true;
    }
    if (start < chunk.length) this.#partial.push(chunk.subarray(start));
    if (added) this.#wakeAll();
  }

  #finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#wakeAll();
  }
}
