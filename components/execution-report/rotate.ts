/**
 * Size rotation of a report file, logrotate style: `file.N-1` → `file.N` (the oldest beyond
 * `keep` is replaced), …, `file.1` → `file.2`, `file` → `file.1`; then a new `file` is opened.
 * Lines are never split across files, and the chain does not restart: the first report of the
 * new file names the last digest of `file.1`, so `report verify file.2 file.1 file` checks the
 * whole chain.
 */
import { close, existsSync, fsync, open, rename, renameSync, unlink, write } from 'node:fs';
import { PRIVATE_FILE_MODE } from './file-open.js';

const renameAsync = (from: string, to: string): Promise<void> =>
  new Promise((resolve, reject) => rename(from, to, (error) => (error ? reject(error) : resolve())));

/**
 * How many rotated files `path.1` … `path.n` exist without a gap, counted once at open (at most
 * `keep` checks) and then kept in memory: a rotation renames only those (issue 19: keep 1000 cost
 * 999 renames per rotation, nearly all of files that did not exist).
 */
export function countRotatedFiles(path: string, keep: number): number {
  // Guarded (an export runs), every rotated file counts, also beyond `keep` (kept for the export), so the shift moves them rather than replacing one.
  if (rotationGuards.has(path)) return closeRotationGaps(path);
  let n = 0;
  while (n < keep && existsSync(`${path}.${n + 1}`)) n++;
  return n;
}

/** Consecutive missing names after which no rotated file is looked for. */
const GAP_SCAN = 8;

/**
 * A proxy killed in the middle of a rotation leaves one name missing (`path.3` moved to
 * `path.4`, `path.2` not yet to `path.3`); a later rotation would then replace the file past the
 * gap. Guarded, the files are moved down over the gaps at open, newest first (each to a name that
 * is free or its own), keeping their order; returns how many there are.
 */
function closeRotationGaps(path: string): number {
  const present: number[] = [];
  for (let index = 1, missing = 0; missing < GAP_SCAN; index++) {
    if (existsSync(`${path}.${index}`)) {
      present.push(index);
      missing = 0;
    } else {
      missing += 1;
    }
  }
  present.forEach((index, k) => {
    if (index !== k + 1) renameSync(`${path}.${index}`, `${path}.${k + 1}`);
  });
  return present.length;
}

/**
 * What rotation asks before it lets the oldest files go (`--report-export`: a file the export
 * cursor has not passed is never deleted, docs/report.md "Export").
 */
export interface RotationGuard {
  /** Of the `existing` rotated files `path.1` … `path.existing`, the highest index still needed (0: none of them). */
  oldestNeeded(existing: number): number;
}

const rotationGuards = new Map<string, RotationGuard>();

/** Guards the rotation of the report file at `path` until the returned function is called. Register before the sink opens. */
export function guardRotation(path: string, guard: RotationGuard): () => void {
  rotationGuards.set(path, guard);
  return () => {
    if (rotationGuards.get(path) === guard) rotationGuards.delete(path);
  };
}

const unlinkAsync = (path: string): Promise<void> =>
  new Promise((resolve, reject) => unlink(path, (error) => (error && error.code !== 'ENOENT' ? reject(error) : resolve())));

/**
 * Shifts `path` → `path.1` → … → `path.keep`, renaming only the `existing` rotated files (the
 * oldest beyond `keep` is replaced); returns how many rotated files exist afterwards. A file
 * that went missing meanwhile (removed by hand) is no error.
 */
export async function shiftRotatedFiles(path: string, keep: number, existing: number, io: SinkIo = FS_IO): Promise<number> {
  const rename = io.rename ?? renameAsync;
  // The highest index that moves up rather than going: `keep − 1`, or further when a guard still needs older files.
  const needed = rotationGuards.get(path)?.oldestNeeded(existing) ?? 0;
  const last = Math.min(existing, Math.max(keep - 1, needed));
  // Beyond it, only files a guard kept past `keep` earlier and no longer needs (the move of `last` replaces `last + 1`).
  for (let i = existing; i > last + 1; i--) await unlinkAsync(`${path}.${i}`);
  for (let i = last; i >= 1; i--) {
    try {
      await rename(`${path}.${i}`, `${path}.${i + 1}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  await rename(path, `${path}.1`);
  return last + 1;
}

export const openAppend = (path: string): Promise<number> =>
  new Promise((resolve, reject) => open(path, 'a', PRIVATE_FILE_MODE, (error, fd) => (error ? reject(error) : resolve(fd))));

export const closeFd = (fd: number): Promise<void> =>
  new Promise((resolve) => close(fd, () => resolve()));

/** The file operations the sink does on its descriptor; tests replace them (a slow disk, a failing one). */
export interface SinkIo {
  /** Writes from `data[offset, offset+length)` at the end of the file; resolves with the bytes written. */
  write(fd: number, data: Buffer, offset: number, length: number): Promise<number>;
  fsync(fd: number): Promise<void>;
  /** Renames a rotated file (default: fs.rename); tests count the calls. */
  rename?(from: string, to: string): Promise<void>;
}

export const FS_IO: SinkIo = {
  write: (fd, data, offset, length) =>
    new Promise((resolve, reject) => write(fd, data, offset, length, null, (error, written) => (error ? reject(error) : resolve(written)))),
  fsync: (fd) => new Promise((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve()))),
};
