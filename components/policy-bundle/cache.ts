import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The last known good bundle's file name in --policy-cache-dir. */
export const CACHE_FILE = 'policy-bundle';

/** The cached bundle as served, or undefined when there is none. Other read errors throw. */
export function readCachedBundle(dir: string): Uint8Array | undefined {
  try {
    return readFileSync(join(dir, CACHE_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Replaces the cached bundle atomically: a temporary file (0600: a policy may name what it
 * guards), synced, renamed over the old one, the folder synced. A crash leaves the old bundle
 * or the new one, never half of one.
 */
export function writeCachedBundle(dir: string, bundle: Uint8Array): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const target = join(dir, CACHE_FILE);
  const temporary = `${target}.${process.pid}.tmp`;
  // A leftover from a crash of a process with this pid (pid 1 in every container) goes first: 'wx' sets the mode.
  rmSync(temporary, { force: true });
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    let written = 0;
    while (written < bundle.length) written += writeSync(fd, bundle, written);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, target);
  const folder = openSync(dir, 'r');
  try {
    fsyncSync(folder);
  } finally {
    closeSync(folder);
  }
}
