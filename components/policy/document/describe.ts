/**
 * Words for error messages: what a value written in YAML looks like to the person who wrote
 * it ("a list", "the number 5", `"abc"`), and lists of names. Shared by the schema's own
 * messages and the issue formatter so every message says "expected …, found …" the same way.
 */

const MAX_SHOWN = 60;

/** How a value that failed validation is shown after "found". */
export function describeFound(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  switch (typeof value) {
    case 'string': {
      const shown = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
      return JSON.stringify(shown);
    }
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return `the boolean ${value}`;
    case 'object':
      return 'a mapping';
    default:
      return `a ${typeof value}`;
  }
}

/** `a, b, c` with each name as written (keys, kinds, enum values). */
export function listNames(names: readonly unknown[]): string {
  return names.map((name) => (typeof name === 'string' ? name : JSON.stringify(name))).join(', ');
}

/** The article-led name of a zod `expected` type, in the words of a YAML author. */
export function describeExpectedType(expected: string): string {
  switch (expected) {
    case 'object':
    case 'record':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'int':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'a boolean (true or false)';
    default:
      return expected;
  }
}

/** `1 entry`, `3 entries`. */
export function count(n: number | bigint, singular: string, plural = `${singular}s`): string {
  return `${n} ${Number(n) === 1 ? singular : plural}`;
}

/**
 * A zod `error` option for a value that must be `what`: "expected <what>, found <value>", or,
 * when the key is absent, "required key is missing (expected <what>)".
 */
export function expected(what: string): { error: (issue: { readonly input?: unknown }) => string } {
  return { error: (issue) => expectedMessage(what, issue.input) };
}

export function expectedMessage(what: string, input: unknown): string {
  return input === undefined ? `required key is missing (expected ${what})` : `expected ${what}, found ${describeFound(input)}`;
}
