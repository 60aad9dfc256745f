/**
 * The report chain: turns what happened (a `ReportInput`) into the next report line, and writes
 * checkpoints when asked (the reporter decides when: every N reports, T ms after an unsigned
 * report, at close). It assigns `seq` (+1 per line), `invocationId` (from the injected id
 * source), `prevDigest` (the previous line's digest), `digest` and `timing`; a checkpoint also
 * gets the `signature`, which covers every line before it through the chain.
 *
 * Format 2 (docs/report.md): report lines carry no per-line constants; the policy is stated on
 * the first invocation of the chain, after each checkpoint and when it changes, and inherited by
 * the invocations that follow; checkpoint lines name the format.
 *
 * Deterministic: the same inputs (and checkpoint calls) with the same clock and id source give
 * byte-identical lines; the clock only reaches `timing`, which the digest leaves out, so
 * different clocks give the same digests. The line is the hashed canonical text with `digest`
 * (and a checkpoint's `signature`) and `timing` appended at its end: one serialization, one
 * UTF-8 encoding, one hash per line. The proxy takes the line as bytes (`appendBytes`): the
 * text is encoded once into a reused buffer, hashed there, and the sink copies those bytes;
 * `append` gives the same line as a string.
 */
import { hash } from 'node:crypto';
import { canonicalText, DIGEST_PATTERN, DIGEST_PREFIX } from './digest.js';
import type { LifecycleInput, ReportInput } from './input.js';
import type { CheckpointReason } from './constants.js';
import { checkpointText, invocationText, lifecycleText } from './report-text.js';
import type { ReportPolicy } from './schema.js';
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
  /**
   * Appends a checkpoint line (signed when there is a signer); `invocationId` is ''. `dropped`
   * (≥ 1): reports dropped since the last report appended, declared by the checkpoint.
   */
  checkpointBytes(reason: CheckpointReason, dropped?: number): EncodedReport;
  /** The same as `checkpointBytes`, as a string. */
  checkpoint(reason: CheckpointReason, dropped?: number): AppendedReport;
  /** Reports appended since the last checkpoint (or since the chain started). */
  readonly sinceCheckpoint: number;
  /** A signing key is configured: checkpoints are signed. */
  readonly signed: boolean;
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

function timingText(input: ReportInput | undefined, now: number): string {
  if (input === undefined) return `,"timing":{"startedAt":"${iso(now)}"}}`;
  const started = input.startedAt === undefined ? undefined : millis(input.startedAt);
  let s = `,"timing":{"startedAt":"${iso(started ?? now)}"`;
  if (started !== undefined) s += `,"finishedAt":"${iso(now)}"`;
  const duration = input.durationMs ?? (started === undefined ? undefined : Math.max(0, now - started));
  if (duration !== undefined && Number.isFinite(duration)) s += `,"durationMs":${Math.max(0, duration)}`;
  if (input.kind === 'lifecycle' && input.pid !== undefined && Number.isSafeInteger(input.pid)) s += `,"pid":${input.pid}`;
  return `${s}}}`;
}

/**
 * A `chain_resumed` line's hashed text: its detail names the line the chain continues from,
 * keys the lifecycle writer does not write. Once per run, so the generic canonical writer.
 */
function resumedText(input: LifecycleInput, fields: { seq: number; invocationId: string; prevDigest: string | null }): string {
  const { previousDigest, previousSeq } = input.detail;
  return canonicalText({
    detail: { previousDigest, previousSeq },
    dropped: input.dropped,
    event: input.event,
    generation: input.generation,
    invocationId: fields.invocationId,
    kind: 'lifecycle',
    prevDigest: fields.prevDigest,
    seq: fields.seq,
  });
}

