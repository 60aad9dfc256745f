/**
 * Building blocks of the policy schema: the value types that several sections share (globs,
 * JSON pointers, RE2 patterns, byte sizes) and the "at least one of" / "exactly one of" key
 * rules. Each carries its own message, worded "expected …, found …", and — where JSON Schema
 * can say the same — the matching JSON Schema keywords, so docs/policy.schema.json and the
 * validator never disagree.
 */
import type { RE2JS } from 're2js';
import { z } from 'zod';
import { byteSizeExpected, FRAME_BYTES, readByteSize } from '../../values/index.js';
import { count, describeFound, expected, expectedMessage, listNames } from './describe.js';
import { loadRe2 } from './re2.js';

/**
 * Refinements run even when an earlier part of the same value failed (zod skips them by
 * default), so one pass reports every error in a file. They must therefore expect any input.
 */
export const ALWAYS = { when: () => true } as const;

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The keys of `keys` that `value` has (set to anything but undefined). */
export function presentKeys(value: unknown, keys: readonly string[]): string[] {
  return isMapping(value) ? keys.filter((key) => value[key] !== undefined) : [];
}

/** The object must have at least one of `keys` (`methods` needs allow or deny). */
export function requireSome<T extends z.ZodType>(schema: T, keys: readonly string[]): T {
  return schema
    .superRefine((value, ctx) => {
      if (isMapping(value) && presentKeys(value, keys).length === 0) {
        ctx.addIssue({ code: 'custom', message: `expected at least one of: ${listNames(keys)}, found none`, input: value });
      }
    }, ALWAYS)
    .meta({ anyOf: keys.map((key) => ({ required: [key] })) });
}

/** The object must have exactly one of `keys` (`rateLimit` limits tools or methods, not both). */
export function requireOne<T extends z.ZodType>(schema: T, keys: readonly string[]): T {
  return schema
    .superRefine((value, ctx) => {
      const present = presentKeys(value, keys);
      if (!isMapping(value) || present.length === 1) return;
      const found = present.length === 0 ? 'none' : `${count(present.length, 'key')}: ${listNames(present)}`;
      ctx.addIssue({ code: 'custom', message: `expected exactly one of: ${listNames(keys)}, found ${found}`, input: value });
    }, ALWAYS)
    .meta({ oneOf: keys.map((key) => ({ required: [key] })) });
}

/** A glob over method, tool or prompt names or resource URIs (`*` any run, `?` one character). */
export const glob = z.string().min(1).meta({ description: 'A glob: `*` matches any run of characters (`/` included), `?` one character.' });
export const globList = z.array(glob).min(1);

/**
 * RFC 6901: `/a/b`, with `~0` for `~` and `~1` for `/` in a segment. The whole document (`""`) is
 * not a property. One extension: a segment `*` is each element of an array (`/paths/*`); never
 * the first, since the arguments are an object and `/*` could only deny every call.
 */
const JSON_POINTER = /^(?!\/\*(\/|$))(\/([^/~]|~[01])*)+$/;
const pointerError = expected('a JSON pointer such as "/path", "/options/depth" or "/paths/*" (with "~0" for "~", "~1" for "/", and "*" for each element of an array, but not first)');
export const jsonPointer = z.string(pointerError).regex(JSON_POINTER, pointerError).meta({
  description: 'A JSON pointer (RFC 6901) into the arguments: `/path`, `/options/depth`, `/files/0`; `~0` is `~` and `~1` is `/`. A segment `*` is each element of the array there (`/paths/*`, `/edits/*/path`): every element must pass, an empty array passes, anything but an array there is denied.',
});

/**
 * A regular expression in RE2 syntax, compiled here so a bad one stops the load, with RE2's
 * own explanation (RE2 is loaded by the first pattern: re2.ts). RE2 (re2js) matches in linear
 * time, so no pattern in a policy can stall the proxy on a crafted input the way a
 * backtracking `(a+)+$` does in JavaScript's RegExp.
 */
export const re2Pattern = z
  .string()
  .superRefine((pattern, ctx) => void compileRe2(pattern, ctx))
  .meta({ description: 'A regular expression in RE2 syntax (https://github.com/google/re2/wiki/Syntax): no backreferences or lookaround.' });

/** The compiled pattern, or undefined with an issue saying why RE2 refuses it. */
function compileRe2(pattern: string, ctx: z.RefinementCtx): RE2JS | undefined {
  try {
    return loadRe2().compile(pattern);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    ctx.addIssue({ code: 'custom', message: `expected a regular expression in RE2 syntax, found ${describeFound(pattern)} (${reason})`, input: pattern });
    return undefined;
  }
}

/**
 * A pattern whose matches a redaction replaces: RE2, and never matching the empty string (a
 * match of nothing would have nothing to replace, at every position of every string).
 */
export const redactionPattern = z
  .string(expected('a non-empty regular expression in RE2 syntax'))
  .min(1, expected('a non-empty regular expression in RE2 syntax'))
  .superRefine((pattern, ctx) => {
    if (pattern === '') return; // reported by min(1)
    const compiled = compileRe2(pattern, ctx);
    if (compiled?.testExact('')) {
      ctx.addIssue({ code: 'custom', message: `expected a pattern that matches at least one character, found ${describeFound(pattern)}, which matches the empty string`, input: pattern });
    }
  })
  .meta({ description: 'A regular expression in RE2 syntax (https://github.com/google/re2/wiki/Syntax) that does not match the empty string.' });

/** Same bounds and units as --max-frame-bytes (components/values, read by config too). */
const SIZE_TEXT = /^\s*\d+\s*([kKmMgG][iI]?[bB]|[bB])?\s*$/;
const sizeExpected = byteSizeExpected(FRAME_BYTES);

const sizeError = expected(sizeExpected);

export const byteSize = z
  .union([z.int(sizeError).min(FRAME_BYTES.min, sizeError).max(FRAME_BYTES.max, sizeError), z.string(sizeError).regex(SIZE_TEXT, sizeError)], sizeError)
  .transform((value, ctx) => {
    // A string the pattern lets through can still be out of bounds (`2GiB`): that check is the validator's.
    const bytes = readByteSize(String(value), FRAME_BYTES);
    if (bytes !== undefined) return bytes;
    ctx.issues.push({ code: 'custom', message: expectedMessage(sizeExpected, value), input: value });
    return z.NEVER;
  })
  .meta({ description: `${sizeExpected[0]!.toUpperCase()}${sizeExpected.slice(1)}: \`1048576\`, \`512KiB\`, \`1MiB\`.` });
