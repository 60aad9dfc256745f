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
