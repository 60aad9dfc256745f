/**
 * Values both the command line (components/config) and the policy file (components/policy) accept,
 * read the same way and held to the same bounds: byte sizes with their units, and the governor's
 * counts and durations; and canonical JSON (RFC 8785), the one text digests are taken over
 * (policies, reports, tool pins); and ChurnMap, the Map for entries that come and go with the frames. A leaf: it imports nothing, so config and policy both depend on it and not
 * on each other.
 */

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, kib: 1024, kb: 1000, mib: 1024 ** 2, mb: 1000 ** 2, gib: 1024 ** 3, gb: 1000 ** 3 };
const SIZE_TEXT = /^\s*(\d+)\s*([a-z]*)\s*$/i;

/** An inclusive range of whole numbers. */
export interface Bounds {
  readonly min: number;
  readonly max: number;
}

/** `16777216`, `16MiB`, `512 KiB`, `1gb` → bytes; undefined for any other text or a size outside `bounds`. */
export function readByteSize(text: string, bounds: Bounds): number | undefined {
  const match = SIZE_TEXT.exec(text);
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) return undefined;
  const bytes = Number(match[1]) * unit;
  return bytes < bounds.min || bytes > bounds.max ? undefined : bytes;
}

/** How a size in `bounds` is described to whoever wrote a bad one (flag, variable or policy file). */
export function byteSizeExpected(bounds: Bounds): string {
  return `a size in bytes from ${bounds.min} to ${bounds.max} (a number, optionally with KiB, MiB or GiB)`;
}

/** --max-frame-bytes, and each size under the policy's `limits.maxFrameBytes`. */
export const FRAME_BYTES: Bounds = Object.freeze({ min: 1024, max: 1024 ** 3 });

/**
 * The governor's settings, as flags and as the policy's `governor` section: a policy cannot ask
 * for more than the command line may.
 */
export const GOVERNOR_BOUNDS = Object.freeze({
  maxRestarts: Object.freeze({ min: 0, max: 100 }),
  restartBackoffMs: Object.freeze({ min: 0, max: 60_000 }),
  restartBackoffMaxMs: Object.freeze({ min: 0, max: 600_000 }),
  killTimeoutMs: Object.freeze({ min: 0, max: 60_000 }),
  drainTimeoutMs: Object.freeze({ min: 0, max: 60_000 }),
}) satisfies Readonly<Record<string, Bounds>>;

export { canonicalJson } from './canonical-json.js';
export { ChurnMap } from './churn-map.js';
