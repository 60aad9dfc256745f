// `arguments: { tool, properties, required, forbidden, reply }` — constraints on the arguments
// of the tools whose name matches `tool`. Each property is a JSON pointer into
// `params.arguments`; an absent property is checked only by `required`.
//
// Fails closed: a pointer the rule cannot follow (json-pointer.ts: a JSON-text string where an
// object is needed, a case-folded spelling of a missing member…) denies, whichever list it is
// in; so does a call whose tool name cannot be read, since the rule cannot tell whether it
// governs it.
//
// A pointer with a `*` token (`/paths/*`: each element of the array) is checked element by
// element: every element must meet what the pointer's list asks, an empty array meets it, and
// at a `*` anything but an array cannot be resolved (denied). The message names the first
// element that fails by its index (`argument /paths/2 must be a path under /workspace/`).
//
// A constraint implies the type it needs: `pattern`, `maxLength` and `pathPrefix` fail on a
// value that is not a string, `minimum`/`maximum` on one that is not a number. A policy that
// says "at most 100" about an argument does not let an object through because an object has no
// magnitude. Messages name the pointer and what was wrong, never the value (it may be a secret).
import type { ArgumentConstraint, ArgumentsRule } from '../document/document.js';
import type { FrameContext, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';
import { compileGlob } from '../engine/glob.js';
import { deny, invalidParams, isRecord, readParams, type RuleContext } from './common.js';
import {
  ABSENT, compilePointer, describeUnresolved, everyPointerValue, firstRefused, foldCase, hasFoldedMember, pointerValue, UNRESOLVED, type CompiledPointer,
} from './json-pointer.js';
import { normalizePosixPath, isUnderPrefix } from './normalize.js';
import { compileRe2 } from './redaction-detectors.js';

/** Checks one value; returns what is wrong with it, or undefined. */
type Check = (value: unknown) => string | undefined;


function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function hasType(value: unknown, type: NonNullable<ArgumentConstraint['type']>): boolean {
  switch (type) {
    case 'integer': return typeof value === 'number' && Number.isInteger(value);
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'object': return isRecord(value);
    default: return jsonType(value) === type;
  }
}

/** Equality of JSON values: same type, arrays element by element, objects key by key. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, index) => jsonEqual(item, b[index]));
  }
  if (Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  return aKeys.every((key) => Object.hasOwn(b, key) && jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

function codePointLength(text: string, stopAfter: number): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    if (++count > stopAfter) return count;
  }
  return count;
}

/** The checks of one constraint, validated by the schema (a known type, an RE2 pattern, minimum ≤ maximum…). */
function compileConstraint(c: ArgumentConstraint): Check[] {
  const checks: Check[] = [];
  if (c.type !== undefined) {
    const type = c.type;
    checks.push((value) => (hasType(value, type) ? undefined : `must be of type ${type}, got ${jsonType(value)}`));
  }
  if (c.enum !== undefined) {
    const allowed = c.enum;
    checks.push((value) => (allowed.some((option) => jsonEqual(option, value)) ? undefined : `is not one of the ${allowed.length} allowed values`));
  }
  if (c.pattern !== undefined) {
    const compiled = compileRe2(c.pattern);
    checks.push((value) => {
      if (typeof value !== 'string') return `must be a string to match the pattern, got ${jsonType(value)}`;
      return compiled.test(value) ? undefined : 'does not match the required pattern';
    });
  }
  if (c.maxLength !== undefined) {
    const max = c.maxLength;
    checks.push((value) => {
      if (typeof value !== 'string') return `must be a string to have a length, got ${jsonType(value)}`;
      return value.length <= max || codePointLength(value, max) <= max ? undefined : `is longer than ${max} characters`;
    });
  }
  for (const bound of ['minimum', 'maximum'] as const) {
    const limit = c[bound];
    if (limit === undefined) continue;
    checks.push((value) => {
      if (typeof value !== 'number') return `must be a number to compare with the ${bound}, got ${jsonType(value)}`;
      // Past 2^53 the value compared here may be a rounding of the one a server reads exactly (Python).
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) return `is an integer beyond ±2^53, which peers read differently (exactly, or rounded)`;
      if (bound === 'minimum' ? value < limit : value > limit) return `is ${bound === 'minimum' ? 'below the minimum' : 'above the maximum'} ${limit}`;
      return undefined;
    });
  }
  if (c.pathPrefix !== undefined) {
    const prefix = c.pathPrefix;
    const base = normalizePosixPath(prefix);
    checks.push((value) => {
      if (typeof value !== 'string') return `must be a path string, got ${jsonType(value)}`;
      if (value.includes('\0')) return 'must not contain a NUL character';
      return isUnderPrefix(normalizePosixPath(value), base) ? undefined : `must be a path under ${prefix}`;
    });
  }
  return checks; // `{}` checks nothing: the schema allows it, and it can only let a value through
}

interface Pointer {
  readonly pointer: string;
  readonly compiled: CompiledPointer;
}

