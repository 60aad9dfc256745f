/**
 * The end of a report file, read backwards: where its last complete line ends and what that
 * line's report was, so a new session continues the chain (`seq` + 1, `prevDigest` = its
 * digest) and never appends to an incomplete line left by a killed writer.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { SidecarError } from '../errors/index.js';
import { DIGEST_PATTERN } from './digest.js';

export interface LastReport {
  readonly seq: number;
  readonly digest: string;
}

export interface FileTail {
  /** The last complete line's report; undefined when the file has no complete line. */
  readonly last: LastReport | undefined;
  /** Bytes up to and including the last newline: what remains once a torn tail is cut off. */
  readonly completeBytes: number;
  readonly size: number;
}

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

/** The offset of the last newline before `end` in the file open at `fd`, or -1. */
export function lastNewline(fd: number, end: number): number {
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (let stop = end; stop > 0;) {
    const start = Math.max(0, stop - CHUNK);
    const read = readSync(fd, buffer, 0, stop - start, start);
    const at = buffer.subarray(0, read).lastIndexOf(NEWLINE);
    if (at >= 0) return start + at;
    stop = start;
  }
  return -1;
}

/** Reads the tail of a regular file; a missing file is an empty one. Throws SIDECAR_ERR_REPORT_SINK when the last complete line is not a report. */
export function readFileTail(path: string): FileTail {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { last: undefined, completeBytes: 0, size: 0 };
    throw new SidecarError('SIDECAR_ERR_REPORT_SINK', `${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { last: undefined, completeBytes: 0, size: 0 };
    const end = lastNewline(fd, stat.size);
    if (end < 0) return { last: undefined, completeBytes: 0, size: stat.size };
    const start = lastNewline(fd, end) + 1;
    const line = Buffer.allocUnsafe(end - start);
    readSync(fd, line, 0, line.length, start);
    return { last: parseLast(path, line.toString('utf8')), completeBytes: end + 1, size: stat.size };
  } finally {
    closeSync(fd);
  }
}

function parseLast(path: string, line: string): LastReport {
  let report: { seq?: unknown; digest?: unknown } | undefined;
  try {
    report = JSON.parse(line) as typeof report;
  } catch {
    // reported below
  }
  const seq = report?.seq;
  const digest = report?.digest;
  if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 1 && typeof digest === 'string' && DIGEST_PATTERN.test(digest)) return { seq, digest };
  throw new SidecarError('SIDECAR_ERR_REPORT_SINK', `${path}: the last line is not an execution report, so the chain cannot be continued`, {
    hint: `check it with \`mcp-sidecar report verify ${path}\`, or report to a new file`,
  });
}

/** The last report written to `path`, or (for a file just rotated, still empty) to `path.1`. */
export function lastReportInFile(path: string): LastReport | undefined {
  return readFileTail(path).last ?? readFileTail(`${path}.1`).last;
}
