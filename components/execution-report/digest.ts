/**
 * The digests a report carries, all `sha256:<hex>`:
 *
 * - `digest`: of the canonical JSON (RFC 8785) of the report without `digest`, `signature` and
 *   `timing`. chain.ts writes that text with a fast writer of its own (report-text.ts); this
 *   module's `digestOf` is the reference (any JSON value, any key order) that verify uses and
 *   the tests hold the fast writer to.
 * - `argumentsDigest`: of the canonical JSON of the arguments value, so `{"a":1,"b":2}` and
 *   `{"b":2,"a":1}` give the same digest.
 * - `responseDigest`: of the bytes the caller has (the frame as forwarded), hashed as given,
 *   once: a large body is never re-serialized to be hashed.
 */
import { hash } from 'node:crypto';
// The policy component's canonical JSON is a leaf module with no imports; its index would load
// zod and YAML, which writing reports must not pay for.
import { canonicalJson } from '../values/index.js';

export const DIGEST_PREFIX = 'sha256:';
export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** The fields a report's digest leaves out. */
export const UNHASHED_FIELDS = ['digest', 'signature', 'timing'] as const;

/** `sha256:` + the hex sha256 of the bytes (a string is hashed as its UTF-8). */
export function sha256Digest(data: string | Uint8Array): string {
  return DIGEST_PREFIX + hash('sha256', data, 'hex');
}

/**
 * The canonical JSON of a JSON value. A value JSON.parse produced can still hold what JSON
 * cannot write (a literal like 1e400 parses to Infinity): such a value is first put through
 * JSON.stringify, which writes it as null, so a frame can never make reporting throw.
 */
export function canonicalText(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    const text = JSON.stringify(value) as string | undefined;
    return text === undefined ? 'null' : canonicalJson(JSON.parse(text));
  }
}

/** The report's digest: of everything in it but `digest`, `signature` and `timing`. */
export function digestOf(report: object): string {
  const body: Record<string, unknown> = { ...report };
  for (const field of UNHASHED_FIELDS) delete body[field];
  return sha256Digest(canonicalText(body));
}

/** The digest of a request's arguments (any JSON value), independent of key order. */
export function argumentsDigest(value: unknown): string {
  return sha256Digest(canonicalText(value));
}

/**
 * The digest of a response. Bytes (a Buffer: the frame as forwarded, without its newline) are
 * hashed exactly as given; any other value is hashed as its canonical JSON.
 */
export function responseDigest(response: Uint8Array | unknown): string {
  return response instanceof Uint8Array ? sha256Digest(response) : sha256Digest(canonicalText(response));
}