export function createReportChain(options: ReportChainOptions = {}): ReportChain {
  let prevDigest = options.prevDigest ?? null;
  if (prevDigest !== null && !DIGEST_PATTERN.test(prevDigest)) throw new TypeError(`execution report: prevDigest must be "sha256:<hex>", got ${prevDigest}`);
  let seq = options.nextSeq ?? 1;
  if (!Number.isSafeInteger(seq) || seq < 1) throw new TypeError(`execution report: nextSeq must be an integer ≥ 1, got ${seq}`);
  const seed = options.sessionSeed ?? defaultSessionSeed(prevDigest);
  const ids = options.ids ?? sequentialIds(seed);
  // The default ids' JSON text: the seed quoted once, the seq appended (no JSON.stringify per report).
  const quotedSeed = options.ids === undefined ? JSON.stringify(`${seed}-`).slice(0, -1) : undefined;
  const clock = options.clock ?? Date.now;
  const signer = options.signer;

  let sinceCheckpoint = 0;
  // The policy last stated in this segment; undefined after a checkpoint (the next invocation states it again).
  let stated: ReportPolicy | undefined;
  const samePolicy = (a: ReportPolicy, b: ReportPolicy | undefined): boolean =>
    a === b || (b !== undefined && a.digest === b.digest && a.name === b.name && a.revision === b.revision);

  // The line is encoded into this buffer, hashed there and handed out as a view of it.
  let scratch = Buffer.allocUnsafe(SCRATCH_BYTES);

  /** Encodes the hashed text, hashes it, and writes digest (signature) and timing over its closing brace. */
  function encode(text: string, sign: boolean, input: ReportInput | undefined, invocationId: string): EncodedReport {
    const room = text.length * 3 + SUFFIX_BYTES; // UTF-8 takes at most 3 bytes per UTF-16 unit
    // A report larger than the kept buffer (long arguments) gets a buffer of its own.
    const buffer = room <= scratch.length ? scratch : Buffer.allocUnsafe(room);
    if (buffer !== scratch && room <= KEPT_SCRATCH_BYTES) scratch = buffer;
    const hashedEnd = buffer.write(text, 0);
    const digest = DIGEST_PREFIX + hash('sha256', buffer.subarray(0, hashedEnd), 'hex');
    let suffix = `,"digest":"${digest}"`;
    if (sign && signer !== undefined) suffix += `,"signature":{"alg":"ed25519","keyId":"${signer.keyId}","value":"${signer.sign(digest)}"}`;
    suffix += timingText(input, millis(clock()));
    const end = hashedEnd - 1 + buffer.write(suffix, hashedEnd - 1);
    const appended = { seq, invocationId, digest, bytes: buffer.subarray(0, end) };
    prevDigest = digest;
    seq += 1;
    return appended;
  }

  function appendBytes(input: ReportInput): EncodedReport {
    const invocationId = input.invocationId ?? ids(seq);
    const invocationIdText = input.invocationId === undefined && quotedSeed !== undefined ? `${quotedSeed}${seq}"` : undefined;
    const fields = { seq, invocationId, invocationIdText, prevDigest };
    let text: string;
    if (input.kind === 'invocation') {
      const withPolicy = !samePolicy(input.policy, stated);
      text = invocationText(input, fields, withPolicy);
      if (withPolicy) stated = input.policy; // only once the line exists: a report refused here states nothing
    } else {
      text = input.event === 'chain_resumed' ? resumedText(input, fields) : lifecycleText(input, fields);
    }
    sinceCheckpoint += 1;
    return encode(text, false, input, invocationId);
  }

  function checkpointBytes(reason: CheckpointReason, dropped?: number): EncodedReport {
    if (dropped !== undefined && (!Number.isSafeInteger(dropped) || dropped < 1)) throw new TypeError(`execution report: a checkpoint's dropped must be an integer ≥ 1, got ${String(dropped)}`);
    const text = checkpointText({ seq, prevDigest, reason, reports: sinceCheckpoint, dropped });
    sinceCheckpoint = 0;
    stated = undefined;
    return encode(text, true, undefined, '');
  }

  const asLine = ({ seq: appendedSeq, invocationId, digest, bytes }: EncodedReport): AppendedReport => ({ seq: appendedSeq, invocationId, digest, line: bytes.toString() });

  return {
    append: (input) => asLine(appendBytes(input)),
    appendBytes,
    checkpoint: (reason, dropped) => asLine(checkpointBytes(reason, dropped)),
    checkpointBytes,
    get sinceCheckpoint() {
      return sinceCheckpoint;
    },
    signed: signer !== undefined,
    get lastDigest() {
      return prevDigest;
    },
    get nextSeq() {
      return seq;
    },
  };
}
