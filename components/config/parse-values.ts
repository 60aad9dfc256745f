import { SidecarError } from '../errors/index.js';

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, kb: 1000, mib: 1024 ** 2, mb: 1000 ** 2, gib: 1024 ** 3, gb: 1000 ** 3 };

/** Where a value came from, for error messages: `--max-frame-bytes` or `MCP_PROXY_MAX_FRAME_BYTES`. */
export type ValueSource = string;

function invalid(source: ValueSource, value: string, expected: string): never {
  throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', `${source} must be ${expected}, got ${JSON.stringify(value)}`);
}

/** An integer in [min, max]. */
export function parseInteger(source: ValueSource, value: string, min: number, max: number): number {
  const trimmed = value.trim();
  if (!/^-?\d+$/.test(trimmed)) invalid(source, value, `a whole number from ${min} to ${max}`);
  const n = Number(trimmed);
  if (n < min || n > max) invalid(source, value, `a whole number from ${min} to ${max}`);
  return n;
}

/** A byte count: `16777216`, `16MiB`, `512 KiB`. */
export function parseByteSize(source: ValueSource, value: string, min: number, max: number): number {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  const expected = `a size in bytes from ${min} to ${max} (a number, optionally with KiB, MiB or GiB)`;
  if (!match || unit === undefined) invalid(source, value, expected);
  const n = Number(match[1]) * unit;
  if (n < min || n > max) invalid(source, value, expected);
  return n;
}

/** One of a fixed set of words. */
export function parseChoice<T extends string>(source: ValueSource, value: string, choices: readonly T[]): T {
  const normalized = value.trim().toLowerCase();
  if (!(choices as readonly string[]).includes(normalized)) invalid(source, value, `one of ${choices.join(', ')}`);
  return normalized as T;
}

/** A sha256 digest in hex (64 characters), lower-cased. */
export function parseSha256(source: ValueSource, value: string): string {
  const trimmed = value.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(trimmed)) invalid(source, value, 'a sha256 digest: 64 hexadecimal characters');
  return trimmed;
}
