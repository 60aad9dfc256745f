import type { Writable } from 'node:stream';

const NEWLINE = Buffer.from('\n');

/** When queued frames are written: after the current microtasks, or once per event-loop turn. */
export type FlushOn = 'microtask' | 'turn';
const EMPTY = Buffer.alloc(0);

// The typed-array getters, called directly: `line.buffer` and `line.byteOffset` find them through
// Buffer's prototype chain on every call, which costs several times the getter itself (measured
// on Node 20: ~20 and ~13 ns a frame, against ~11 and ~4), and a frame needs both.
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const bufferOf = Object.getOwnPropertyDescriptor(typedArrayPrototype, 'buffer')!.get! as (this: Uint8Array) => ArrayBufferLike;
const byteOffsetOf = Object.getOwnPropertyDescriptor(typedArrayPrototype, 'byteOffset')!.get! as (this: Uint8Array) => number;

// Writes frames to a stream with as few write calls as it can: frames that were contiguous
// in the chunk they arrived in go out as one view of that chunk, everything else queued in
// the same tick goes out in one corked batch (one writev). Flushing happens in a microtask,
// after the frames of the current input chunk have all been routed; or, with `flushOn: 'turn'`,
// once per turn of the event loop (setImmediate), for a writer fed from many I/O callbacks in one
// turn (an HTTP session's server: each POST is its own callback, and a microtask flush would
// write once per call).
export class FrameWriter {
  readonly #out: Writable;
  readonly #onBackpressure: () => void;
  #queue: Buffer[] = [];
  #run: Buffer | undefined; // the current run of contiguous bytes
  #runBuffer: ArrayBufferLike | undefined; // the memory the run is a view of
  #runEnd = 0;
  #runStart = 0;
  #flushScheduled = false;
  #closed = false;
  readonly #flushNow = (): void => this.flush();
  readonly #schedule: (flush: () => void) => void;

  constructor(out: Writable, onBackpressure: () => void, flushOn: FlushOn = 'microtask') {
    this.#out = out;
    this.#onBackpressure = onBackpressure;
    this.#schedule = flushOn === 'turn' ? (flush) => void setImmediate(flush) : queueMicrotask;
  }

  /** True while the stream's buffer is over its high-water mark. */
  get congested(): boolean {
    return this.#out.writableNeedDrain;
  }

  /** Queues one frame (a line; `\n` is added if it lacks one). */
  send(line: Buffer): void {
    if (this.#closed) return;
    const offset = byteOffsetOf.call(line);
    if (this.#run !== undefined && offset === this.#runEnd && bufferOf.call(line) === this.#runBuffer) {
      this.#runEnd += line.length;
    } else {
      this.#closeRun();
      this.#run = line;
      this.#runBuffer = bufferOf.call(line);
      this.#runStart = offset;
      this.#runEnd = offset + line.length;
    }
    if (line[line.length - 1] !== 0x0a) {
      this.#closeRun();
      this.#queue.push(NEWLINE);
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      this.#schedule(this.#flushNow);
    }
  }

  flush(): void {
    this.#flushScheduled = false;
    this.#closeRun();
    const queue = this.#queue;
    if (queue.length === 0 || this.#closed) return;
    this.#queue = [];
    let ok: boolean;
    if (queue.length === 1) {
      ok = this.#out.write(queue[0]);
    } else {
      this.#out.cork();
      for (const buffer of queue) this.#out.write(buffer);
      ok = !this.#out.writableNeedDrain;
      this.#out.uncork();
    }
    if (!ok) this.#onBackpressure();
  }

  /** Resolves once everything written so far has been handed to the OS (or the stream failed). */
  drained(): Promise<void> {
    this.flush();
    const out = this.#out;
    if (out.destroyed || !out.writable) return Promise.resolve();
    // Writes complete in order, so an empty write's callback marks the end of all before it.
    return new Promise((resolve) => {
      out.once('close', resolve);
      out.write(EMPTY, () => {
        out.off('close', resolve);
        resolve();
      });
    });
  }

  /** Drops anything not yet written and refuses further frames. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#run = undefined;
    this.#runBuffer = undefined;
  }

  #closeRun(): void {
    const run = this.#run;
    if (run === undefined) return;
    const buffer = this.#runBuffer!;
    this.#run = undefined;
    this.#runBuffer = undefined;
    const length = this.#runEnd - this.#runStart;
    this.#queue.push(length === run.length ? run : Buffer.from(buffer, this.#runStart, length));
  }
}