/** What a constraint finds wrong with a value, stopping at the first check that fails. */
function firstProblem(checks: readonly Check[], value: unknown): string | undefined {
  for (let k = 0; k < checks.length; k++) {
    const problem = checks[k]!(value);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

// What each list accepts of one value a `*` pointer resolves to (compiled once, shared).
const isAbsent = (value: unknown): boolean => value === ABSENT;
const isPresent = (value: unknown): boolean => value !== ABSENT && value !== UNRESOLVED;
const ROOT = 'the arguments object';

/**
 * The message for the first value of a `*` pointer that `test` refused, named by its own
 * pointer (`/paths/2`). Only for the deny path: it walks again, and allocates.
 */
function eachProblem(args: unknown, { pointer, compiled }: Pointer, test: (value: unknown) => boolean, describe: (value: unknown) => string): string {
  const refused = firstRefused(args, compiled, test);
  if (refused === undefined) return `argument ${pointer} cannot be resolved`; // unreachable: everyPointerValue refused one
  if (refused.value === UNRESOLVED) return `argument ${refused.pointer} ${describeUnresolved(args, compilePointer(refused.pointer), ROOT)}`;
  return `argument ${refused.pointer} ${describe(refused.value)}`;
}

function compilePointers(pointers: readonly string[] | undefined): Pointer[] {
  return (pointers ?? []).map((pointer) => ({ pointer, compiled: compilePointer(pointer) }));
}

const ARGUMENTS_FOLDED = foldCase('arguments');

/** Adds a problem once (a pointer both required and constrained that cannot be resolved is one problem). */
function addProblem(problems: string[] | undefined, problem: string): string[] {
  if (problems === undefined) return [problem];
  if (!problems.includes(problem)) problems.push(problem);
  return problems;
}

export function createArgumentsRules(spec: ArgumentsRule, context: RuleContext): Rule[] {
  const { id } = spec;
  const { mode } = context;
  const { tool, reply } = spec.arguments;
  const matchTool = compileGlob(tool);

  const properties = Object.entries(spec.arguments.properties ?? {}).map(([pointer, constraint]) => {
    const checks = compileConstraint(constraint);
    return {
      pointer,
      compiled: compilePointer(pointer),
      checks,
      // For a `*` pointer: an element passes when it is absent or meets every check.
      accepts: (value: unknown): boolean => value === ABSENT || (value !== UNRESOLVED && firstProblem(checks, value) === undefined),
    };
  });
  const required = compilePointers(spec.arguments.required);
  const forbidden = compilePointers(spec.arguments.forbidden);

  const refuse = (problems: readonly string[]): Verdict =>
    deny('argument_invalid', problems.join('; '), 'user_error', { reply });
  const unresolved = (args: unknown, { pointer, compiled }: Pointer): string =>
    `argument ${pointer} ${describeUnresolved(args, compiled, ROOT)}`;
  const forbiddenProblem = (): string => 'is forbidden';
  const requiredProblem = (): string => 'is required';

  return [{
    id,
    kind: 'arguments',
    mode,
    direction: 'client-to-server',
    phase: 'request',
    methods: ['tools/call'],
    evaluate(frame: FrameContext): Verdict {
      const params = readParams(frame.body());
      const name = params?.['name'];
      // Without a name the rule cannot tell whether it governs the call.
      if (params === undefined || typeof name !== 'string') return invalidParams('tools/call', 'name');
      if (!matchTool(name)) return CONTINUE;
      const args = params['arguments'];
      if (args === undefined) {
        // `Arguments` is what a case-insensitive decoder would take for the arguments.
        if (hasFoldedMember(params, ARGUMENTS_FOLDED)) return refuse(['arguments are ambiguous: params has no member "arguments" but one equal to it ignoring case']);
      } else if (!isRecord(args)) {
        return refuse([`arguments must be an object, got ${jsonType(args)}`]);
      }

      // No allocation unless something is wrong (this runs on every call of the tool).
      let problems: string[] | undefined;
      for (let i = 0; i < forbidden.length; i++) {
        const entry = forbidden[i]!;
        if (entry.compiled.each) {
          if (!everyPointerValue(args, entry.compiled, isAbsent)) problems = addProblem(problems, eachProblem(args, entry, isAbsent, forbiddenProblem));
          continue;
        }
        const value = pointerValue(args, entry.compiled);
        if (value === ABSENT) continue;
        problems = addProblem(problems, value === UNRESOLVED ? unresolved(args, entry) : `argument ${entry.pointer} is forbidden`);
      }
      for (let i = 0; i < required.length; i++) {
        const entry = required[i]!;
        if (entry.compiled.each) {
          if (!everyPointerValue(args, entry.compiled, isPresent)) problems = addProblem(problems, eachProblem(args, entry, isPresent, requiredProblem));
          continue;
        }
        const value = pointerValue(args, entry.compiled);
        if (value === ABSENT) problems = addProblem(problems, `argument ${entry.pointer} is required`);
        else if (value === UNRESOLVED) problems = addProblem(problems, unresolved(args, entry));
      }
      for (let i = 0; i < properties.length; i++) {
        const entry = properties[i]!;
        if (entry.compiled.each) {
          if (!everyPointerValue(args, entry.compiled, entry.accepts)) {
            const checks = entry.checks;
            problems = addProblem(problems, eachProblem(args, entry, entry.accepts, (value) => firstProblem(checks, value)!));
          }
          continue;
        }
        const value = pointerValue(args, entry.compiled);
        if (value === ABSENT) continue;
        if (value === UNRESOLVED) {
          problems = addProblem(problems, unresolved(args, entry));
          continue;
        }
        const problem = firstProblem(entry.checks, value);
        if (problem !== undefined) problems = addProblem(problems, `argument ${entry.pointer} ${problem}`);
      }
      return problems === undefined ? CONTINUE : refuse(problems);
    },
  }];
}
