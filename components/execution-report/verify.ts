/**
 * Verifies report files, in the order given (`file.2 file.1 file`: oldest first), as one chain:
 * each line must be a report by the schema, exactly the line the writer writes for its content
 * (canonical-line.ts; otherwise `noncanonical`), its digest must be that of its content, its
 * `prevDigest` the digest stored in the line before it, its `seq` one more than that line's,
 * and with a public key, its signature valid. Every problem is listed with its file and line,
 * the first broken line first. A last line of the last file with no newline that does not
 * parse is `torn`: what a writer killed mid-write leaves, not tampering.
 *
 * Both formats are read (a line that names `MiddlewareExecutionReportV1` is format 1, any other
 * format 2), also in one file, as a writer upgraded mid-chain leaves it. Format 1 lines are signed
 * each; in format 2 only checkpoints are, and a checkpoint's signature covers every line before
 * it through the chain. What follows the last checkpoint is covered by no signature: the result
 * says how many reports that is (`uncovered`) and whether the last line is a closing checkpoint
 * (`closed`); with `requireClosed` an open end is a problem (`open`).
 *
 * The chain is checked against what each line *says*, so an edited report is one `digest`
 * problem, not a cascade; a removed, inserted or moved report breaks `prevDigest` and `seq`.
 * The file's first report can only be checked against itself (rotated files before it may be
 * gone); `first` and `last` say where the verified chain starts and ends, for comparison with
 * an anchor kept elsewhere.
 *
 * A `chain_resumed` record (the first line of a writer that continued the chain) must name the
 * line before it: that line's digest and seq when it is in the files, else its own `prevDigest`
 * and `seq` − 1. With `checkpoints` (an exported copy: the lines the Collector received, one per
 * line, or another report file), the copy's checkpoints are the anchor: each is checked (digest;
 * signature with a public key), a line of the files with a checkpoint's seq must have its digest,
 * and the files must reach the copy's last checkpoint, else they were cut after it was exported
 * (`truncated`).
 */
import { encodeReportLine, firstDifference } from './canonical-line.js';
import { readLines } from './line-reader.js';
import { reportSchemaFor, type LifecycleDetail } from './schema.js';
import { verifySignature, type ReportPublicKey } from './sign.js';

export type ProblemKind = 'schema' | 'noncanonical' | 'digest' | 'chain' | 'signature' | 'torn' | 'sequence' | 'open' | 'resumed' | 'exported' | 'truncated';

export interface VerifyProblem {
  readonly file: string;
  readonly line: number;
  readonly kind: ProblemKind;
  readonly message: string;
}

export interface ChainEnd {
  readonly file: string;
  readonly line: number;
  readonly seq: number;
  readonly digest: string;
  readonly prevDigest: string | null;
}

export interface VerifyResult {
  /** Every line is an intact report, in an unbroken chain (a torn last line aside). */
  readonly ok: boolean;
  /** Lines that are reports (invocation, lifecycle) by the schema. */
  readonly reports: number;
  /** Lines that are checkpoints (format 2) by the schema. */
  readonly checkpoints: number;
  /** Format 2 reports after the last checkpoint (or all of them, without one): covered by no signature. */
  readonly uncovered: number;
  /** The last line is a format 2 checkpoint written at close: the writer ended the file cleanly. */
  readonly closed: boolean;
  /** The last line read is a format 2 line (then `closed` and `uncovered` apply). */
  readonly format2: boolean;
  readonly problems: readonly VerifyProblem[];
  /** The last line of the last file is an interrupted write (listed in `problems` as `torn`). */
  readonly torn: boolean;
  /** Signatures checked and valid (with a public key). */
  readonly signaturesValid: number;
  /** Reports that the sink dropped, as declared by the reports (and checkpoints) written after them. */
  readonly declaredDrops: number;
  readonly first: ChainEnd | undefined;
  readonly last: ChainEnd | undefined;
  /** With `checkpoints`: the copy's last valid checkpoint, and whether the files hold it. */
  readonly exported?: ExportedComparison;
}

