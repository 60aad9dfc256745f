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
import { foldCase, foldCodePoint } from '../../framing/index.js';

export interface CompiledPointer {
  /** The reference tokens, unescaped (`~1` is `/`, `~0` is `~`). */
  readonly tokens: readonly string[];
  /** Each token as an array index, or -1 when it is not one (decimal, no leading zero). */
  readonly indexes: readonly number[];
  /** Each token case-folded (foldCase), to compare with the members of an object that lacks it. */
  readonly folded: readonly string[];
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/** The compiled form of `pointer`; throws for a pointer that is not RFC 6901. */
export function compilePointer(pointer: string): CompiledPointer {
  if (pointer !== '' && !pointer.startsWith('/')) throw new Error(`JSON pointer ${JSON.stringify(pointer)} must be empty or start with "/"`);
  const tokens = pointer === '' ? [] : pointer.slice(1).split('/').map((token) => {
    if (/~(?![01])/.test(token)) throw new Error(`JSON pointer ${JSON.stringify(pointer)} has a "~" not followed by 0 or 1`);
    return token.replace(/~1/g, '/').replace(/~0/g, '~');
  });
  return Object.freeze({
    tokens: Object.freeze(tokens),
    indexes: Object.freeze(tokens.map((token) => (ARRAY_INDEX.test(token) ? Number(token) : -1))),
    folded: Object.freeze(tokens.map(foldCase)),
  });
}

/** The pointer text of the first `count` tokens (for messages: where a walk stopped). */
function pointerPrefix(pointer: CompiledPointer, count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) text += `/${pointer.tokens[i]!.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  return text;
}

/** What `pointerValue` returns when the member is genuinely missing (a JSON value is never this). */
export const ABSENT: unique symbol = Symbol('absent');
/** What `pointerValue` returns when the walk cannot be followed: the caller must deny. */
export const UNRESOLVED: unique symbol = Symbol('unresolved');

/**
 * The value the pointer resolves to, ABSENT or UNRESOLVED (see the header). Allocates nothing:
 * this is the frame path. `undefined` (no document at all) is ABSENT.
 */
export function pointerValue(document: unknown, pointer: CompiledPointer): unknown {
  if (document === undefined) return ABSENT;
  const tokens = pointer.tokens;
  let current: unknown = document;
  for (let i = 0; i < tokens.length; i++) {
    if (Array.isArray(current)) {
      const index = pointer.indexes[i]!;
      if (index < 0) return UNRESOLVED;
      if (index >= current.length) return ABSENT;
      current = current[index];
    } else if (typeof current === 'object' && current !== null) {
      const token = tokens[i]!;
      // Case folding only when the exact member is missing: the common path pays nothing.
      if (!Object.hasOwn(current, token)) return hasFoldedMember(current, pointer.folded[i]!) ? UNRESOLVED : ABSENT;
      current = (current as Record<string, unknown>)[token];
    } else {
      return UNRESOLVED;
    }
  }
  return current;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
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
