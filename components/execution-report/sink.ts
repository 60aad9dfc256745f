/**
 * The sink contract: what the reporter writes report lines to (a file, or anything with the
 * same calls), and what a sink reports about itself.
 */

export type OverflowPolicy = 'block' | 'drop';

/** What the sink logs with: a pino logger fits. */
export interface SinkLogger {
  error(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface WriteQueueOptions {
  /** Lines queued (waiting or being written) before `onOverflow` applies; default 4096. */
  readonly queueLimit?: number;
  /** Default 'block'. */
  readonly onOverflow?: OverflowPolicy;
  /** Lines beyond queueLimit for writes inside `reserved` (lifecycle reports); default 1024. */
  readonly reserveLines?: number;
}

export interface ReportSinkStats {
  /** Reports written. */
  written: number;
  /** Reports refused: the queue was full under onOverflow 'drop', or the sink was closed. */
  dropped: number;
  /** Reports lost to write errors. */
  failures: number;
  /** Reports queued now (waiting or being written). */
  readonly queued: number;
  bytes: number;
  batches: number;
  rotations: number;
}

export interface ReportSink {
  /**
   * Queues one line (without its newline; bytes are copied, so the caller may reuse them).
   * true: queued; false: dropped (counted); a promise: queued over the limit, resolves when there is room.
   */
  write(line: string | Uint8Array): boolean | Promise<void>;
  /** The queue is at its limit: the next write blocks or drops. */
  readonly full: boolean;
  readonly onOverflow: OverflowPolicy;
  /** Resolves when everything queued so far has been written (or has failed). */
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly stats: Readonly<ReportSinkStats>;
}

/** Where a queue writes: a file (file-sink.ts) or anything else with the same four calls. */
export interface SinkTarget {
  /** Bytes the current file can still take before it rotates; Infinity without rotation. */
  room(): number;
  /** Called before a batch when `room` is finite, with the size of its first line: rotate here. */
  prepare(firstLineBytes: number): Promise<void>;
  write(data: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** A repeated failure is logged again, with its count, at most this often while it lasts. */
export const FAILURE_SUMMARY_EVERY_MS = 60_000;

/**
 * One kind of repeated sink failure (cannot rotate, cannot fsync) logged once per burst, with a
 * count, not once per batch (issue 19: 800+ "cannot rotate" lines in 3,000 calls): the first
 * failure is logged; while the failures go on, one summary with the count at most every
 * `FAILURE_SUMMARY_EVERY_MS`; the first success after a burst says how many there were.
 */
export class FailureBursts {
  #failures = 0;
  #unlogged = 0;
  #loggedAt = 0;

  constructor(
    private readonly logger: SinkLogger,
    private readonly now: () => number,
    private readonly details: object,
    private readonly what: string,
  ) {}

  /** Failures in the current burst (0: none). */
  get failures(): number {
    return this.#failures;
  }

  failed(error: unknown, consequence: string): void {
    this.#failures += 1;
    const now = this.now();
    if (this.#failures === 1) {
      this.#loggedAt = now;
      this.logger.error({ ...this.details, err: error }, `execution reports: ${this.what}; ${consequence}`);
      return;
    }
    this.#unlogged += 1;
    if (now - this.#loggedAt < FAILURE_SUMMARY_EVERY_MS) return;
    this.logger.error({ ...this.details, err: error, failures: this.#failures, sinceLastLogged: this.#unlogged }, `execution reports: ${this.what}, still (${this.#failures} times in this burst); ${consequence}`);
    this.#loggedAt = now;
    this.#unlogged = 0;
  }

  succeeded(): void {
    if (this.#failures === 0) return;
    this.logger.warn({ ...this.details, failures: this.#failures }, `execution reports: ${this.what}: recovered after ${this.#failures} failures`);
    this.#failures = 0;
    this.#unlogged = 0;
  }
}
