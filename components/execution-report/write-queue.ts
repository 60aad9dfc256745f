/**
 * The bounded queue between the frame path and a sink's storage. `write(line)` is the hot call:
 * it copies the line's bytes (a string is encoded) with a newline to the end of one buffer and,
 * at most once per turn of the event loop, schedules the writer. The writer hands what is queued
 * to the target as one write, never more than one in flight, while new lines go to a second
 * buffer; the two take turns, so a busy session allocates nothing per line or per batch. When the queue holds `queueLimit` lines, `onOverflow` decides: `block`
 * queues the line and returns a promise that resolves once there is room again (the caller
 * stops reading until then); `drop` refuses the line, counts it, and says so in the log.
 *
 * Its `gate` is what answers to the client wait for (issue 19: a report before its answer): a
 * ticket names every line queued so far, and it settles once the target's write of those lines
 * has returned (with fsync `always`, after the fsync). A write that fails settles too: answers
 * are never held by a broken disk (the loss is logged, counted, and shows in the chain).
 *
 * Lifecycle reports (exit, fatal, restart) must not be lost to a full queue (issue 19: the `exit`
 * report was dropped at stop): writes inside `reserved(run)` may use `reserveLines` more lines
 * beyond `queueLimit`, room ordinary reports never take.
 */
import type { HoldGate } from '../transport/index.js';
import type { OverflowPolicy, ReportSink, ReportSinkStats, SinkLogger, SinkTarget, WriteQueueOptions } from './sink.js';

export interface WriteQueue extends Omit<ReportSink, 'stats'> {
  readonly stats: ReportSinkStats;
  /** Runs a task (an fsync) between two writes. */
  run(task: () => Promise<void>): void;
  /** Settles a ticket once every line queued before it was taken has been written (or failed). */
  readonly gate: HoldGate;
  /** Runs `run` with the reserved room open: its writes (and `full`) count against queueLimit + reserveLines. */
  reserved<T>(run: () => T): T;
}

