/**
 * Canonical JSON (RFC 8785, JCS): the same value always gives the same text, so a digest of it
 * identifies a policy (and, later, a report) whatever key order or number spelling the source
 * used. Object keys are sorted by UTF-16 code units (what `Array.prototype.sort` does on
 * strings, and what RFC 8785 §3.2.3 asks for); numbers and strings are written the way
 * ECMAScript's JSON.stringify writes them (RFC 8785 §3.2.2 adopts exactly that: `1.0` → `1`,
 * `1e21` → `1e+21`, `-0` → `0`); no whitespace.
 *
 * Only JSON values are accepted: a non-finite number, a bigint, a function, a symbol or
 * `undefined` in an array is a TypeError rather than a silent `null`, because a digest over a
 * value that JSON cannot carry would not be reproducible by anyone else. `undefined` object
 * properties are skipped, as JSON.stringify does: an absent optional field and one set to
 * `undefined` mean the same.
 */
export function canonicalJson(value: unknown): string {
  // Most values (a report's arguments, JSON.parse's output) already have their keys in order:
  // then JSON.stringify writes the same bytes, natively and as one flat string.
  if (isCanonicalAsIs(value)) return JSON.stringify(value);
  try {
    return write(value);
  } catch (error) {
    if (!(error instanceof NotJson)) throw error;
    throw new TypeError(`canonicalJson: ${unrepresentable(value, '$') ?? '$ holds a value'}, which JSON cannot represent`);
  }
}

class NotJson extends Error {}

// The walks below keep their own stack instead of calling themselves: a value is as deep as
// whoever wrote it made it, and a call per level would end in a RangeError (V8's default stack
// holds a few thousand of them) where a digest is taken on a frame's path.

/**
 * How deep a value JSON.stringify is trusted with: V8's native writer recurses too (it throws a
 * RangeError near 4,000 levels with an empty stack), so anything deeper takes `write`.
 */
const NATIVE_DEPTH = 512;

/**
 * True when JSON.stringify(value) is exactly its canonical text: only JSON values (finite
 * numbers, no undefined in arrays, no functions, symbols or bigints), every object plain
 * (prototype Object.prototype or null: no boxed primitive, Date or Map that JSON.stringify
 * would write otherwise) with no toJSON, and every object's own keys in ascending UTF-16 order,
 * which is both the order JSON.stringify writes them in and the order canonical JSON sorts
 * them to, and nesting no deeper than NATIVE_DEPTH. Numbers and strings are written by
 * JSON.stringify in both. A false answer only costs the walk: `write` then does it (and
 * reports what is not JSON).
 */
function isCanonicalAsIs(value: unknown, depth = 0): boolean {
  if (!isPlainMember(value)) return false;
  if (typeof value !== 'object' || value === null) return true;
  // A call per level, but never more than NATIVE_DEPTH of them: deeper is simply not as is.
  if (++depth > NATIVE_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isCanonicalAsIs(value[i], depth)) return false;
    return true;
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && !(keys[i - 1]! < keys[i]!)) return false;
    const member = (value as Record<string, unknown>)[keys[i]!];
    if (member !== undefined && !isCanonicalAsIs(member, depth)) return false; // undefined members: skipped by both
  }
  return true;
}

/** The check of one value that needs nothing of what it holds (an object's members are looked at by the caller). */
function isPlainMember(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
      if (Array.isArray(value)) return Object.getPrototypeOf(value) === Array.prototype;
      const prototype: unknown = Object.getPrototypeOf(value);
      return prototype === Object.prototype || prototype === null;
    }
    default:
      return false;
  }
}

/** A value that holds no other, as canonical JSON; NotJson for what JSON cannot carry. */
function writeScalar(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new NotJson();
      return JSON.stringify(value);
    default:
      throw new NotJson();
  }
}

// The containers `write` has open, one entry per level: the array or object, an object's keys
// sorted (undefined for an array), the next member to write, and how many members were written
// (an object's undefined members are skipped). Kept between calls, so writing allocates only
// its text; `top` starts where the caller's left off, so a nested call could not clobber it.
const openValues: unknown[] = [];
const openKeys: (string[] | undefined)[] = [];
const openNext: number[] = [];
const openWritten: number[] = [];
let openTop = 0;

/** Opens a container at level `openTop`; returns its opening bracket. */
function open(value: object): string {
  const level = openTop++;
  openValues[level] = value;
  openNext[level] = 0;
  openWritten[level] = 0;
  if (Array.isArray(value)) {
    openKeys[level] = undefined;
    return '[';
  }
  const keys = Object.keys(value);
  if (keys.length > 1) keys.sort();
  openKeys[level] = keys;
  return '{';
}

// The hot walk when the value is not canonical as it is (a report's arguments with keys out of
// order): no path strings, no arrays of members.
function write(value: unknown): string {
  if (typeof value !== 'object' || value === null) return writeScalar(value);
  const base = openTop;
  let s = open(value);
  try {
    while (openTop > base) {
      const level = openTop - 1;
      const keys = openKeys[level];
      let member: unknown;
      if (keys === undefined) {
        const array = openValues[level] as unknown[];
        const next = openNext[level]!;
        if (next === array.length) {
          s += ']';
          openValues[--openTop] = undefined; // nothing of the value is kept past the call
          continue;
        }
        member = array[next];
        openNext[level] = next + 1;
        if (openWritten[level]!++ > 0) s += ',';
      } else {
        const object = openValues[level] as Record<string, unknown>;
        let next = openNext[level]!;
        while (next < keys.length && object[keys[next]!] === undefined) next++;
        if (next === keys.length) {
          s += '}';
          openValues[--openTop] = undefined;
          openKeys[openTop] = undefined;
          continue;
        }
        const key = keys[next]!;
        member = object[key];
        openNext[level] = next + 1;
        s += `${openWritten[level]!++ > 0 ? ',' : ''}${JSON.stringify(key)}:`;
      }
      s += typeof member === 'object' && member !== null ? open(member) : writeScalar(member);
    }
  } catch (error) {
    // A value JSON cannot carry: the levels this call opened are closed, and forget their values.
    for (; openTop > base; openTop--) openValues[openTop - 1] = openKeys[openTop - 1] = undefined;
    throw error;
  }
  return s;
}

/** Where the first value JSON cannot carry is, in the order `write` meets it, and what it is. */
function unrepresentable(value: unknown, where: string): string | undefined {
  // Values still to look at, last first, each with where it is.
  const pending: unknown[] = [value];
  const places: string[] = [where];
  while (pending.length > 0) {
    const item = pending.pop();
    const place = places.pop()!;
    switch (typeof item) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (Number.isFinite(item)) continue;
        return `${place} is ${item}`;
      case 'object': {
        if (item === null) continue;
        // Pushed in reverse, so the first member is looked at first.
        if (Array.isArray(item)) {
          for (let i = item.length - 1; i >= 0; i--) {
            pending.push(item[i]);
            places.push(`${place}[${i}]`);
          }
          continue;
        }
        const keys = Object.keys(item).sort();
        for (let i = keys.length - 1; i >= 0; i--) {
          const member = (item as Record<string, unknown>)[keys[i]!];
          if (member === undefined) continue;
          pending.push(member);
          places.push(`${place}.${keys[i]}`);
        }
        continue;
      }
      default:
        return `${place} is ${item === undefined ? 'undefined' : `a ${typeof item}`}`;
    }
  }
  return undefined;
}
