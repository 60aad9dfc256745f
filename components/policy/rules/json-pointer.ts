// RFC 6901 JSON pointers, compiled once into reference tokens and resolved over own
// properties only (a pointer `/__proto__` or `/constructor` never reaches Object.prototype).
//
// Resolution fails closed. A pointer resolves to a value, or is ABSENT only when the walk stops
// at a member an existing object lacks (or an element past the end of an existing array): the
// argument was not given. Whatever else stops the walk is UNRESOLVED, and a rule must deny,
// since a server may see a value the rule never did:
// - a string, number, boolean or null where an object or array is needed (a server that decodes
//   the JSON text `"{\"depth\":99}"` before validating sees `/options/depth`);
// - an array where the token is not an array index (`-`, `01`, `x`);
// - a missing member when another member equals it after case folding (Go's encoding/json v1
//   binds `Depth`, `DEPTH` or `ſ`-for-`s` spellings to the field `depth`).
//
// One extension to RFC 6901, for policies: a token that is exactly `*` means "each element of
// the array here" (`/paths/*`, `/edits/*/path`). Such a pointer resolves to one value per
// element (everyPointerValue); where the walk meets anything but an array at a `*`, that value
// is UNRESOLVED. A member named `*` therefore cannot be named.
import { foldCase, foldCodePoint } from '../../framing/index.js';

