import { canonicalJson } from '../values/index.js';
import { DEFINITION_KINDS, diffDefinitions, listDigest, pinDefinition, sha256, type DefinitionKind, type FieldChange, type PinnedDefinition } from './pins.js';

export const LOCK_FORMAT = 'mcp-sidecar-pins/1';

/**
 * A lock file: every definition the server listed, pinned, and one digest per list. Written as
 * JSON with one definition per line (sorted by kind, then key), so a change is a one-line diff.
 */
export interface PinLock {
  readonly format: typeof LOCK_FORMAT;
  /** Each kind's list digest (listDigest over its pins). */
  readonly lists: Readonly<Record<DefinitionKind, string>>;
  readonly definitions: readonly PinnedDefinition[];
}

/** What a server listed: each kind's entries, every page joined. */
export type ListedDefinitions = Readonly<Record<DefinitionKind, readonly unknown[]>>;

export class PinLockError extends Error {
  constructor(readonly source: string, detail: string) {
    super(`${source}: ${detail}`);
    this.name = 'PinLockError';
  }
}

/** Pins everything listed. An entry that cannot be pinned, or two with one key, is an error: a lock must be exact. */
export function buildLock(listed: ListedDefinitions): PinLock {
  const definitions: PinnedDefinition[] = [];
  const lists = {} as Record<DefinitionKind, string>;
  for (const kind of DEFINITION_KINDS) {
    const pins: PinnedDefinition[] = [];
    const seen = new Set<string>();
    for (const [index, entry] of listed[kind].entries()) {
      const pinned = pinDefinition(kind, entry);
      if (pinned === undefined) throw new PinLockError('the server', `${kind} #${index} cannot be pinned (not an object with a string ${kind === 'resourceTemplate' ? 'uriTemplate' : 'name'}, or not JSON)`);
      if (seen.has(pinned.key)) throw new PinLockError('the server', `it lists ${kind} ${JSON.stringify(pinned.key)} twice`);
      seen.add(pinned.key);
      pins.push(pinned);
    }
    lists[kind] = listDigest(pins);
    definitions.push(...pins.sort((a, b) => compareKeys(a.key, b.key)));
  }
  return { format: LOCK_FORMAT, lists, definitions };
}

/** The lock's text: canonical JSON, one definition per line. */
export function formatLock(lock: PinLock): string {
  const head = `{"format":${JSON.stringify(lock.format)},"lists":${canonicalJson(lock.lists)},"definitions":[`;
  const lines = lock.definitions.map((d) => canonicalJson({ kind: d.kind, key: d.key, pin: d.pin, definition: d.definition }));
  return `${head}\n${lines.join(',\n')}${lines.length > 0 ? '\n' : ''}]}\n`;
}

/**
 * Reads a lock file's text, checking everything: the format, each definition's pin against its
 * own definition (a hand-edited definition or pin is refused), the list digests against the
 * definitions, no key twice. `source` names the file in errors.
 */
export function parseLock(text: string, source: string): PinLock {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PinLockError(source, `not JSON (${(error as Error).message})`);
  }
  if (!isRecord(value)) throw new PinLockError(source, 'not a JSON object');
  if (value['format'] !== LOCK_FORMAT) throw new PinLockError(source, `format ${JSON.stringify(value['format'] ?? null)}: expected ${JSON.stringify(LOCK_FORMAT)}`);
  const lists = value['lists'];
  const definitions = value['definitions'];
  if (!isRecord(lists)) throw new PinLockError(source, '"lists" must be an object');
  if (!Array.isArray(definitions)) throw new PinLockError(source, '"definitions" must be an array');
  const byKind = new Map<DefinitionKind, PinnedDefinition[]>(DEFINITION_KINDS.map((kind) => [kind, []]));
  const read: PinnedDefinition[] = [];
  for (const [index, entry] of definitions.entries()) {
    const where = `definitions[${index}]`;
    if (!isRecord(entry)) throw new PinLockError(source, `${where} is not an object`);
    const kind = entry['kind'];
    if (typeof kind !== 'string' || !(DEFINITION_KINDS as readonly string[]).includes(kind)) throw new PinLockError(source, `${where}.kind must be one of ${DEFINITION_KINDS.join(', ')}`);
    const repinned = pinDefinition(kind as DefinitionKind, entry['definition']);
    if (repinned === undefined) throw new PinLockError(source, `${where}.definition cannot be pinned`);
    if (repinned.key !== entry['key']) throw new PinLockError(source, `${where}.key ${JSON.stringify(entry['key'])} is not its definition's ${JSON.stringify(repinned.key)}`);
    if (repinned.pin !== entry['pin']) throw new PinLockError(source, `${where} (${kind} ${JSON.stringify(repinned.key)}): its pin is not the digest of its definition (edited by hand?)`);
    const same = byKind.get(repinned.kind)!;
    if (same.some((d) => d.key === repinned.key)) throw new PinLockError(source, `${kind} ${JSON.stringify(repinned.key)} is pinned twice`);
    same.push(repinned);
    read.push(repinned);
  }
  const digests = {} as Record<DefinitionKind, string>;
  for (const kind of DEFINITION_KINDS) {
    const expected = listDigest(byKind.get(kind)!);
    if (lists[kind] !== expected) throw new PinLockError(source, `lists.${kind} is not the digest of its ${kind} definitions`);
    digests[kind] = expected;
  }
  return { format: LOCK_FORMAT, lists: digests, definitions: read };
}

