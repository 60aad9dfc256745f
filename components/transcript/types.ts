/**
 * The transcript contract: what the proxy hands the writer for every frame it judged, and what
 * the writer promises in return. The file format itself is in docs/replay.md and record-line.ts.
 */
import type { Clock } from '../clock/index.js';
import type { Identity } from '../policy/index.js';
import type { ObservedFrame } from '../pump/index.js';

/** The name and version a transcript's header carries; a reader refuses any other. */
export const TRANSCRIPT_FORMAT = 'mcp-sidecar-transcript';
export const TRANSCRIPT_VERSION = 1;

/** `digest`: request arguments are kept only as `sha256:` of their canonical JSON; `redacted`: kept, secrets replaced. */
export type ArgumentsMode = 'digest' | 'redacted';

/** The policy in force, as the execution report names it. */
export interface RecordedPolicy {
  readonly name: string;
  readonly revision: string;
  readonly digest: string;
  readonly mode: string;
}

/** One frame as the proxy saw it: the pump's ObservedFrame (without its parsed body), plus what the report and the session know. */
export interface TranscriptFrame extends Omit<ObservedFrame, 'body'> {
  /** The execution report's invocation id, when known. */
  readonly invocationId?: string;
  /**
   * Which client session the frame belongs to, when one proxy serves several (Streamable HTTP):
   * ids are paired and in-flight requests counted per session. Absent for stdio.
   */
  readonly session?: string;
  /** The caller, when known (HTTP with auth): rules with `when`/`unless` are replayed against it. */
  readonly identity?: Identity;
}

export interface TranscriptOptions {
  readonly path: string;
  readonly arguments: ArgumentsMode;
  readonly logger: TranscriptLogger;
  /** The policy in force when recording starts; absent when the proxy runs without one. */
  readonly policy?: RecordedPolicy;
  /** Frame bytes waiting for the disk before `record` drops (counted, marked in the file); default 64 MiB. */
  readonly maxQueuedBytes?: number;
  /** When repeated failures are logged again (once per burst, a summary a minute); default: the system clock. */
  readonly clock?: Pick<Clock, 'now'>;
}

/** What the writer logs with: a pino logger fits. */
export interface TranscriptLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface TranscriptStats {
  /** Frames written to the file. */
  readonly written: number;
  /** Frames refused: the queue was full (marked in the file by a `gap` line), or the writer was closed. */
  readonly dropped: number;
  /** Frames lost to write errors, or that could not be serialized (`mcp_sidecar_transcript_write_failures_total`). */
  readonly failures: number;
  readonly bytes: number;
  /** Frames waiting now. */
  readonly queued: number;
}

export interface TranscriptWriter {
  /** Queues a frame: never throws, never waits; the frame is redacted and written later, off the frame path. */
  record(frame: TranscriptFrame): void;
  /** Notes a policy reload: the frames after it were judged by this policy. */
  recordPolicy(policy: RecordedPolicy | undefined): void;
  readonly stats: TranscriptStats;
  /** Resolves when everything recorded so far is written (or has failed). */
  flush(): Promise<void>;
  /** Writes what is queued and closes the file; later frames are dropped (counted). */
  close(): Promise<void>;
}
