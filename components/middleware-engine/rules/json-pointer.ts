// RFC 6901 JSON pointers, compiled once into reference tokens and resolved over own
// properties only (a pointer `/__proto__` or `/constructor` never reaches Object.prototype).

export type CompiledPointer = readonly string[];

/** The reference tokens of `pointer`; throws for a pointer that is not RFC 6901. */
export function compilePointer(pointer: string): CompiledPointer {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`JSON pointer ${JSON.stringify(pointer)} must be empty or start with "/"`);
  return pointer.slice(1).split('/').map((token) => {
    if (/~(?![01])/.test(token)) throw new Error(`JSON pointer ${JSON.stringify(pointer)} has a "~" not followed by 0 or 1`);
    return token.replace(/~1/g, '/').replace(/~0/g, '~');
  });
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/** What `pointerValue` returns when a token does not resolve (a JSON value is never this). */
export const ABSENT: unique symbol = Symbol('absent');

/** The value the pointer resolves to, or ABSENT; allocates nothing (the frame path's form). */
export function pointerValue(document: unknown, tokens: CompiledPointer): unknown {
  if (document === undefined) return ABSENT;
  let current: unknown = document;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(token)) return ABSENT;
      const index = Number(token);
      if (index >= current.length) return ABSENT;
      current = current[index];
    } else if (typeof current === 'object' && current !== null) {
      if (!Object.hasOwn(current, token)) return ABSENT;
      current = (current as Record<string, unknown>)[token];
    } else {
      return ABSENT;
    }
  }
  return current;
}

/** `{ found: true, value }` when every token resolves, else `{ found: false }`. */
export function resolvePointer(document: unknown, tokens: CompiledPointer): { found: true; value: unknown } | { found: false } {
  const value = pointerValue(document, tokens);
  return value === ABSENT ? { found: false } : { found: true, value };
}
