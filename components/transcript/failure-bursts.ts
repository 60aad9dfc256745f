/**
 * One kind of repeated transcript failure (a frame that cannot be serialized, a write that fails)
 * logged once per burst, with a count, not once per frame nor only once per process — the
 * pattern of the report sink's `FailureBursts` (execution-report/sink.ts), whose messages are the
 * sink's own: the first failure of a burst is logged; while the failures go on, one summary with
 * the count at most every `FAILURE_SUMMARY_EVERY_MS`; the first success after a burst says how
 * many frames it cost. Every lost frame is also counted by the writer (`stats.failures`,
 * `mcp_sidecar_transcript_write_failures_total`).
 */
import type { Clock } from '../clock/index.js';
import type { TranscriptLogger } from './types.js';

/** A repeated failure is logged again, with its count, at most this often while it lasts. */
export const FAILURE_SUMMARY_EVERY_MS = 60_000;

export interface FailureWording {
  /** What fails: `a frame could not be recorded`. */
  readonly what: string;
  /** What it costs: `it is left out of the transcript (counted)`. */
  readonly consequence: string;
  /** What the first success after a burst says: `recording frames again`. */
  readonly recovery: string;
}

export class TranscriptFailureBursts {
  #inBurst = false;
  #lost = 0;
  #unlogged = 0;
  #loggedAt = 0;

  constructor(
    private readonly logger: TranscriptLogger,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly details: object,
    private readonly wording: FailureWording,
  ) {}

  /** Frames lost in the current burst (0: none, or the burst lost none yet). */
  get lost(): number {
    return this.#lost;
  }

  failed(error: unknown, frames: number): void {
    this.#lost += frames;
    const now = this.clock.now();
    const { what, consequence } = this.wording;
    if (!this.#inBurst) {
      this.#inBurst = true;
      this.#loggedAt = now;
      this.logger.error({ ...this.details, err: error }, `transcript: ${what}; ${consequence}`);
      return;
    }
    this.#unlogged += frames;
    if (now - this.#loggedAt < FAILURE_SUMMARY_EVERY_MS) return;
    this.logger.error({ ...this.details, err: error, lost: this.#lost, sinceLastLogged: this.#unlogged }, `transcript: ${what}, still (${this.#lost} frames lost in this burst); ${consequence}`);
    this.#loggedAt = now;
    this.#unlogged = 0;
  }

  succeeded(): void {
    if (!this.#inBurst) return;
    this.logger.warn({ ...this.details, lost: this.#lost }, `transcript: ${this.wording.recovery}; ${this.#lost} frames were lost`);
    this.#inBurst = false;
    this.#lost = 0;
    this.#unlogged = 0;
  }
}
