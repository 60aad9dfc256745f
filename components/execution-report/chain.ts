/**
 * The report chain: turns what happened (a `ReportInput`) into the next report line. It
 * assigns `seq` (+1 per report), `invocationId` (from the injected id source), `prevDigest`
 * (the previous report's digest), `digest`, `signature` and `timing`, and hands back the NDJSON
 * line (without its newline) for a sink.
 *
 * Deterministic: the same inputs with the same clock and id source give byte-identical lines;
 * the clock only reaches `timing`, which the digest leaves out, so different clocks give the
 * same digests. The line is the hashed canonical text with `digest`, `signature` and `timing`
 * appended at its end: one serialization, one UTF-8 encoding, one hash per report. The proxy
 * takes the line as bytes (`appendBytes`): the text is encoded once into a reused buffer, hashed
 * there, and the sink copies those bytes; `append` gives the same line as a string.
 */
import { hash } from 'node:crypto';
import { DIGEST_PATTERN, DIGEST_PREFIX } from './digest.js';
import type { ReportInput } from './input.js';
import { invocationText, lifecycleText } from './report-text.js';
import type { ReportSigner } from './sign.js';

export interface ReportChainOptions {
  /** The digest of the last report already written (continuing a chain); null or absent: a new chain. */
  readonly prevDigest?: string | null;
  /** The seq of the next report: the last written seq + 1 (default 1). */
  readonly nextSeq?: number;
  /**
   * The invocation id source, called with the report's seq. Default: `<seed>-<seq>`, where the
   * seed is `sessionSeed` or, by default, the first 12 hex digits of `prevDigest` (`genesis`
   * for a new chain): deterministic, and unique within a chain.
   */
  readonly ids?: (seq: number) => string;
  readonly sessionSeed?: string;
  /** Default: `Date.now`. Only `timing` reads it. */
  readonly clock?: () => Date | number;
  readonly signer?: ReportSigner;
}

export interface AppendedReport {
  readonly seq: number;
  readonly invocationId: string;
  readonly digest: string;
  /** The NDJSON line, without its newline. */
  readonly line: string;
}

/** A report appended, as the UTF-8 bytes of its line (without the newline). */
export interface EncodedReport {
  readonly seq: number;
  readonly invocationId: string;
  readonly digest: string;
  /** A view of the chain's own buffer: valid until the next append. */
  readonly bytes: Buffer;
}

export interface ReportChain {
  append(input: ReportInput): AppendedReport;
  /** The same report as `append`, as bytes: what the proxy writes (no string copy of the line). */
  appendBytes(input: ReportInput): EncodedReport;
  /** The digest of the last report appended (or the one the chain continued from). */
  readonly lastDigest: string | null;
  readonly nextSeq: number;
}

/** The default id source: `<seed>-<seq>`. */
export function sequentialIds(seed: string): (seq: number) => string {
  return (seq) => `${seed}-${seq}`;
}

export function defaultSessionSeed(prevDigest: string | null): string {
  return prevDigest === null ? 'genesis' : prevDigest.slice(DIGEST_PREFIX.length, DIGEST_PREFIX.length + 12);
}

// toISOString costs about as much as the hash: reports come many to the millisecond, so the
// text of the last two readings is kept.
const isoCache = { ms: [Number.NaN, Number.NaN], text: ['', ''] };
function iso(ms: number): string {
  if (ms === isoCache.ms[0]) return isoCache.text[0]!;
  if (ms === isoCache.ms[1]) return isoCache.text[1]!;
  const text = new Date(ms).toISOString();
  isoCache.ms[1] = isoCache.ms[0]!;
  isoCache.text[1] = isoCache.text[0]!;
  isoCache.ms[0] = ms;
  isoCache.text[0] = text;
  return text;
}

// Room for what follows the hashed text: digest, signature (key id and value) and timing.
const SUFFIX_BYTES = 1024;
const SCRATCH_BYTES = 16 * 1024;
const KEPT_SCRATCH_BYTES = 1024 * 1024;

const millis = (time: Date | number): number => (typeof time === 'number' ? time : time.getTime());

function timingText(input: ReportInput, now: number): string {
  const started = input.startedAt === undefined ? undefined : millis(input.startedAt);
  let s = `,"timing":{"startedAt":"${iso(started ?? now)}"`;
  if (started !== undefined) s += `,"finishedAt":"${iso(now)}"`;
  const duration = input.durationMs ?? (started === undefined ? undefined : Math.max(0, now - started));
  if (duration !== undefined && Number.isFinite(duration)) s += `,"durationMs":${Math.max(0, duration)}`;
  if (input.kind === 'lifecycle' && input.pid !== undefined && Number.isSafeInteger(input.pid)) s += `,"pid":${input.pid}`;
  return `${s}}}`;
}

export function createReportChain(options: ReportChainOptions = {}): ReportChain {
  let prevDigest = options.prevDigest ?? null;
  if (prevDigest !== null && !DIGEST_PATTERN.test(prevDigest)) throw new TypeError(`execution report: prevDigest must be "sha256:<hex>", got ${prevDigest}`);
  let seq = options.nextSeq ?? 1;
  if (!Number.isSafeInteger(seq) || seq < 1) throw new TypeError(`execution report: nextSeq must be an integer ≥ 1, got ${seq}`);
  const ids = options.ids ?? sequentialIds(options.sessionSeed ?? defaultSessionSeed(prevDigest));
  const clock = options.clock ?? Date.now;
  const signer = options.signer;

  // The line is encoded into this buffer, hashed there and handed out as a view of it.
  let scratch = Buffer.allocUnsafe(SCRATCH_BYTES);

  function appendBytes(input: ReportInput): EncodedReport {
    const invocationId = input.invocationId ?? ids(seq);
    const fields = { seq, invocationId, prevDigest };
    const text = input.kind === 'invocation' ? invocationText(input, fields) : lifecycleText(input, fields);
    // The hashed text, then `digest` (and `signature`, `timing`) written over its closing brace.
    const room = text.length * 3 + SUFFIX_BYTES; // UTF-8 takes at most 3 bytes per UTF-16 unit
    // A report larger than the kept buffer (long arguments) gets a buffer of its own.
    const buffer = room <= scratch.length ? scratch : Buffer.allocUnsafe(room);
    if (buffer !== scratch && room <= KEPT_SCRATCH_BYTES) scratch = buffer;
    const hashedEnd = buffer.write(text, 0);
    const digest = DIGEST_PREFIX + hash('sha256', buffer.subarray(0, hashedEnd), 'hex');
    let suffix = `,"digest":"${digest}"`;
    if (signer !== undefined) suffix += `,"signature":{"alg":"ed25519","keyId":"${signer.keyId}","value":"${signer.sign(digest)}"}`;
    suffix += timingText(input, millis(clock()));
    const end = hashedEnd - 1 + buffer.write(suffix, hashedEnd - 1);
    prevDigest = digest;
    seq += 1;
    return { seq: fields.seq, invocationId, digest, bytes: buffer.subarray(0, end) };
  }

  return {
    append(input) {
      const { seq: appendedSeq, invocationId, digest, bytes } = appendBytes(input);
      return { seq: appendedSeq, invocationId, digest, line: bytes.toString() };
    },
    appendBytes,
    get lastDigest() {
      return prevDigest;
    },
    get nextSeq() {
      return seq;
    },
  };
}
