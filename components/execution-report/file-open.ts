/**
 * Opening a report file at start, where every problem must be a clear error: the file opened
 * for appending (SIDECAR_ERR_REPORT_SINK for a missing directory, no permission, a directory),
 * enough free space, an incomplete last line (a writer killed mid-line) cut off with a
 * warning, and the last complete report found so the chain continues from it.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { SidecarError } from '../errors/index.js';
import { readFileTail, type LastReport } from './file-tail.js';
import type { SinkLogger } from './sink.js';

export interface OpenedReportFile {
  readonly fd: number;
  /** Bytes in the file once a torn tail is cut off. */
  readonly size: number;
  /** A regular file (not a device or a pipe): it can be read back, truncated and rotated. */
  readonly regular: boolean;
  readonly resume: LastReport | undefined;
}

function sinkError(path: string, error: unknown): SidecarError {
  return new SidecarError('SIDECAR_ERR_REPORT_SINK', `${path}: ${(error as Error).message}`, {
    cause: error,
    hint: 'the directory must exist and the proxy must be allowed to append to the file',
  });
}

function checkFreeSpace(path: string, minFreeBytes: number): void {
  let free: number;
  try {
    const fs = statfsSync(dirname(path));
    free = fs.bavail * fs.bsize;
  } catch {
    return; // no statfs here: the first write will tell
  }
  if (free < minFreeBytes) throw new SidecarError('SIDECAR_ERR_REPORT_SINK', `${path}: no space left on the device (${free} bytes free)`);
}

/**
 * Reports and transcripts hold arguments and results: a file the proxy creates is its user's
 * alone (0600, before the umask). A file that exists keeps its mode (the operator chose it).
 */
export const PRIVATE_FILE_MODE = 0o600;

export function openAtStart(path: string, minFreeBytes: number, logger: SinkLogger): OpenedReportFile {
  let fd: number;
  try {
    fd = openSync(path, 'a', PRIVATE_FILE_MODE);
  } catch (error) {
    throw sinkError(path, error);
  }
  let size = 0;
  let resume: LastReport | undefined;
  let regular = false;
  try {
    regular = fstatSync(fd).isFile();
    checkFreeSpace(path, minFreeBytes);
    if (regular) {
      const tail = readFileTail(path);
      if (tail.size > tail.completeBytes) {
        ftruncateSync(fd, tail.completeBytes);
        logger.warn({ path, removedBytes: tail.size - tail.completeBytes }, 'execution reports: the file ended in an incomplete line (an interrupted write); removed it, the chain continues from the last complete report');
      }
      size = tail.completeBytes;
      resume = tail.last ?? readFileTail(`${path}.1`).last;
    }
  } catch (error) {
    closeSync(fd);
    throw error instanceof SidecarError ? error : sinkError(path, error);
  }
  return { fd, size, regular, resume };
}
