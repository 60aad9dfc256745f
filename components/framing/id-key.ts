// Request ids are compared by value, as a JSON.parse peer reads them: `"a"` and `"\u0061"`,
// `7`, `7.0` and `70e-1`, `-0` and `0` name the same request. The envelope reader gives each
// frame's key (Envelope.key) and refuses ids that peers could read differently; these are for
// ids met elsewhere (a cancelled request's `requestId`, ids the proxy writes itself).

const MAX_SAFE_ID = Number.MAX_SAFE_INTEGER;

/** The key of an id given as JSON text; undefined when it is not a string or a number peers read alike. */
export function idKey(rawId: string): string | undefined {
  try {
    return idKeyOfValue(JSON.parse(rawId));
  } catch {
    return undefined;
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The key of a parsed id value; undefined when it is not a string (whole code points) or a number within ±2^53. */
export function idKeyOfValue(value: unknown): string | undefined {
  // A lone surrogate is read differently by peers (kept, or replaced by U+FFFD): no key.
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? undefined : JSON.stringify(value);
  if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= MAX_SAFE_ID) return String(value);
  return undefined;
}
