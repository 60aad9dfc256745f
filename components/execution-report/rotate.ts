/**
 * Size rotation of a report file, logrotate style: `file.N-1` → `file.N` (the oldest beyond
 * `keep` is replaced), …, `file.1` → `file.2`, `file` → `file.1`; then a new `file` is opened.
 * Lines are never split across files, and the chain does not restart: the first report of the
 * new file names the last digest of `file.1`, so `report verify file.2 file.1 file` checks the
 * whole chain.
 */
import { close, existsSync, fsync, open, rename, write } from 'node:fs';
import { PRIVATE_FILE_MODE } from './file-open.js';

const renameAsync = (from: string, to: string): Promise<void> =>
  new Promise((resolve, reject) => rename(from, to, (error) => (error ? reject(error) : resolve())));

/**
 * How many rotated files `path.1` … `path.n` exist without a gap, counted once at open (at most
 * `keep` checks) and then kept in memory: a rotation renames only those (issue 19: keep 1000 cost
 * 999 renames per rotation, nearly all of files that did not exist).
 */
export function countRotatedFiles(path: string, keep: number): number {
  let n = 0;
  while (n < keep && existsSync(`${path}.${n + 1}`)) n++;
  return n;
}

/**
 * Shifts `path` → `path.1` → … → `path.keep`, renaming only the `existing` rotated files (the
 * oldest beyond `keep` is replaced); returns how many rotated files exist afterwards. A file
 * that went missing meanwhile (removed by hand) is no error.
 */
export async function shiftRotatedFiles(path: string, keep: number, existing: number, io: SinkIo = FS_IO): Promise<number> {
  const rename = io.rename ?? renameAsync;
  for (let i = Math.min(existing, keep - 1); i >= 1; i--) {
    try {
      await rename(`${path}.${i}`, `${path}.${i + 1}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  await rename(path, `${path}.1`);
  return Math.min(existing + 1, keep);
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
