// components/tool-pins/state-file.ts — trust on first use: a lock that grows.
//
// The state file is a lock file (`mcp-sidecar-pins/1`, read by parseLock) with one more member,
// `pending`: changed definitions awaiting `mcp-sidecar pin approve`. Several proxies may share one
// file (one per agent workload, each with `--tool-pins-state`), so every change is a
// read-merge-write under an exclusive lock file (`<state>.lock`, created with O_EXCL): the file is
// re-read inside the lock, so no process overwrites what another added. Re-reading alone would
// leave a window between the read and the rename where one update is lost. Writes are rare (a
// first listing, a change), so the lock is taken synchronously and held for a few milliseconds.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { canonicalJson } from '../values/index.js';
import { buildLock, formatLock, parseLock, PinIndex, PinLockError, type PinLock } from './lock-file.js';
import { DEFINITION_KINDS, listDigest, pinDefinition, type DefinitionKind, type PinnedDefinition } from './pins.js';

const STATE_FILE_MODE = 0o600;
/** How long a writer waits for another process's lock before giving up (an error, never a silent skip). */
const DEFAULT_LOCK_TIMEOUT_MS = 5_000;
/** A lock file older than this is taken over even when its owner cannot be checked (another host). */
const STALE_LOCK_MS = 30_000;
const LOCK_RETRY_MS = 5;

export interface PinStateOptions {
  /** How long to wait for another process holding the state file's lock (default 5000 ms). */
  readonly lockTimeoutMs?: number;
}

interface StateContents {
  readonly lock: PinLock;
  readonly pending: readonly PinnedDefinition[];
}

/** Where a state file was when last read: a change by another process shows as a different stamp. */
interface FileStamp {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

export class PinState {
  readonly path: string;
  readonly #lockTimeoutMs: number;
  #contents: StateContents;
  #index: PinIndex;
  #stamp: FileStamp | undefined;

  private constructor(path: string, contents: StateContents, stamp: FileStamp | undefined, lockTimeoutMs: number) {
    this.path = path;
    this.#contents = contents;
    this.#index = new PinIndex(contents.lock);
    this.#stamp = stamp;
    this.#lockTimeoutMs = lockTimeoutMs;
  }

  /** Opens (or creates, empty) the state file: the same format as a lock file plus `pending`. A corrupt file is a PinLockError (never silently reset). */
  static open(path: string, options: PinStateOptions = {}): PinState {
    const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    const existing = readState(path);
    if (existing !== undefined) return new PinState(path, existing.contents, existing.stamp, lockTimeoutMs);
    const created = withFileLock(path, lockTimeoutMs, () => {
      const raced = readState(path);
      if (raced !== undefined) return raced;
      const empty: StateContents = { lock: emptyLock(), pending: [] };
      writeState(path, empty);
      return { contents: empty, stamp: stampOf(path) };
    });
    return new PinState(path, created.contents, created.stamp, lockTimeoutMs);
  }

  /** What is pinned now (checked against like a lock). */
  get index(): PinIndex {
    return this.#index;
  }

  /** Definitions awaiting `pin approve`. */
  get pending(): readonly PinnedDefinition[] {
    return this.#contents.pending;
  }

  /**
   * Re-reads the file when another process changed it (`pin approve`, another proxy's first use):
   * one stat when it did not. Returns whether anything was re-read. A file that became corrupt
   * is a PinLockError; the pins held so far stay in force.
   */
  refresh(): boolean {
    const stamp = stampOf(this.path);
    if (stamp !== undefined && this.#stamp !== undefined && sameStamp(stamp, this.#stamp)) return false;
    const read = readState(this.path);
    if (read === undefined) throw new PinLockError(this.path, 'the state file was removed');
    this.#adopt(read.contents, read.stamp);
    return true;
  }

  /** Pins definitions never seen before (trust on first use); persists atomically (write a temp file in the same directory, fsync, rename; mode 0600). Returns those added. */
  trust(definitions: readonly PinnedDefinition[]): PinnedDefinition[] {
    const candidates = definitions.map(checked);
    return this.#update((current) => {
      const index = new PinIndex(current.lock);
      const added: PinnedDefinition[] = [];
      const addedKeys = new Set<string>();
      for (const definition of candidates) {
        const id = qualifiedKey(definition);
        if (index.get(definition.kind, definition.key) !== undefined || addedKeys.has(id)) continue;
        addedKeys.add(id);
        added.push(definition);
      }
      if (added.length === 0) return { result: added };
      return { result: added, next: { lock: lockOf([...current.lock.definitions, ...added]), pending: current.pending } };
    });
  }