/** A checkpoint of the exported copy, where it is in the copy. */
export interface ExportedCheckpoint {
  readonly seq: number;
  readonly digest: string;
  readonly line: number;
}

export interface ExportedComparison {
  /** The copy's path. */
  readonly file: string;
  /** Valid checkpoints read from the copy. */
  readonly checkpoints: number;
  /** The one with the highest seq; undefined when the copy holds none. */
  readonly last: ExportedCheckpoint | undefined;
  /** A line of the files has its seq and its digest. */
  readonly reached: boolean;
  /** The files start after it (older files not given): it could not be compared. */
  readonly precedesFiles: boolean;
}

export interface VerifyOptions {
  readonly publicKey?: ReportPublicKey;
  /** A file that does not end with a closing checkpoint is a problem (`open`), not a note. */
  readonly requireClosed?: boolean;
  /** An exported copy (or another report file) whose checkpoints the files must reach and agree with. */
  readonly checkpoints?: string;
}

const short = (digest: unknown): string => (typeof digest === 'string' ? `${digest.slice(0, 19)}…` : String(digest));
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function noncanonical(line: string, canonical: string): string {
  const d = firstDifference(line, canonical)!;
  const where = d.path === undefined ? 'after the report' : d.path === '' ? 'the top level' : d.path;
  return `not the canonical encoding of its content, from byte ${d.byte} (${where}): the line has \`${d.found}\` where the writer writes \`${d.expected}\``
    + ': a duplicated key, a key out of order, whitespace, or another spelling of a string or number';
}

/**
 * The checkpoints of an exported copy, by seq: each checked against its digest and, with a key,
 * its signature; one that fails (or repeats a seq) is a problem of the copy and no anchor. The
 * other lines are passed over: the copy is read only for its anchors.
 */
function readExportedCheckpoints(path: string, publicKey: ReportPublicKey | undefined, problems: VerifyProblem[]): Map<number, ExportedCheckpoint> {
  const bySeq = new Map<number, ExportedCheckpoint>();
  for (const { number, text, terminated } of readLines(path)) {
    const problem = (kind: ProblemKind, message: string): void => {
      problems.push({ file: path, line: number, kind, message });
    };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      if (terminated) problem('schema', text === '' ? 'an empty line in the exported copy' : `not JSON: ${(error as Error).message}`);
      continue; // an unterminated last line: a copy still being written
    }
    if (!isObject(value) || value.kind !== 'checkpoint') continue;
    const parsed = reportSchemaFor(value).safeParse(value);
    if (!parsed.success || parsed.data.kind !== 'checkpoint') {
      const issue = parsed.error?.issues[0];
      problem('schema', `an exported checkpoint that is not one by the schema${issue === undefined ? '' : `: ${issue.path.join('.')}: ${issue.message}`}`);
      continue;
    }
    const checkpoint = parsed.data;
    const computed = encodeReportLine(value, checkpoint).digest;
    if (computed !== checkpoint.digest) {
      problem('digest', `the exported checkpoint does not match its digest ${short(checkpoint.digest)} (it hashes to ${short(computed)}): not an anchor`);
      continue;
    }
    if (publicKey !== undefined) {
      const check = verifySignature(checkpoint, publicKey);
      if (!check.valid) {
        problem('signature', `the exported checkpoint: ${check.reason}: not an anchor`);
        continue;
      }
    }
    const seen = bySeq.get(checkpoint.seq);
    if (seen !== undefined) {
      if (seen.digest !== checkpoint.digest) problem('exported', `a second exported checkpoint at seq ${checkpoint.seq} (${short(checkpoint.digest)}; line ${seen.line} has ${short(seen.digest)}): the copy holds more than one chain`);
      continue; // the same record received twice: de-duplicated
    }
    bySeq.set(checkpoint.seq, { seq: checkpoint.seq, digest: checkpoint.digest, line: number });
  }
  return bySeq;
}

