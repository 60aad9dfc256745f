// CEL (`when: { cel: "…" }`): the environment every expression of a policy compiles in, and the
// compile step shared by the schema (which reports a bad expression at its line and column) and
// the rule wrapper (rules/cel.ts). cel-js is loaded on the first expression a policy holds, not
// by every policy, and synchronously (zod's refinements are synchronous): it is an ES module, so
// this needs require(esm), i.e. Node ≥ 20.19; on 20.18 a policy with `cel` is refused with that
// reason and every other policy loads as before.
//
// What the environment guarantees, at load:
// - only the seven variables below; any other name is a type error ("Unknown variable");
// - the result is a bool (or `dyn`, checked per evaluation: anything else fails closed);
// - no backtracking regular expression: cel-js's `matches` runs JavaScript's RegExp, and cannot
//   be overridden (an overload with its signature is refused as overlapping), so it is refused
//   here and `text.re2Matches("<RE2 pattern>")` offered instead, the pattern a string literal
//   compiled by RE2 at load (re2.ts): linear time, and a pattern RE2 refuses (`(?=`) is an error;
// - bounded work: the AST is capped (MAX_AST_NODES); a comprehension (`all`, `exists`, `map`, …)
//   inside another ranges over a literal list or map (else nesting multiplies attacker-sized
//   lists: two deep over 2 000 values took 1 s); and the inputs are capped by rules/cel.ts.
import { createRequire } from 'node:module';
import type { Environment } from '@marcbachmann/cel-js';
import type { RE2JS } from 're2js';
import { loadRe2 } from './re2.js';

/** The variables an expression may name, and their CEL types. */
export const CEL_VARIABLES = Object.freeze({
  method: 'string',
  tool: 'dyn', // a string, or null when the frame is not a tools/call request
  arguments: 'map<string, dyn>',
  identity: 'map<string, dyn>',
  server: 'dyn', // a string, or null when the engine was not told
  direction: 'string',
  era: 'dyn', // a protocol version string, or null when the frame does not name one
} as const);

export type CelVariable = keyof typeof CEL_VARIABLES;
const VARIABLE_NAMES = Object.keys(CEL_VARIABLES) as CelVariable[];

/** Longest expression accepted (the schema says the same). */
export const MAX_CEL_EXPRESSION_LENGTH = 4096;
const MAX_AST_NODES = 1000;
const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

/** A compiled expression: evaluate it over the variables; `uses` says which ones it reads (others need not be built). */
export interface CelProgram {
  readonly source: string;
  readonly uses: ReadonlySet<CelVariable>;
  /** Throws (cel-js's EvaluationError) on a missing key, a type mismatch, a failed overload. */
  evaluate(variables: Readonly<Record<CelVariable, unknown>>): unknown;
}

/** Why an expression does not compile; `offset` is where in the expression, in characters, when known. */
export interface CelProblem {
  readonly message: string;
  readonly offset?: number;
}

interface CelModule {
  readonly Environment: typeof Environment;
}

let environment: Environment | undefined;
// Patterns seen by `re2Matches` literals, compiled by RE2 at load; the handler only looks them up.
const compiledPatterns = new Map<string, RE2JS>();

function loadEnvironment(): Environment {
  if (environment !== undefined) return environment;
  const { Environment: CelEnvironment } = createRequire(import.meta.url)('@marcbachmann/cel-js') as CelModule;
  const env = new CelEnvironment({ limits: { maxAstNodes: MAX_AST_NODES } });
  for (const name of VARIABLE_NAMES) env.registerVariable(name, CEL_VARIABLES[name]);
  env.registerFunction('string.re2Matches(string): bool', (text: string, pattern: string) => {
    let compiled = compiledPatterns.get(pattern);
    // Unreachable for a policy that compiled (every pattern is a literal seen at load), kept so
    // that the function cannot fall back to anything but RE2.
    if (compiled === undefined) compiledPatterns.set(pattern, (compiled = loadRe2().compile(pattern)));
    return compiled.test(text);
  });
  return (environment = env);
}

