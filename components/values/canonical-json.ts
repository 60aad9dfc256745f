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

/**
 * True when JSON.stringify(value) is exactly its canonical text: only JSON values (finite
 * numbers, no undefined in arrays, no functions, symbols or bigints), every object plain
 * (prototype Object.prototype or null: no boxed primitive, Date or Map that JSON.stringify
 * would write otherwise) with no toJSON, and every object's own keys in ascending UTF-16 order,
 * which is both the order JSON.stringify writes them in and the order canonical JSON sorts
 * them to. Numbers and strings are written by JSON.stringify in both. A false answer only
 * costs the walk: `write` then does it (and reports what is not JSON).
 */
function isCanonicalAsIs(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        for (let i = 0; i < value.length; i++) if (!isCanonicalAsIs(value[i])) return false;
        return true;
      }
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return false;
      const keys = Object.keys(value);
      for (let i = 0; i < keys.length; i++) {
        if (i > 0 && !(keys[i - 1]! < keys[i]!)) return false;
        const member = (value as Record<string, unknown>)[keys[i]!];
        if (member !== undefined && !isCanonicalAsIs(member)) return false; // undefined members: skipped by both
      }
      return true;
    }
    default:
      return false;
  }
}

// The hot walk (a report's arguments, every call): no path strings, no arrays of members.
function write(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new NotJson();
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let s = '[';
        for (let i = 0; i < value.length; i++) s += (i === 0 ? '' : ',') + write(value[i]);
        return `${s}]`;
      }
      const keys = Object.keys(value);
      if (keys.length > 1) keys.sort();
      let s = '{';
      for (const key of keys) {
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined) continue;
        s += `${s.length === 1 ? '' : ','}${JSON.stringify(key)}:${write(member)}`;
      }
      return `${s}}`;
    }
    default:
      throw new NotJson();
  }
}

/** Where the first value JSON cannot carry is, in the order `write` meets it, and what it is. */
function unrepresentable(value: unknown, where: string): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${where} is ${value}`;
    case 'object': {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const found = unrepresentable(value[i], `${where}[${i}]`);
          if (found !== undefined) return found;
        }
        return undefined;
      }
      for (const key of Object.keys(value).sort()) {
        const member = (value as Record<string, unknown>)[key];
        const found = member === undefined ? undefined : unrepresentable(member, `${where}.${key}`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    default:
      return `${where} is ${value === undefined ? 'undefined' : `a ${typeof value}`}`;
  }
}