  /** Records a changed definition awaiting approval (what `pin approve` accepts); persists. Idempotent for the same pin. */
  propose(definition: PinnedDefinition): void {
    const proposed = checked(definition);
    this.#update((current) => {
      // Approved meanwhile (by `pin approve` or another proxy): nothing is pending any more.
      if (current.lock.definitions.some((d) => d.kind === proposed.kind && d.key === proposed.key && d.pin === proposed.pin)) return { result: undefined };
      const same = current.pending.find((d) => d.kind === proposed.kind && d.key === proposed.key);
      if (same?.pin === proposed.pin) return { result: undefined };
      // One pending definition per key: the latest the server listed is the one to review.
      const pending = [...current.pending.filter((d) => d !== same), proposed].sort(byKindThenKey);
      return { result: undefined, next: { lock: current.lock, pending } };
    });
  }

  /** The read-merge-write: under the file lock, on what the file holds now, not on what this process read before. */
  #update<T>(change: (current: StateContents) => { result: T; next?: StateContents }): T {
    return withFileLock(this.path, this.#lockTimeoutMs, () => {
      const read = readState(this.path) ?? { contents: { lock: emptyLock(), pending: [] }, stamp: undefined };
      const { result, next } = change(read.contents);
      if (next === undefined) {
        this.#adopt(read.contents, read.stamp);
        return result;
      }
      writeState(this.path, next);
      this.#adopt(next, stampOf(this.path));
      return result;
    });
  }

  #adopt(contents: StateContents, stamp: FileStamp | undefined): void {
    if (contents.lock !== this.#contents.lock) this.#index = new PinIndex(contents.lock);
    this.#contents = contents;
    this.#stamp = stamp;
  }
}

/** `mcp-sidecar pin approve <state-file> <name>`: moves the pending definition(s) named `key` (any kind, or `kind:key`) into the pinned set; returns what was approved; throws PinLockError naming what is pending when nothing matches. */
export function approvePending(path: string, key: string, options: PinStateOptions = {}): PinnedDefinition[] {
  return withFileLock(path, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, () => {
    const read = readState(path);
    if (read === undefined) throw new PinLockError(path, 'no such state file');
    const { lock, pending } = read.contents;
    const approved = pending.filter((d) => d.key === key || qualifiedKey(d) === key);
    if (approved.length === 0) {
      const waiting = pending.length === 0 ? 'nothing is pending' : `pending: ${pending.map(qualifiedKey).join(', ')}`;
      throw new PinLockError(path, `nothing pending is named ${JSON.stringify(key)} (${waiting})`);
    }
    const replaced = new Set(approved.map(qualifiedKey));
    const definitions = [...lock.definitions.filter((d) => !replaced.has(qualifiedKey(d))), ...approved];
    writeState(path, { lock: lockOf(definitions), pending: pending.filter((d) => !replaced.has(qualifiedKey(d))) });
    return approved;
  });
}

/** `kind:key`: how the commands and errors name a definition unambiguously. */
export function qualifiedKey(definition: Pick<PinnedDefinition, 'kind' | 'key'>): string {
  return `${definition.kind}:${definition.key}`;
}

/** The state file's text: the lock's text with `pending` after the definitions, one per line alike. */
export function formatState(lock: PinLock, pending: readonly PinnedDefinition[]): string {
  const lockText = formatLock(lock);
  // formatLock ends with `]}\n`: the definitions' array closes, then the object.
  const withoutClose = lockText.slice(0, lockText.length - '}\n'.length);
  const lines = pending.map((d) => canonicalJson({ kind: d.kind, key: d.key, pin: d.pin, definition: d.definition }));
  return `${withoutClose},"pending":[\n${lines.join(',\n')}${lines.length > 0 ? '\n' : ''}]}\n`;
}

/** Reads a state file's text: the lock part as parseLock does, then each pending definition re-pinned. */
export function parseState(text: string, source: string): { lock: PinLock; pending: PinnedDefinition[] } {
  const lock = parseLock(text, source);
  const value = JSON.parse(text) as Record<string, unknown>;
  const raw = value['pending'] ?? [];
  if (!Array.isArray(raw)) throw new PinLockError(source, '"pending" must be an array');
  const pending: PinnedDefinition[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of raw.entries()) {
    const where = `pending[${index}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new PinLockError(source, `${where} is not an object`);
    const record = entry as Record<string, unknown>;
    const kind = record['kind'];
    if (typeof kind !== 'string' || !(DEFINITION_KINDS as readonly string[]).includes(kind)) throw new PinLockError(source, `${where}.kind must be one of ${DEFINITION_KINDS.join(', ')}`);
    const repinned = pinDefinition(kind as DefinitionKind, record['definition']);
    if (repinned === undefined) throw new PinLockError(source, `${where}.definition cannot be pinned`);
    if (repinned.key !== record['key'] || repinned.pin !== record['pin']) throw new PinLockError(source, `${where} (${kind} ${JSON.stringify(repinned.key)}): its key or pin is not its definition's (edited by hand?)`);
    if (seen.has(qualifiedKey(repinned))) throw new PinLockError(source, `${kind} ${JSON.stringify(repinned.key)} is pending twice`);
    seen.add(qualifiedKey(repinned));
    pending.push(repinned);
  }
  return { lock, pending };
}

