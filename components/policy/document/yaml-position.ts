/**
 * Finds where in the YAML source a document path (`['rules', 2, 'tools', 'allow', 0]`) was
 * written, so a validation error can name the line and column. The path is walked through the
 * parsed YAML tree; where it leaves the tree (a missing key, an alias, a scalar where a mapping
 * was expected) the nearest node that exists is used, so every error still has a position.
 */
import { isMap, isScalar, isSeq, visit, type Document, type LineCounter, type Node, type Pair, type YAMLError } from 'yaml';
import type { PolicyError } from './policy-error.js';

export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** `key`: point at the key of the last segment (an unknown or invalid key) rather than its value. */
export type PointAt = 'key' | 'value';

export function positionOf(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[], at: PointAt): SourcePosition {
  const { line, col } = lineCounter.linePos(offsetOf(doc, path, at));
  return { line, column: col };
}

function offsetOf(doc: Document, path: readonly PropertyKey[], at: PointAt): number {
  let node: unknown = doc.contents;
  let offset = startOf(node) ?? 0;
  for (const [index, segment] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item) === String(segment));
      if (!pair) break;
      const keyOffset = startOf(pair.key);
      if (last && at === 'key' && keyOffset !== undefined) return keyOffset;
      node = pair.value;
      // An empty value (`name:` and nothing after it) has no text of its own: point at its key.
      offset = (isEmptyScalar(pair.value) ? keyOffset : startOf(pair.value)) ?? keyOffset ?? offset;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      node = item;
      offset = startOf(item) ?? offset;
    } else {
      break;
    }
  }
  return offset;
}

function keyText(pair: Pair): string {
  const key = pair.key;
  return isScalar(key) ? String(key.value) : String(key);
}

function startOf(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}

function isEmptyScalar(node: unknown): boolean {
  if (node === null) return true;
  const range = isScalar(node) && node.value === null ? node.range : undefined;
  return range != null && range[0] === range[1];
}

/** The text of the mapping key that starts at `offset` (yaml reports a duplicate key by its offset only). */
export function keyAt(doc: Document, offset: number): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (startOf(pair.key) !== offset) return undefined;
      found = keyText(pair);
      return visit.BREAK;
    },
  });
  return found;
}

/** Offsets of mapping keys that are not plain values (`? [a, b]: x`, or an empty key): a policy has none. */
export function nonScalarKeys(doc: Document): Array<{ offset: number; found: string }> {
  const found: Array<{ offset: number; found: string }> = [];
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value !== null) return;
      const offset = startOf(pair.key) ?? startOf(pair.value) ?? 0;
      found.push({ offset, found: isMap(pair.key) ? 'a mapping' : isSeq(pair.key) ? 'a list' : 'an empty key' });
    },
  });
  return found;
}

/** A YAML parse problem as an error at its line and column (a duplicate key named as such). */
export function yamlError(file: string, doc: Document, lineCounter: LineCounter, problem: YAMLError): PolicyError {
  const { line, col } = lineCounter.linePos(problem.pos[0]);
  const key = problem.code === 'DUPLICATE_KEY' ? keyAt(doc, problem.pos[0]) : undefined;
  const message = key !== undefined ? `duplicate key ${JSON.stringify(key)} (keys in a mapping must be unique)` : `invalid YAML: ${problem.message}`;
  return { file, line, column: col, path: '', message };
}

/** Freezes a value read from a file, all the way down: what was validated cannot change after. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
