import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statSync, type BigIntStats } from 'node:fs';

/**
 * What tells a file's contents apart without reading them: replacing the file (a new inode) or
 * writing to it (new size, mtime or ctime, and ctime cannot be set back) changes one of these.
 */
export interface FileIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

/** How the pin reaches the file; injected by tests to count the hashing. */
export interface PinFileAccess {
  /** The file's identity now, through symlinks as exec follows them. */
  identify(path: string): FileIdentity;
  /** The identity and the sha256 of the contents, through one descriptor so both describe the same file. */
  hash(path: string): { readonly identity: FileIdentity; readonly sha256: string };
  /** Wall-clock milliseconds, the clock file timestamps are taken from. */
  now(): number;
}

/** Why the executable may not run: the reasons of a refusal at start (`LaunchDecision`). */
export interface PinRefusal {
  readonly reason: 'digest_mismatch' | 'not_found';
  readonly message: string;
}

export interface ExecutablePin {
  readonly path: string;
  readonly sha256: string;
  /** Undefined while the file still has the pinned contents; otherwise why it may not run. */
  check(): PinRefusal | undefined;
}

// A file written within a timestamp tick of being hashed could be written again within that tick
// and keep its identity (Linux stamps files with a coarse clock; some filesystems to the second or
// two). Such a file is hashed again at every check until it is older than this, as git does with
// "racily clean" entries.
const RACY_WINDOW_MS = 2_000;

const READ_CHUNK_BYTES = 1 << 20;

const identityOf = (stats: BigIntStats): FileIdentity => ({ dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs });

function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

export const fileAccess: PinFileAccess = {
  identify: (path) => identityOf(statSync(path, { bigint: true })),
  hash(path) {
    const fd = openSync(path, 'r');
    try {
      // The identity before the read: a write during or after it changes the identity, so the
      // next check hashes again.
      const identity = identityOf(fstatSync(fd, { bigint: true }));
      const hash = createHash('sha256');
      // In chunks: an executable may be a 100 MB binary, and a sidecar should not hold it in memory.
      const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      for (let read; (read = readSync(fd, buffer, 0, buffer.length, null)) > 0;) hash.update(buffer.subarray(0, read));
      return { identity, sha256: hash.digest('hex') };
    } finally {
      closeSync(fd);
    }
  },
  now: () => Date.now(),
};

/**
 * Pins `path` to contents with this sha256, for every spawn, not only the first: the file is
 * hashed when first checked and hashed again only when its identity has changed since, so a
 * check of an unchanged file is one stat. `command` names what is refused in messages.
 */
export function pinExecutable(path: string, sha256: string, command: string, access: PinFileAccess = fileAccess): ExecutablePin {
  const pinned = sha256.toLowerCase();
  let verified: FileIdentity | undefined;

  function check(): PinRefusal | undefined {
    try {
      if (verified !== undefined && sameIdentity(access.identify(path), verified)) return undefined;
      verified = undefined;
      const { identity, sha256: digest } = access.hash(path);
      if (digest !== pinned) {
        return { reason: 'digest_mismatch', message: `refused to start ${command}: ${path} has sha256 ${digest}, but ${pinned} is pinned` };
      }
      if (access.now() - Number(identity.ctimeNs / 1_000_000n) > RACY_WINDOW_MS) verified = identity;
      return undefined;
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      // Gone is what a spawn of a removed executable would say (exit 69); unreadable cannot be vouched for.
      if (code === 'ENOENT' || code === 'ENOTDIR') return { reason: 'not_found', message: `cannot start ${command}: ${path} no longer exists` };
      return { reason: 'digest_mismatch', message: `refused to start ${command}: the sha256 of ${path} cannot be checked (${message})` };
    }
  }

  return { path, sha256: pinned, check };
}
