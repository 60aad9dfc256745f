/**
 * Size rotation of a report file, logrotate style: `file.N-1` → `file.N` (the oldest beyond
 * `keep` is replaced), …, `file.1` → `file.2`, `file` → `file.1`; then a new `file` is opened.
 * Lines are never split across files, and the chain does not restart: the first report of the
 * new file names the last digest of `file.1`, so `report verify file.2 file.1 file` checks the
 * whole chain.
 */
import { close, fsync, open, rename, write } from 'node:fs';
import { PRIVATE_FILE_MODE } from './file-open.js';

const renameAsync = (from: string, to: string): Promise<void> =>
  new Promise((resolve, reject) => rename(from, to, (error) => (error ? reject(error) : resolve())));

/** Shifts `path` → `path.1` → … → `path.keep`. A missing file in the middle is no error. */
export async function shiftRotatedFiles(path: string, keep: number): Promise<void> {
  for (let i = keep - 1; i >= 1; i--) {
    try {
      await renameAsync(`${path}.${i}`, `${path}.${i + 1}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  await renameAsync(path, `${path}.1`);
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
}

export const FS_IO: SinkIo = {
  write: (fd, data, offset, length) =>
    new Promise((resolve, reject) => write(fd, data, offset, length, null, (error, written) => (error ? reject(error) : resolve(written)))),
  fsync: (fd) => new Promise((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve()))),
};
