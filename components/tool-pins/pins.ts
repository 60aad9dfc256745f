import { createHash } from 'node:crypto';
import { canonicalJson } from '../values/index.js';

/** The definitions a model reads, by the list that carries them. */
export type DefinitionKind = 'tool' | 'prompt' | 'resourceTemplate';

export const DEFINITION_KINDS: readonly DefinitionKind[] = Object.freeze(['tool', 'prompt', 'resourceTemplate']);

/**
 * What a model reads about each kind of definition: these fields, and only these, are pinned.
 * `title` is pinned for every kind (clients show it to the model as readily as the name);
 * everything else (`icons`, `_meta`, `size`…) may change without a new pin.
 */
export const PINNED_FIELDS: Readonly<Record<DefinitionKind, readonly string[]>> = Object.freeze({
  tool: Object.freeze(['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations']),
  prompt: Object.freeze(['name', 'title', 'description', 'arguments']),
  resourceTemplate: Object.freeze(['uriTemplate', 'name', 'title', 'description', 'mimeType']),
});

/** The member naming a definition (unique within its list). */
export const KEY_FIELD: Readonly<Record<DefinitionKind, string>> = Object.freeze({ tool: 'name', prompt: 'name', resourceTemplate: 'uriTemplate' });

/** Each kind's list method and the result member holding its entries. */
export const LIST_OF: Readonly<Record<DefinitionKind, { readonly method: string; readonly member: string }>> = Object.freeze({
  tool: Object.freeze({ method: 'tools/list', member: 'tools' }),
  prompt: Object.freeze({ method: 'prompts/list', member: 'prompts' }),
  resourceTemplate: Object.freeze({ method: 'resources/templates/list', member: 'resourceTemplates' }),
});

/** A definition as pinned: its key, what a model reads of it, and the digest of that. */
export interface PinnedDefinition {
  readonly kind: DefinitionKind;
  readonly key: string;
  /** `sha256:<hex>` of the canonical JSON of `definition`. */
  readonly pin: string;
  /** The pinned fields the server gave (absent ones left out), as canonical JSON would order them. */
  readonly definition: Readonly<Record<string, unknown>>;
}

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/**
 * Pins one list entry. Undefined when the entry cannot be pinned (not an object, its key not a
 * string, a pinned field JSON cannot carry): whoever checks treats that as a mismatch, never as
 * a match.
 */
export function pinDefinition(kind: DefinitionKind, entry: unknown): PinnedDefinition | undefined {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return undefined;
  const record = entry as Record<string, unknown>;
  const key = record[KEY_FIELD[kind]];
  if (typeof key !== 'string') return undefined;
  const definition: Record<string, unknown> = {};
  for (const field of PINNED_FIELDS[kind]) if (Object.hasOwn(record, field) && record[field] !== undefined) definition[field] = record[field];
  let text: string;
  try {
    text = canonicalJson(definition);
  } catch {
    return undefined;
  }
  return { kind, key, pin: sha256(text), definition: JSON.parse(text) as Record<string, unknown> };
}

/**
 * One digest over a whole list: its keys and pins, sorted by key. A payload split across several
 * descriptions changes it even when each part alone looks harmless, and so does an entry added
 * or removed.
 */
export function listDigest(pins: ReadonlyArray<Pick<PinnedDefinition, 'key' | 'pin'>>): string {
  const pairs = pins.map((p) => [p.key, p.pin] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return sha256(canonicalJson(pairs));
}

/** One difference between a pinned definition and what the server lists now. */
export interface FieldChange {
  /** JSON pointer into the definition (`/description`, `/inputSchema/properties/to`). */
  readonly path: string;
  readonly change: 'added' | 'removed' | 'changed';
}

const MAX_CHANGES = 32;

/**
 * What differs between two pinned definitions, field by field (down into objects, so a schema
 * that gains a property names it); at most 32 changes, the rest left out. Arrays compare whole.
 */
export function diffDefinitions(pinned: unknown, current: unknown): FieldChange[] {
  const changes: FieldChange[] = [];
  walk(pinned, current, '', changes);
  return changes;
}

function walk(a: unknown, b: unknown, path: string, changes: FieldChange[]): void {
  if (changes.length >= MAX_CHANGES) return;
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) {
      const child = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (!Object.hasOwn(a, key)) changes.push({ path: child, change: 'added' });
      else if (!Object.hasOwn(b, key)) changes.push({ path: child, change: 'removed' });
      else walk(a[key], b[key], child, changes);
      if (changes.length >= MAX_CHANGES) return;
    }
    return;
  }
  if (canonicalJson(a) !== canonicalJson(b)) changes.push({ path: path === '' ? '/' : path, change: 'changed' });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `/description changed, /inputSchema/properties/to added`: for logs, tool errors and `pin diff`. */
export function describeChanges(changes: readonly FieldChange[]): string {
  return changes.map((c) => `${c.path} ${c.change}`).join(', ');
}