/** The line a `chain_resumed` record must name: the line before it when verified, else what its own chain fields say. */
function checkResumed(detail: LifecycleDetail, here: ChainEnd, previous: ChainEnd | undefined): string | undefined {
  const { previousDigest, previousSeq } = detail;
  if (previousDigest === undefined || previousSeq === undefined) return 'a chain_resumed record without detail.previousDigest and detail.previousSeq';
  const expected = previous ?? { digest: here.prevDigest, seq: here.seq - 1 };
  if (previousDigest === expected.digest && previousSeq === expected.seq) return undefined;
  const before = previous === undefined
    ? `its own prevDigest and seq say seq ${expected.seq} (${short(expected.digest)})`
    : `the line before it (${previous.file}:${previous.line}) is seq ${previous.seq} (${short(previous.digest)})`;
  return `chain_resumed names seq ${previousSeq} (${short(previousDigest)}) as the line the chain continues from, but ${before}`;
}

/** Throws the file system's error when a file (or the exported copy) cannot be read. */
export function verifyReportFiles(paths: readonly string[], options: VerifyOptions = {}): VerifyResult {
  const problems: VerifyProblem[] = [];
  const exportedFile = options.checkpoints;
  const anchors = exportedFile === undefined ? undefined : readExportedCheckpoints(exportedFile, options.publicKey, problems);
  let lastAnchor: ExportedCheckpoint | undefined;
  for (const anchor of anchors?.values() ?? []) if (lastAnchor === undefined || anchor.seq > lastAnchor.seq) lastAnchor = anchor;
  let reachedAnchor = false;
  let sawLastAnchorSeq = false;
  let reports = 0;
  let checkpoints = 0;
  let uncovered = 0;
  let closed = false;
  let format2 = false;
  let lastLine: { file: string; line: number } | undefined;
  let signaturesValid = 0;
  let declaredDrops = 0;
  let torn = false;
  let first: ChainEnd | undefined;
  let last: ChainEnd | undefined;
  /** The previous line, as stored; undefined after a line that is not a report. */
  let previous: ChainEnd | undefined;

  paths.forEach((file, fileIndex) => {
    for (const { number, text, terminated } of readLines(file)) {
      const problem = (kind: ProblemKind, message: string): void => {
        problems.push({ file, line: number, kind, message });
      };
      lastLine = { file, line: number };
      closed = false;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        if (!terminated && fileIndex === paths.length - 1) {
          torn = true;
          problem('torn', 'torn last line (an interrupted write), ignored');
        } else {
          problem('schema', text === '' ? 'an empty line' : `not JSON: ${(error as Error).message}`);
          previous = undefined;
        }
        continue;
      }
      let resumedDetail: LifecycleDetail | undefined;
      const parsed = reportSchemaFor(value).safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        problem('schema', `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
        format2 = false;
      } else {
        const report = parsed.data;
        const isCheckpoint = report.kind === 'checkpoint';
        format2 = !('schema' in report) || isCheckpoint;
        if (report.kind === 'lifecycle' && report.event === 'chain_resumed') resumedDetail = report.detail;
        if (isCheckpoint) {
          checkpoints += 1;
          uncovered = 0;
          closed = report.reason === 'close';
          if (report.dropped !== undefined) declaredDrops += report.dropped;
        } else {
          reports += 1;
          if (format2) uncovered += 1;
          if (report.dropped !== undefined) declaredDrops += report.dropped;
        }
        // Of the line as parsed, not of what the schema passed on: one canonical serialization
        // gives both the line the writer would have written and the digest.
        const encoded = encodeReportLine(value as object, report);
        if (encoded.line !== text) problem('noncanonical', noncanonical(text, encoded.line));
        const computed = encoded.digest;
        if (computed !== report.digest) problem('digest', `the content does not match its digest ${short(report.digest)} (it hashes to ${short(computed)}): the report was altered`);
        // Format 1: every line is signed; format 2: every checkpoint (its reports are covered by the next one).
        if (options.publicKey !== undefined && (isCheckpoint || !format2)) {
          const check = verifySignature(report, options.publicKey);
          if (check.valid) signaturesValid += 1;
          else problem('signature', check.reason);
        }
      }

      // The chain, from what the lines say (even a line that failed the schema, if it has the fields).
      const seq = isObject(value) && Number.isSafeInteger(value.seq) ? (value.seq as number) : undefined;
      const digest = isObject(value) && typeof value.digest === 'string' ? value.digest : undefined;
      const prevDigest = isObject(value) && (typeof value.prevDigest === 'string' || value.prevDigest === null) ? value.prevDigest : undefined;
      if (seq === undefined || digest === undefined || prevDigest === undefined) {
        previous = undefined;
        continue;
      }
      const here: ChainEnd = { file, line: number, seq, digest, prevDigest };
      if (previous !== undefined) {
        if (prevDigest !== previous.digest) {
          problem('chain', `prevDigest ${short(prevDigest)} is not the digest of the report before it (${previous.file}:${previous.line}, ${short(previous.digest)}): a report was removed, inserted or moved`);
        }
        if (seq !== previous.seq + 1) {
          const missing = seq - previous.seq - 1;
          problem('sequence', `seq ${seq} follows seq ${previous.seq}${missing > 0 ? `: ${missing} report${missing === 1 ? '' : 's'} missing` : ''}`);
        }
      } else if (first === undefined && (prevDigest === null) !== (seq === 1)) {
        problem('sequence', prevDigest === null ? `the chain starts (prevDigest null) at seq ${seq}, not 1` : 'seq 1 must start a chain, but prevDigest is not null');
      }
      if (resumedDetail !== undefined) {
        const wrong = checkResumed(resumedDetail, here, previous);
        if (wrong !== undefined) problem('resumed', wrong);
      }
      const anchor = anchors?.get(seq);
      if (anchor !== undefined) {
        if (anchor === lastAnchor) sawLastAnchorSeq = true;
        if (anchor.digest !== digest) problem('exported', `seq ${seq} is ${short(digest)} here, but the exported checkpoint at seq ${seq} (${exportedFile}:${anchor.line}) is ${short(anchor.digest)}: the file was rewritten after the export, or the copy is of another chain`);
        else if (anchor === lastAnchor) reachedAnchor = true;
      }
      first ??= here;
      last = here;
      previous = here;
    }
  });

  if (options.requireClosed === true && format2 && !closed && lastLine !== undefined) {
    problems.push({ ...lastLine, kind: 'open', message: `the file does not end with a closing checkpoint (${uncovered} report${uncovered === 1 ? '' : 's'} after the last checkpoint): its writer is still running, stopped without closing, or lines were cut from its end` });
  }
  let exported: ExportedComparison | undefined;
  if (exportedFile !== undefined) {
    const precedesFiles = lastAnchor !== undefined && first !== undefined && first.seq > lastAnchor.seq;
    exported = { file: exportedFile, checkpoints: anchors!.size, last: lastAnchor, reached: reachedAnchor, precedesFiles };
    const where = lastLine ?? { file: paths[paths.length - 1] ?? exportedFile, line: 0 };
    if (lastAnchor === undefined) {
      problems.push({ file: exportedFile, line: 0, kind: 'exported', message: 'the exported copy holds no valid checkpoint: nothing to compare the files with' });
    } else if (last === undefined || last.seq < lastAnchor.seq) {
      const end = last === undefined ? 'the files hold no report' : `the files end at seq ${last.seq} (${last.digest}, ${last.file}:${last.line})`;
      const cut = last === undefined ? '' : ` (at least ${lastAnchor.seq - last.seq} line${lastAnchor.seq - last.seq === 1 ? '' : 's'} missing)`;
      problems.push({ ...where, kind: 'truncated', message: `${end}, before the last exported checkpoint, seq ${lastAnchor.seq} (${lastAnchor.digest}, ${exportedFile}:${lastAnchor.line}): the file was cut after it was exported${cut}` });
    } else if (!sawLastAnchorSeq && !precedesFiles) {
      problems.push({ ...where, kind: 'exported', message: `no line of the files is seq ${lastAnchor.seq}, the last exported checkpoint (${lastAnchor.digest}, ${exportedFile}:${lastAnchor.line})` });
    }
  }
  return { ok: problems.every((p) => p.kind === 'torn'), reports, checkpoints, uncovered, closed, format2, problems, torn, signaturesValid, declaredDrops, first, last, exported };
}