export interface CompiledPointer {
  /** The reference tokens, unescaped (`~1` is `/`, `~0` is `~`). */
  readonly tokens: readonly string[];
  /** Each token as an array index, -1 when it is not one (decimal, no leading zero), EACH for `*`. */
  readonly indexes: readonly number[];
  /** Each token case-folded (foldCase), to compare with the members of an object that lacks it. */
  readonly folded: readonly string[];
  /** True when a token is `*`: resolve with everyPointerValue, not pointerValue. */
  readonly each: boolean;
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;
/** The index of a `*` token: each element of an array. */
export const EACH = -2;
/** The token that means "each element" (RFC 6901 has no escape for it: no member named `*` can be named). */
export const EACH_TOKEN = '*';

/** The compiled form of `pointer`; throws for a pointer that is not RFC 6901. */
export function compilePointer(pointer: string): CompiledPointer {
  if (pointer !== '' && !pointer.startsWith('/')) throw new Error(`JSON pointer ${JSON.stringify(pointer)} must be empty or start with "/"`);
  const tokens = pointer === '' ? [] : pointer.slice(1).split('/').map((token) => {
    if (/~(?![01])/.test(token)) throw new Error(`JSON pointer ${JSON.stringify(pointer)} has a "~" not followed by 0 or 1`);
    return token.replace(/~1/g, '/').replace(/~0/g, '~');
  });
  const indexes = tokens.map((token) => (token === EACH_TOKEN ? EACH : ARRAY_INDEX.test(token) ? Number(token) : -1));
  return Object.freeze({
    tokens: Object.freeze(tokens),
    indexes: Object.freeze(indexes),
    folded: Object.freeze(tokens.map(foldCase)),
    each: indexes.includes(EACH),
  });
}

const escapeToken = (token: string): string => token.replace(/~/g, '~0').replace(/\//g, '~1');

/** The pointer text of the first `count` tokens (for messages: where a walk stopped). */
function pointerPrefix(pointer: CompiledPointer, count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) text += `/${escapeToken(pointer.tokens[i]!)}`;
  return text;
}

/** What `pointerValue` returns when the member is genuinely missing (a JSON value is never this). */
export const ABSENT: unique symbol = Symbol('absent');
/** What `pointerValue` returns when the walk cannot be followed: the caller must deny. */
export const UNRESOLVED: unique symbol = Symbol('unresolved');

/** One step of a walk: the value under token `i` of `current`, ABSENT or UNRESOLVED (not for EACH). */
function step(current: unknown, pointer: CompiledPointer, i: number): unknown {
  if (Array.isArray(current)) {
    const index = pointer.indexes[i]!;
    if (index < 0) return UNRESOLVED;
    return index >= current.length ? ABSENT : current[index];
  }
  if (typeof current === 'object' && current !== null) {
    const token = pointer.tokens[i]!;
    // Case folding only when the exact member is missing: the common path pays nothing.
    if (!Object.hasOwn(current, token)) return hasFoldedMember(current, pointer.folded[i]!) ? UNRESOLVED : ABSENT;
    return (current as Record<string, unknown>)[token];
  }
  return UNRESOLVED;
}

/**
 * The value the pointer resolves to, ABSENT or UNRESOLVED (see the header). Allocates nothing:
 * this is the frame path. `undefined` (no document at all) is ABSENT. A pointer with a `*`
 * has no single value: UNRESOLVED (use everyPointerValue).
 */
export function pointerValue(document: unknown, pointer: CompiledPointer): unknown {
  if (document === undefined) return ABSENT;
  if (pointer.each) return UNRESOLVED;
  const tokens = pointer.tokens;
  let current: unknown = document;
  for (let i = 0; i < tokens.length; i++) {
    current = step(current, pointer, i);
    if (current === ABSENT || current === UNRESOLVED) return current;
  }
  return current;
}

/**
 * Whether `test` accepts every value the pointer resolves to, in document order, stopping at
 * the first it refuses. A `*` visits each element of the array it meets (an empty array: no
 * value at all, so nothing is refused); anything else at a `*` is one UNRESOLVED value; a walk
 * that stops before or after a `*` gives one ABSENT or UNRESOLVED value, as pointerValue does.
 * `test` sees ABSENT and UNRESOLVED like any value. Allocates nothing (`test` is compiled once).
 */
export function everyPointerValue(document: unknown, pointer: CompiledPointer, test: (value: unknown) => boolean): boolean {
  if (document === undefined) return test(ABSENT);
  return walkEach(document, pointer, 0, test);
}

function walkEach(current: unknown, pointer: CompiledPointer, from: number, test: (value: unknown) => boolean): boolean {
  const tokens = pointer.tokens;
  for (let i = from; i < tokens.length; i++) {
    if (pointer.indexes[i] === EACH) {
      if (!Array.isArray(current)) return test(UNRESOLVED);
      for (let k = 0; k < current.length; k++) {
        if (!walkEach(current[k], pointer, i + 1, test)) return false;
      }
      return true;
    }
    current = step(current, pointer, i);
    if (current === ABSENT || current === UNRESOLVED) return test(current);
  }
  return test(current);
}

/**
 * The first value `test` refuses (everyPointerValue gave false), with the pointer that names
 * it: each `*` replaced by the element's index, except a `*` where no array was found, which
 * stays (`/paths/*` when `paths` is an object). Only for the deny path: it allocates.
 */
export function firstRefused(document: unknown, pointer: CompiledPointer, test: (value: unknown) => boolean): { pointer: string; value: unknown } | undefined {
  if (document === undefined) return test(ABSENT) ? undefined : { pointer: pointerPrefix(pointer, pointer.tokens.length), value: ABSENT };
  return findRefused(document, pointer, 0, '', test);
}

function findRefused(current: unknown, pointer: CompiledPointer, from: number, prefix: string, test: (value: unknown) => boolean): { pointer: string; value: unknown } | undefined {
  const tokens = pointer.tokens;
  let path = prefix;
  for (let i = from; i < tokens.length; i++) {
    if (pointer.indexes[i] === EACH) {
      if (!Array.isArray(current)) {
        return test(UNRESOLVED) ? undefined : { pointer: path + pointerSuffix(pointer, i), value: UNRESOLVED };
      }
      for (let k = 0; k < current.length; k++) {
        const refused = findRefused(current[k], pointer, i + 1, `${path}/${k}`, test);
        if (refused !== undefined) return refused;
      }
      return undefined;
    }
    current = step(current, pointer, i);
    if (current === ABSENT || current === UNRESOLVED) {
      return test(current) ? undefined : { pointer: path + pointerSuffix(pointer, i), value: current };
    }
    path += `/${escapeToken(tokens[i]!)}`;
  }
  return test(current) ? undefined : { pointer: path, value: current };
}

/** The pointer text of the tokens from `from` on. */
function pointerSuffix(pointer: CompiledPointer, from: number): string {
  let text = '';
  for (let i = from; i < pointer.tokens.length; i++) text += `/${escapeToken(pointer.tokens[i]!)}`;
  return text;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Why `pointerValue` gave UNRESOLVED, after the pointer in a message (`cannot be resolved:
 * /options is a string, not an object or array`): where the walk stopped and the type found
 * there, never a value. `root` names the document (`the arguments object`). Only for the deny path.
 */
export function describeUnresolved(document: unknown, pointer: CompiledPointer, root: string): string {
  const tokens = pointer.tokens;
  let current: unknown = document;
  for (let i = 0; i < tokens.length; i++) {
    const where = i === 0 ? root : pointerPrefix(pointer, i);
    if (pointer.indexes[i] === EACH) {
      // firstRefused keeps a `*` only where no array was found.
      if (!Array.isArray(current)) return `cannot be resolved: ${where} is ${typeName(current)}, not an array`;
      break;
    }
    if (Array.isArray(current)) {
      const index = pointer.indexes[i]!;
      if (index < 0) return `cannot be resolved: ${where} is an array and ${JSON.stringify(tokens[i])} is not an array index`;
      if (index >= current.length) break;
      current = current[index];
    } else if (typeof current === 'object' && current !== null) {
      if (!Object.hasOwn(current, tokens[i]!)) {
        if (hasFoldedMember(current, pointer.folded[i]!)) {
          return `is ambiguous: ${where} has no member ${JSON.stringify(tokens[i])} but one equal to it ignoring case`;
        }
        break;
      }
      current = (current as Record<string, unknown>)[tokens[i]!];
    } else {
      return `cannot be resolved: ${where} is ${typeName(current)}, not an object or array`;
    }
  }
  return 'cannot be resolved';
}

// Simple case folding lives in framing (the envelope reader folds member names the same way).
export { foldCase, foldCodePoint };

/** True when `text` case-folds to `folded` (already folded). Allocates only for non-ASCII code points. */
function foldsTo(text: string, folded: string): boolean {
  if (text.length !== folded.length) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const want = folded.charCodeAt(i);
    if (code < 0x80) {
      if ((code >= 0x41 && code <= 0x5a ? code + 0x20 : code) !== want) return false;
      continue;
    }
    const codePoint = text.codePointAt(i)!;
    const wanted = folded.codePointAt(i)!;
    if (foldCodePoint(codePoint) !== wanted) return false;
    if (codePoint > 0xffff) i++;
  }
  return true;
}

/**
 * True when `object` has an own member, other than one named exactly as the token, that
 * case-folds to `folded` (the token folded). Called only when the exact member is missing.
 */
export function hasFoldedMember(object: object, folded: string): boolean {
  for (const key in object) {
    if (foldsTo(key, folded) && Object.hasOwn(object, key)) return true;
  }
  return false;
}
