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
 */
import { encodeReportLine, firstDifference } from './canonical-line.js';
import { readLines } from './line-reader.js';
import { reportSchemaFor } from './schema.js';
import { verifySignature, type ReportPublicKey } from './sign.js';

export type ProblemKind = 'schema' | 'noncanonical' | 'digest' | 'chain' | 'signature' | 'torn' | 'sequence' | 'open';

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
}

export interface VerifyOptions {
  readonly publicKey?: ReportPublicKey;
  /** A file that does not end with a closing checkpoint is a problem (`open`), not a note. */
  readonly requireClosed?: boolean;
}

const short = (digest: unknown): string => (typeof digest === 'string' ? `${digest.slice(0, 19)}…` : String(digest));
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function noncanonical(line: string, canonical: string): string {
  const d = firstDifference(line, canonical)!;
  const where = d.path === undefined ? 'after the report' : d.path === '' ? 'the top level' : d.path;
  return `not the canonical encoding of its content, from byte ${d.byte} (${where}): the line has \`${d.found}\` where the writer writes \`${d.expected}\``
    + ': a duplicated key, a key out of order, whitespace, or another spelling of a string or number';
}

/** Throws the file system's error when a file cannot be read. */
export function verifyReportFiles(paths: readonly string[], options: VerifyOptions = {}): VerifyResult {
  const problems: VerifyProblem[] = [];
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
      const parsed = reportSchemaFor(value).safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        problem('schema', `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
        format2 = false;
      } else {
        const report = parsed.data;
        const isCheckpoint = report.kind === 'checkpoint';
        format2 = !('schema' in report) || isCheckpoint;
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
      first ??= here;
      last = here;
      previous = here;
    }
  });

  if (options.requireClosed === true && format2 && !closed && lastLine !== undefined) {
    problems.push({ ...lastLine, kind: 'open', message: `the file does not end with a closing checkpoint (${uncovered} report${uncovered === 1 ? '' : 's'} after the last checkpoint): its writer is still running, stopped without closing, or lines were cut from its end` });
  }
  return { ok: problems.every((p) => p.kind === 'torn'), reports, checkpoints, uncovered, closed, format2, problems, torn, signaturesValid, declaredDrops, first, last };
}