/** How one listed entry stands against the lock. */
export type PinVerdict =
  | { readonly status: 'pinned'; readonly key: string; readonly pin: string }
  | { readonly status: 'changed'; readonly key: string; readonly pin: string; readonly expected: string; readonly changes: readonly FieldChange[] }
  | { readonly status: 'unknown'; readonly key: string; readonly pin: string }
  /** Not pinnable at all (not an object, no string key, not JSON): never passes as pinned. */
  | { readonly status: 'unreadable'; readonly key: string | undefined };

/** A lock ready for checking: pinned definitions by kind and key. */
export class PinIndex {
  readonly lock: PinLock;
  readonly #byKind: ReadonlyMap<DefinitionKind, ReadonlyMap<string, PinnedDefinition>>;

  constructor(lock: PinLock) {
    this.lock = lock;
    this.#byKind = new Map(DEFINITION_KINDS.map((kind) => [kind, new Map(lock.definitions.filter((d) => d.kind === kind).map((d) => [d.key, d]))]));
  }

  /** The pinned definition, if any. */
  get(kind: DefinitionKind, key: string): PinnedDefinition | undefined {
    return this.#byKind.get(kind)!.get(key);
  }

  /** Keys pinned for a kind. */
  keys(kind: DefinitionKind): IterableIterator<string> {
    return this.#byKind.get(kind)!.keys();
  }

  /** Checks one listed entry. */
  check(kind: DefinitionKind, entry: unknown): PinVerdict {
    const current = pinDefinition(kind, entry);
    if (current === undefined) {
      const key = isRecord(entry) && typeof entry[kind === 'resourceTemplate' ? 'uriTemplate' : 'name'] === 'string' ? entry[kind === 'resourceTemplate' ? 'uriTemplate' : 'name'] as string : undefined;
      return { status: 'unreadable', key };
    }
    const pinned = this.get(kind, current.key);
    if (pinned === undefined) return { status: 'unknown', key: current.key, pin: current.pin };
    if (pinned.pin === current.pin) return { status: 'pinned', key: current.key, pin: current.pin };
    return { status: 'changed', key: current.key, pin: current.pin, expected: pinned.pin, changes: diffDefinitions(pinned.definition, current.definition) };
  }
}

/** What changed between two locks (or a lock and what a server lists now): for `pin diff`. */
export interface LockDiff {
  readonly changed: ReadonlyArray<{ readonly kind: DefinitionKind; readonly key: string; readonly expected: string; readonly actual: string; readonly changes: readonly FieldChange[] }>;
  readonly added: ReadonlyArray<{ readonly kind: DefinitionKind; readonly key: string; readonly pin: string }>;
  readonly removed: ReadonlyArray<{ readonly kind: DefinitionKind; readonly key: string; readonly pin: string }>;
  /** Lists whose digest differs. */
  readonly lists: readonly DefinitionKind[];
}

export function diffLocks(before: PinLock, after: PinLock): LockDiff {
  const old = new PinIndex(before);
  const now = new PinIndex(after);
  const changed: Array<LockDiff['changed'][number]> = [];
  const added: Array<LockDiff['added'][number]> = [];
  const removed: Array<LockDiff['removed'][number]> = [];
  for (const d of after.definitions) {
    const was = old.get(d.kind, d.key);
    if (was === undefined) added.push({ kind: d.kind, key: d.key, pin: d.pin });
    else if (was.pin !== d.pin) changed.push({ kind: d.kind, key: d.key, expected: was.pin, actual: d.pin, changes: diffDefinitions(was.definition, d.definition) });
  }
  for (const d of before.definitions) if (now.get(d.kind, d.key) === undefined) removed.push({ kind: d.kind, key: d.key, pin: d.pin });
  return { changed, added, removed, lists: DEFINITION_KINDS.filter((kind) => before.lists[kind] !== after.lists[kind]) };
}

export function lockDigest(lock: PinLock): string {
  return sha256(formatLock(lock));
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
