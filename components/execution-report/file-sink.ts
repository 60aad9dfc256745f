/**
 * `--report-file`: reports as NDJSON, appended, one line each. `write` only queues (no I/O, no
 * hashing); the lines queued meanwhile go out as one `fs.write`, never more than one in flight,
 * within one turn of the event loop. fsync per policy, rotation by size between whole lines.
 *
 * Everything that can be wrong at start throws SIDECAR_ERR_REPORT_SINK from `open…`: a missing
 * directory, no permission, a directory, no space left, a last line that is not a report. An
 * incomplete last line (a writer killed mid-line) is cut off, with a warning, and the chain
 * continues from the last complete report (`resume`). Failures during the run never reach the
 * caller: they are logged at error level once per burst of failures and counted.
 */
import { ftruncate } from 'node:fs';
import type { Clock } from '../clock/index.js';
import type { HoldGate } from '../transport/index.js';
import type { LastReport } from './file-tail.js';
import { openAtStart } from './file-open.js';
import { closeFd, countRotatedFiles, FS_IO, openAppend, shiftRotatedFiles, type SinkIo } from './rotate.js';
import { FailureBursts, type ReportSink, type SinkLogger, type SinkTarget, type WriteQueueOptions } from './sink.js';
import { createWriteQueue } from './write-queue.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface ReportFileSinkOptions extends WriteQueueOptions {
  readonly path: string;
  /** Default 'interval': at most every `fsyncIntervalMs` (default 1000), when something was written. */
  readonly fsync?: FsyncPolicy;
  readonly fsyncIntervalMs?: number;
  /** Rotate before a write would take the file past this many bytes; default: never. */
  readonly rotateBytes?: number;
  /** Rotated files kept (`file.1` … `file.N`); default 10. */
  readonly rotateKeep?: number;
  /** At start, the file system must have this much free space; default 64 KiB. */
  readonly minFreeBytes?: number;
  readonly io?: SinkIo;
  /** The fsync interval's timer (default: the system clock's, not keeping the process alive). */
  readonly clock?: Clock;
}

// The system clock with timers that do not keep the process alive (the interval fsync alone must not).
const UNREFED_SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface ReportFileSink extends ReportSink {
  readonly path: string;
  /** The last report already in the file (or in `file.1`): the chain continues from it. */
  readonly resume: LastReport | undefined;
  /**
   * What answers to the client wait for (issue 19): a ticket settles once the lines queued
   * before it are written to the file, with `always` also fsynced; undefined with `never`,
   * whose answers do not wait (a report may lag its answer).
   */
  readonly gate: HoldGate | undefined;
  /** Runs `run` with the queue's reserved room open: lifecycle reports are written through it, so a full queue does not drop them. */
  reserved<T>(run: () => T): T;
}

export function openReportFileSink(options: ReportFileSinkOptions, logger: SinkLogger): ReportFileSink {
  const { path, fsync = 'interval', fsyncIntervalMs = 1000, rotateKeep = 10, minFreeBytes = 64 * 1024, io = FS_IO } = options;
  let rotateBytes = options.rotateBytes ?? 0;
  if (!(rotateKeep >= 1)) throw new TypeError('report sink: rotateKeep must be at least 1');

  const opened = openAtStart(path, minFreeBytes, logger);
  let fd = opened.fd;
  let size = opened.size;
  const resume = opened.resume;
  // A device or a pipe (/dev/null, a FIFO): nothing to rename, and fsync means nothing there
  // (EINVAL): said once here, instead of an fsync error every interval.
  if (!opened.regular) {
    rotateBytes = 0;
    if (fsync !== 'never') logger.warn({ path, fsync }, 'execution reports: the report file is not a regular file (a pipe or a device): it is never fsynced or rotated');
  }
  const syncs = opened.regular && fsync !== 'never';
  const clock = options.clock ?? UNREFED_SYSTEM_CLOCK;
  const now = (): number => clock.now();
  const syncFailures = new FailureBursts(logger, now, { path }, 'fsync failed');
  const rotateFailures = new FailureBursts(logger, now, { path }, 'cannot rotate the report file');
  let rotated = rotateBytes > 0 ? countRotatedFiles(path, rotateKeep) : 0;

  let dirty = false;
  async function sync(): Promise<void> {
    if (!dirty || !syncs) return;
    dirty = false;
    try {
      await io.fsync(fd);
      syncFailures.succeeded();
    } catch (error) {
      syncFailures.failed(error, 'reports may not survive a crash of the machine');
    }
  }

  async function rotate(): Promise<void> {
    await sync();
    try {
      rotated = await shiftRotatedFiles(path, rotateKeep, rotated, io);
    } catch (error) {
      rotateFailures.failed(error, 'writing on to it');
      return;
    }
    rotateFailures.succeeded();
    try {
      const next = await openAppend(path);
      const old = fd;
      fd = next;
      size = 0;
      queue.stats.rotations += 1;
      await closeFd(old);
    } catch (error) {
      rotateBytes = 0;
      logger.error({ err: error, path }, `execution reports: cannot open a new report file after rotating; writing on to ${path}.1, rotation stopped`);
    }
  }

  const target: SinkTarget = {
    room: () => (rotateBytes > 0 ? rotateBytes - size : Infinity),
    async prepare(bytes) {
      if (rotateBytes > 0 && size > 0 && size + bytes > rotateBytes) await rotate();
    },
    async write(data) {
      const start = size;
      try {
        for (let offset = 0; offset < data.length;) {
          const written = await io.write(fd, data, offset, data.length - offset);
          if (!(written > 0)) throw new Error(`write returned ${written} bytes`);
          offset += written;
        }
      } catch (error) {
        // Take back a partial write, so the next line does not start in the middle of this one.
        await new Promise<void>((resolve) => ftruncate(fd, start, () => resolve()));
        throw error;
      }
      size += data.length;
      dirty = true;
      if (fsync === 'always') await sync();
    },
    async close() {
      await sync();
      await closeFd(fd);
    },
  };

  const queue = createWriteQueue(target, options, logger, path);
  // `interval`: at most every fsyncIntervalMs, when something was written; on the injected clock.
  let timer: unknown;
  const tick = (): void => {
    if (dirty) void queue.run(sync);
    timer = clock.setTimeout(tick, Math.max(1, fsyncIntervalMs));
  };
  if (fsync === 'interval' && syncs) timer = clock.setTimeout(tick, Math.max(1, fsyncIntervalMs));

  return {
    path,
    resume,
    gate: fsync === 'never' ? undefined : queue.gate,
    get full() {
      return queue.full;
    },
    onOverflow: queue.onOverflow,
    stats: queue.stats,
    write: queue.write,
    flush: queue.flush,
    reserved: queue.reserved,
    async close() {
      clock.clearTimeout(timer);
      await queue.close();
    },
  };
}
