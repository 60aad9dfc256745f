// Opening a transcript file at start, where every problem must be a clear error. A transcript
// is appended to: a proxy that restarts with the same --record path adds a new recording (its
// own header) instead of destroying the last one. Two things are checked first: a file that is
// not a transcript is never appended to (a mistyped path must not damage another file), and a
// last line cut short by a killed proxy is removed, so the new header starts on a line of its own.
import { closeSync, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { SidecarError } from '../errors/index.js';
import { lastNewline } from '../execution-report/index.js';
import { TRANSCRIPT_FORMAT, type TranscriptLogger } from './types.js';

/** A transcript holds every frame: a file the proxy creates is its user's alone (an existing file keeps its mode). */
const PRIVATE_FILE_MODE = 0o600;

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

function sinkError(path: string, detail: string, cause?: unknown): SidecarError {
  return new SidecarError('SIDECAR_ERR_REPORT_SINK', `transcript ${path}: ${detail}`, {
    cause,
    hint: 'the directory must exist, the proxy must be allowed to append to the file, and an existing file must be a transcript',
  });
}

// Every header starts with these bytes (record-line.ts writes its keys in this order).
const HEADER_START = Buffer.from(`{"type":"header","format":"${TRANSCRIPT_FORMAT}"`);

/** Whether the file starts with a transcript header (a torn one too: only its start is read). */
function startsAsTranscript(fd: number): boolean {
  const buffer = Buffer.alloc(HEADER_START.length);
  const read = readSync(fd, buffer, 0, buffer.length, 0);
  return read === buffer.length && buffer.equals(HEADER_START);
}

/** Opens `path` for appending: the descriptor, or SIDECAR_ERR_REPORT_SINK. */
export function openTranscriptFile(path: string, logger: TranscriptLogger): number {
  let fd: number;
  try {
    fd = openSync(path, 'a', PRIVATE_FILE_MODE);
  } catch (error) {
    throw sinkError(path, (error as Error).message, error);
  }
  try {
    if (!fstatSync(fd).isFile()) return fd; // a pipe or a device: nothing to read back
    const reader = openSync(path, 'r');
    try {
      const size = fstatSync(reader).size;
      if (size === 0) return fd;
      if (!startsAsTranscript(reader)) throw sinkError(path, 'the file exists and is not a transcript; refusing to append to it');
      const complete = lastNewline(reader, size) + 1; // bytes up to and including the last newline
      if (complete < size) {
        ftruncateSync(fd, complete);
        logger.warn({ path, removedBytes: size - complete }, 'transcript: the file ended in an incomplete line (an interrupted write); removed it');
      }
    } finally {
      closeSync(reader);
    }
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error instanceof SidecarError ? error : sinkError(path, (error as Error).message, error);
  }
}
