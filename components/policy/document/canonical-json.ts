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
  try {
    return write(value);
  } catch (error) {
    if (!(error instanceof NotJson)) throw error;
    throw new TypeError(`canonicalJson: ${unrepresentable(value, '$') ?? '$ holds a value'}, which JSON cannot represent`);
  }
}

class NotJson extends Error {}

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
