/**
 * The bounded queue between the frame path and a sink's storage. `write(line)` is the hot call:
 * it pushes a string and, at most once per turn of the event loop, schedules the writer. The
 * writer joins everything queued into one buffer and hands it to the target: never more than
 * one write in flight. When the queue holds `queueLimit` lines, `onOverflow` decides: `block`
 * queues the line and returns a promise that resolves once there is room again (the caller
 * stops reading until then); `drop` refuses the line, counts it, and says so in the log.
 */
import type { OverflowPolicy, ReportSink, ReportSinkStats, SinkLogger, SinkTarget, WriteQueueOptions } from './sink.js';

export interface WriteQueue extends Omit<ReportSink, 'stats'> {
  readonly stats: ReportSinkStats;
  /** Runs a task (an fsync) between two writes. */
  run(task: () => Promise<void>): void;
}

export function createWriteQueue(target: SinkTarget, options: WriteQueueOptions, logger: SinkLogger, name: string): WriteQueue {
  const limit = options.queueLimit ?? 4096;
  const onOverflow = options.onOverflow ?? 'block';
  if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('report sink: queueLimit must be an integer ≥ 1');
  let pending: string[] = [];
  let inFlight = 0;
  const tasks: Array<() => Promise<void>> = [];
  const roomWaiters: Array<() => void> = [];
  const idleWaiters: Array<() => void> = [];
  let running = false;
  let scheduled = false;
  let closing: Promise<void> | undefined;
  let failing = 0; // reports lost in the current burst of failures
  let overflowing = 0; // reports dropped in the current overflow

  const stats: ReportSinkStats = {
    written: 0, dropped: 0, failures: 0, bytes: 0, batches: 0, rotations: 0,
    get queued() {
      return pending.length + inFlight;
    },
  };

  function releaseRoom(): void {
    while (roomWaiters.length > 0 && pending.length + inFlight < limit) roomWaiters.shift()!();
    if (overflowing > 0 && pending.length + inFlight < limit) {
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
        await target.prepare(Buffer.byteLength(pending[0]!) + 1);
      } catch (error) {
        logger.error({ sink: name, err: error }, 'execution reports: cannot rotate; writing on');
      }
      room = target.room();
    }
    let lines = pending;
    if (room === Infinity) {
      pending = [];
    } else {
      let n = 0;
      for (let bytes = 0; n < pending.length; n++) {
        bytes += Buffer.byteLength(pending[n]!) + 1;
        if (n > 0 && bytes > room) break;
      }
      lines = pending.splice(0, n);
    }
    inFlight = lines.length;
    const data = Buffer.from(`${lines.length === 1 ? lines[0]! : lines.join('\n')}\n`);
    try {
      await target.write(data);
      stats.written += lines.length;
      stats.bytes += data.length;
      stats.batches += 1;
      if (failing > 0) logger.warn({ sink: name, lost: failing }, `execution reports: writing again; ${failing} reports were lost`);
      failing = 0;
    } catch (error) {
      stats.failures += lines.length;
      if (failing === 0) logger.error({ sink: name, err: error }, 'execution reports: cannot write reports; they are being lost (counted), and the chain will show the gap');
      failing += lines.length;
    } finally {
      inFlight = 0;
      releaseRoom();
    }
  }

  async function loop(): Promise<void> {
    scheduled = false;
    if (running) return;
    running = true;
    try {
      for (;;) {
        const task = tasks.shift();
        try {
          if (task !== undefined) await task();
          else if (pending.length > 0) await writeBatch();
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
    if (!running && !scheduled && pending.length === 0 && tasks.length === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  };

  return {
    stats,
    onOverflow,
    get full() {
      return pending.length + inFlight >= limit;
    },
    write(line: string): boolean | Promise<void> {
      if (closing !== undefined) {
        stats.dropped += 1;
        return false;
      }
      if (pending.length + inFlight >= limit) {
        if (onOverflow === 'drop') {
          if (overflowing === 0) logger.error({ sink: name, queueLimit: limit }, 'execution reports: the sink cannot keep up; dropping reports (counted)');
          overflowing += 1;
          stats.dropped += 1;
          return false;
        }
        pending.push(line);
        schedule();
        return new Promise((resolve) => roomWaiters.push(resolve));
      }
      pending.push(line);
      schedule();
      return true;
    },
    flush,
    run(task) {
      tasks.push(task);
      schedule();
    },
    close() {
      closing ??= flush().then(() => target.close());
      return closing;
    },
  };
}
