// When to start the next run after `failures` consecutive failed runs: base · 2^(failures−1),
// with ±jitter, never past the cap. The random source is injected so tests (and replays) are exact.

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
  /** Fraction of the delay added or removed at random (0.1 = ±10%). */
  readonly jitter: number;
  readonly random: () => number;
}

export const DEFAULT_BACKOFF_MAX_MS = 30_000;
export const DEFAULT_BACKOFF_JITTER = 0.1;

export function backoffDelayMs(failures: number, options: BackoffOptions): number {
  const exponential = options.baseMs * 2 ** Math.max(0, failures - 1);
  const capped = Math.min(options.maxMs, exponential);
  const spread = capped * options.jitter * (options.random() * 2 - 1);
  return Math.min(options.maxMs, Math.max(0, Math.round(capped + spread)));
}