export function createWriteQueue(target: SinkTarget, options: WriteQueueOptions, logger: SinkLogger, name: string): WriteQueue {
  const limit = options.queueLimit ?? 4096;
  const onOverflow = options.onOverflow ?? 'block';
  if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('report sink: queueLimit must be an integer ≥ 1');
  const reserveLines = options.reserveLines ?? DEFAULT_RESERVE_LINES;
  if (!Number.isSafeInteger(reserveLines) || reserveLines < 0) throw new TypeError('report sink: reserveLines must be an integer ≥ 0');
  // The bound in force: queueLimit, or inside `reserved` the limit plus the reserve.
  let bound = limit;
  const pending = new LineBuffer();
  let spare: LineBuffer | undefined = new LineBuffer();
  let inFlight = 0;
  const tasks: Array<() => Promise<void>> = [];
  const roomWaiters: Array<() => void> = [];
  const idleWaiters: Array<() => void> = [];
  let running = false;
  let scheduled = false;
  let closing: Promise<void> | undefined;
  let closed = false;
  let failing = 0; // reports lost in the current burst of failures
  // The gate's counters: lines ever queued, and of those (in order) the ones written or failed.
  let accepted = 0;
  let settled = 0;
  // At most one waiter per held channel: a short list, scanned once per batch.
  const settleWaiters: SettleWaiter[] = [];
  let overflowing = 0; // reports dropped in the current overflow

  const stats: ReportSinkStats = {
    written: 0, dropped: 0, failures: 0, bytes: 0, batches: 0, rotations: 0,
    get queued() {
      return pending.lines + inFlight;
    },
  };

  function releaseRoom(): void {
    while (roomWaiters.length > 0 && pending.lines + inFlight < limit) roomWaiters.shift()!();
    if (overflowing > 0 && pending.lines + inFlight < limit) {
      logger.warn({ sink: name, dropped: overflowing }, `execution reports: the sink keeps up again; ${overflowing} reports were dropped`);
      overflowing = 0;
    }
  }

  function schedule(): void {
    if (running || scheduled) return;
    scheduled = true;
    setImmediate(loop);
  }

  async function writeBatch(): Promise<void> {
    let room = target.room();
    if (room !== Infinity) {
      try {
        await target.prepare(pending.lineBytes(0));
      } catch (error) {
        logger.error({ sink: name, err: error }, 'execution reports: cannot rotate; writing on');
      }
      room = target.room();
    }
    // The lines that fit the room (at least one) leave for the target; the rest stay queued.
    const batch = spare ?? new LineBuffer();
    spare = undefined;
    const lines = pending.moveTo(batch, room);
    inFlight = lines;
    try {
      await target.write(batch.bytes());
      stats.written += lines;
      stats.bytes += batch.used;
      stats.batches += 1;
      if (failing > 0) logger.warn({ sink: name, lost: failing }, `execution reports: writing again; ${failing} reports were lost`);
      failing = 0;
    } catch (error) {
      stats.failures += lines;
      if (failing === 0) logger.error({ sink: name, err: error }, 'execution reports: cannot write reports; they are being lost (counted), and the chain will show the gap');
      failing += lines;
    } finally {
      inFlight = 0;
      spare = batch.reset();
      settled += lines;
      releaseSettled();
      releaseRoom();
    }
  }

  function releaseSettled(): void {
    if (settleWaiters.length === 0) return;
    let kept = 0;
    for (let i = 0; i < settleWaiters.length; i++) {
      const waiter = settleWaiters[i]!;
      if (waiter.ticket <= settled) releaseWaiter(waiter);
      else settleWaiters[kept++] = waiter;
    }
    settleWaiters.length = kept;
  }

  function releaseWaiter(waiter: SettleWaiter): void {
    try {
      waiter.release();
    } catch (error) {
      // A channel's bug must not stop the other channels' answers or the writer.
      logger.error({ sink: name, err: error }, 'execution reports: unexpected error releasing held answers');
    }
  }

  const gate: HoldGate = {
    pendingTicket: () => (settled === accepted ? 0 : accepted),
    whenSettled(ticket, release) {
      // Closed: nothing more will be written, so nothing is worth waiting for.
      if (ticket <= settled || closed) release();
      else settleWaiters.push({ ticket, release });
    },
  };

  async function loop(): Promise<void> {
    scheduled = false;
    if (running) return;
    running = true;
    try {
      for (;;) {
        const task = tasks.shift();
        try {
          if (task !== undefined) await task();
          else if (pending.lines > 0) await writeBatch();
          else break;
        } catch (error) {
          // Targets handle their own errors; this is a bug, and reporting must not take the proxy down with it.
          logger.error({ sink: name, err: error }, 'execution reports: unexpected error in the report writer');
        }
      }
    } finally {
      running = false;
      releaseRoom();
      for (const resolve of idleWaiters.splice(0)) resolve();
    }
  }

  const flush = (): Promise<void> => {
    if (!running && !scheduled && pending.lines === 0 && tasks.length === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  };

  return {
    stats,
    onOverflow,
    get full() {
      return pending.lines + inFlight >= bound;
    },
    reserved<T>(run: () => T): T {
      const outer = bound;
      bound = limit + reserveLines;
      try {
        return run();
      } finally {
        bound = outer;
      }
    },
    write(line: string | Uint8Array): boolean | Promise<void> {
      if (closing !== undefined) {
        stats.dropped += 1;
        return false;
      }
      if (pending.lines + inFlight >= bound) {
        if (onOverflow === 'drop') {
          if (overflowing === 0) logger.error({ sink: name, queueLimit: limit }, 'execution reports: the sink cannot keep up; dropping reports (counted)');
          overflowing += 1;
          stats.dropped += 1;
          return false;
        }
        pending.push(line);
        accepted += 1;
        schedule();
        return new Promise((resolve) => roomWaiters.push(resolve));
      }
      pending.push(line);
      accepted += 1;
      schedule();
      return true;
    },
    flush,
    run(task) {
      tasks.push(task);
      schedule();
    },
    gate,
    close() {
      closing ??= flush().then(() => target.close()).finally(() => {
        closed = true;
        settled = accepted;
        for (const waiter of settleWaiters.splice(0)) releaseWaiter(waiter);
      });
      return closing;
    },
  };
}

/** Lines beyond queueLimit that only lifecycle reports take: far more than a stop or a restart storm writes while the disk stalls. */
export const DEFAULT_RESERVE_LINES = 1024;

interface SettleWaiter {
  readonly ticket: number;
  readonly release: () => void;
}

const INITIAL_BYTES = 64 * 1024;
// A buffer grown past this by a burst or a long line is let go after its write, not kept.
const KEPT_BYTES = 4 * 1024 * 1024;

/** Lines with their newlines, end to end in one buffer that grows as needed. */
class LineBuffer {
  #buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  /** Where each line ends (after its newline). */
  #ends: number[] = [];
  used = 0;

  get lines(): number {
    return this.#ends.length;
  }

  /** The bytes of line `i` with its newline. */
  lineBytes(i: number): number {
    return this.#ends[i]! - (i === 0 ? 0 : this.#ends[i - 1]!);
  }

  push(line: string | Uint8Array): void {
    // A string's UTF-8 takes at most 3 bytes per UTF-16 unit; the exact length only for long ones.
    const most = typeof line === 'string' ? (line.length <= 64 * 1024 ? line.length * 3 : Buffer.byteLength(line)) : line.length;
    this.#reserve(most + 1);
    const buffer = this.#buffer;
    const written = typeof line === 'string' ? buffer.write(line, this.used) : (buffer.set(line, this.used), line.length);
    buffer[this.used + written] = 0x0a;
    this.used += written + 1;
    this.#ends.push(this.used);
  }

  /** Moves the first lines that fit in `room` bytes (at least one) to `to` (empty); returns how many. */
  moveTo(to: LineBuffer, room: number): number {
    const ends = this.#ends;
    let n = ends.length;
    if (room !== Infinity) {
      n = 1;
      while (n < ends.length && ends[n]! <= room) n++;
    }
    if (n === ends.length) {
      // All of them (no rotation due): the buffers trade places, nothing is copied.
      const buffer = to.#buffer;
      to.#buffer = this.#buffer;
      to.#ends = ends;
      to.used = this.used;
      this.#buffer = buffer;
      this.#ends = [];
      this.used = 0;
      return n;
    }
    const cut = ends[n - 1]!;
    to.#reserve(cut);
    this.#buffer.copy(to.#buffer, 0, 0, cut);
    to.used = cut;
    to.#ends = ends.slice(0, n);
    // What stays moves to the front.
    this.#buffer.copy(this.#buffer, 0, cut, this.used);
    this.used -= cut;
    this.#ends = ends.slice(n).map((end) => end - cut);
    return n;
  }

  bytes(): Buffer {
    return this.#buffer.subarray(0, this.used);
  }

  /** Emptied for reuse; undefined when it grew too large to keep. */
  reset(): LineBuffer | undefined {
    this.used = 0;
    this.#ends = [];
    return this.#buffer.length <= KEPT_BYTES ? this : undefined;
  }

  #reserve(bytes: number): void {
    if (this.used + bytes <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.used + bytes, this.#buffer.length * 2));
    this.#buffer.copy(grown, 0, 0, this.used);
    this.#buffer = grown;
  }
}