/** Compiles and type-checks `source`: a program, or the problems that stop it (a policy load reports them all). */
export function compileCel(source: string): CelProgram | CelProblem[] {
  let env: Environment;
  try {
    env = loadEnvironment();
  } catch (error) {
    return [{ message: `CEL needs Node ≥ 20.19 (its library is an ES module loaded synchronously): ${errorText(error)}` }];
  }
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = env.parse(source);
  } catch (error) {
    return [{ message: `invalid CEL: ${summaryOf(error)}`, ...offsetOf(error) }];
  }
  const problems: CelProblem[] = [];
  const uses = new Set<CelVariable>();
  walk(parsed.ast as unknown as AstNode, false, uses, problems);
  const checked = parsed.check();
  if (!checked.valid) problems.push({ message: `invalid CEL: ${summaryOf(checked.error)}`, ...offsetOf(checked.error) });
  else if (checked.type !== 'bool' && checked.type !== 'dyn') problems.push({ message: `expected a CEL expression of type bool, found one of type ${checked.type}` });
  if (problems.length > 0) return problems.sort((x, y) => (x.offset ?? 0) - (y.offset ?? 0));
  return { source, uses, evaluate: (variables) => parsed(variables) };
}

/** The part of cel-js's AST this walk reads: `op`, `args`, `pos`. */
interface AstNode {
  readonly op: string;
  readonly args: unknown;
  readonly pos: number;
}

function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as { op?: unknown }).op === 'string';
}

/**
 * Collects the variables named, refuses `matches`, compiles `re2Matches` patterns, and refuses a
 * comprehension nested in another unless it ranges over a literal (`["/a", "/b"].exists(…)`).
 */
function walk(node: AstNode, inComprehension: boolean, uses: Set<CelVariable>, problems: CelProblem[]): void {
  let inner = inComprehension;
  if (node.op === 'id' && typeof node.args === 'string' && node.args in CEL_VARIABLES) uses.add(node.args as CelVariable);
  if ((node.op === 'call' || node.op === 'rcall') && Array.isArray(node.args)) {
    const name: unknown = node.args[0];
    if (name === 'matches') {
      problems.push({ message: 'matches() runs a backtracking regular expression; use text.re2Matches("<pattern>") (RE2 syntax, linear time)', offset: node.pos });
    } else if (name === 're2Matches') {
      checkPattern(node, problems);
    } else if (typeof name === 'string' && COMPREHENSIONS.has(name) && node.op === 'rcall') {
      const range = node.args[1];
      const literal = isNode(range) && (range.op === 'list' || range.op === 'map');
      if (inComprehension && !literal) {
        problems.push({ message: `${name}() inside another comprehension must range over a literal list or map (nested comprehensions over the inputs multiply their size)`, offset: node.pos });
      }
      inner = true;
    }
  }
  visitChildren(node.args, (child) => walk(child, inner, uses, problems));
}

function visitChildren(args: unknown, visit: (node: AstNode) => void): void {
  if (isNode(args)) visit(args);
  else if (Array.isArray(args)) for (const item of args) visitChildren(item, visit);
}

/** `x.re2Matches(pattern)`: the pattern must be a string literal that RE2 compiles. */
function checkPattern(node: AstNode, problems: CelProblem[]): void {
  const callArgs = (node.args as unknown[])[node.op === 'rcall' ? 2 : 1];
  const pattern = Array.isArray(callArgs) ? callArgs[callArgs.length - 1] : undefined;
  if (!isNode(pattern) || pattern.op !== 'value' || typeof pattern.args !== 'string') {
    problems.push({ message: 're2Matches() takes its pattern as a string literal (compiled once, at load)', offset: node.pos });
    return;
  }
  if (compiledPatterns.has(pattern.args)) return;
  try {
    compiledPatterns.set(pattern.args, loadRe2().compile(pattern.args));
  } catch (error) {
    problems.push({ message: `expected a regular expression in RE2 syntax, found ${JSON.stringify(pattern.args)} (${errorText(error)})`, offset: pattern.pos });
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** cel-js's one-line message (its `message` adds a multi-line excerpt with a caret). */
function summaryOf(error: unknown): string {
  const summary = (error as { summary?: unknown } | undefined)?.summary;
  if (typeof summary === 'string' && summary !== '') return summary;
  return errorText(error).split('\n')[0] ?? 'unknown error';
}

function offsetOf(error: unknown): { offset?: number } {
  const holder = error as { range?: { start?: unknown }; node?: { pos?: unknown } } | undefined;
  const offset = holder?.range?.start ?? holder?.node?.pos;
  return typeof offset === 'number' ? { offset } : {};
}

/** A problem as one line: where in the expression, when known (column 1 is its first character). */
export function describeCelProblem(problem: CelProblem): string {
  return problem.offset === undefined ? problem.message : `${problem.message} (at character ${problem.offset + 1} of the expression)`;
}