function emptyLock(): PinLock {
  return buildLock({ tool: [], prompt: [], resourceTemplate: [] });
}

/** A lock over these definitions, sorted and digested as buildLock would. */
function lockOf(definitions: readonly PinnedDefinition[]): PinLock {
  const lists = {} as Record<DefinitionKind, string>;
  for (const kind of DEFINITION_KINDS) lists[kind] = listDigest(definitions.filter((d) => d.kind === kind));
  return { format: emptyLock().format, lists, definitions: [...definitions].sort(byKindThenKey) };
}

function byKindThenKey(a: PinnedDefinition, b: PinnedDefinition): number {
  const kinds = DEFINITION_KINDS.indexOf(a.kind) - DEFINITION_KINDS.indexOf(b.kind);
  if (kinds !== 0) return kinds;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** A definition handed in by a caller, re-pinned: a pin that is not its definition's never enters the file. */
function checked(definition: PinnedDefinition): PinnedDefinition {
  const repinned = pinDefinition(definition.kind, definition.definition);
  if (repinned === undefined || repinned.key !== definition.key || repinned.pin !== definition.pin) {
    throw new PinLockError('pin state', `${definition.kind} ${JSON.stringify(definition.key)}: its pin is not the digest of its definition`);
  }
  return repinned;
}

function readState(path: string): { contents: StateContents; stamp: FileStamp | undefined } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PinLockError(path, `cannot be read (${(error as Error).message})`);
  }
  const stamp = stampOf(path);
  const { lock, pending } = parseState(text, path);
  return { contents: { lock, pending }, stamp };
}

function stampOf(path: string): FileStamp | undefined {
  try {
    const stat = statSync(path);
    return { ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs };
  } catch {
    return undefined;
  }
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/**
 * Replaces the file atomically: a temporary file beside it (same file system, so the rename is
 * atomic), written, fsynced, renamed over it, then the directory fsynced so the rename survives a
 * crash. A reader sees the old file or the new one, never a part.
 */
function writeState(path: string, contents: StateContents): void {
  const text = formatState(contents.lock, contents.pending);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temporary, 'wx', STATE_FILE_MODE);
  try {
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // Already renamed or never written: nothing is left to remove.
    }
    throw new PinLockError(path, `cannot be written (${(error as Error).message})`);
  }
  syncDirectory(dirname(path));
}

function syncDirectory(directory: string): void {
  let fd: number;
  try {
    fd = openSync(directory, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    closeSync(fd);
  }
}

const lockWait = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `critical` holding `<path>.lock` (created with O_EXCL, holding the owner's pid and host
 * name). A lock whose owner is gone (same host name, its pid no longer runs, or is this process:
 * a synchronous critical section never overlaps itself) or that is older than 30 s is taken
 * over; one held by a live process, or by another host (another container: its pids are not
 * ours to check), is waited for, up to `timeoutMs`, then a PinLockError.
 */
function withFileLock<T>(path: string, timeoutMs: number, critical: () => T): T {
  const lockPath = `${path}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(lockPath, 'wx', STATE_FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new PinLockError(path, `cannot take its lock ${lockPath} (${(error as Error).message})`);
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, `${process.pid} ${hostname()}\n`);
      } finally {
        closeSync(fd);
      }
      try {
        return critical();
      } finally {
        try {
          unlinkSync(lockPath);
        } catch {
          // Removed as stale by another process: it holds its own lock now.
        }
      }
    }
    if (isStaleLock(lockPath)) {
      try {
        unlinkSync(lockPath);
      } catch {
        // Another process took it over first; try again.
      }
      continue;
    }
    if (Date.now() >= deadline) throw new PinLockError(path, `another process holds its lock ${lockPath} (waited ${timeoutMs} ms; remove the file if no mcp-sidecar uses this state)`);
    Atomics.wait(lockWait, 0, 0, LOCK_RETRY_MS);
  }
}

function isStaleLock(lockPath: string): boolean {
  let text: string;
  let mtimeMs: number;
  try {
    text = readFileSync(lockPath, 'utf8');
    mtimeMs = statSync(lockPath).mtimeMs;
  } catch {
    return false;
  }
  if (Date.now() - mtimeMs > STALE_LOCK_MS) return true;
  const [pidText, host] = text.trim().split(' ');
  const pid = Number.parseInt(pidText ?? '', 10);
  // Being written this very moment (empty), not a pid, or another host's: wait, it is young.
  if (!Number.isSafeInteger(pid) || pid <= 0 || host !== hostname()) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
