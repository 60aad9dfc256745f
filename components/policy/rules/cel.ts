// `when: { cel: "<expression>" }` on any rule, and the `tests:` a rule may carry.
//
// The expression (compiled and type-checked once, at load: document/cel-env.ts) decides whether
// the rule applies to a frame: true runs the rule, false passes the frame on (CONTINUE), as
// `when.identity` does. It FAILS CLOSED: an evaluation error (a missing key, a type mismatch, a
// result that is not a bool, inputs over the cap) is a deny with the error as its message, so
// enforce refuses the frame and observe records a would-deny, through the engine's modes.
//
// The variables, built per evaluation and only those the expression names:
//   method     the frame's method (for a response, the method of the request it answers)
//   tool       params.name of a tools/call request, else null
//   arguments  params.arguments of a tools/call or prompts/get request (else {}); JSON integers
//              (1 and 1.0 alike: JSON.parse reads them the same) are CEL ints, other numbers doubles
//   identity   the caller's identity fields (tenantId, userId, agentId); {} without auth
//   server     the governed server's name: its executable's basename as admitted (never the
//              server's own serverInfo); null when the engine passes none (replay; a test case naming none)
//   direction  'client-to-server' or 'server-to-client'
//   era        the protocol version the request itself names (params._meta, 2026-07-28), else
//              the one its session negotiated (the initialize result), else null
//
// `tests: [{ input: {…}, expect: allow | deny }]` run once, at load, against the rule as compiled
// (its kind, its `when` and `unless`); a case that comes out otherwise refuses the policy. A case's
// `server` is the frame's server and service both (`server:` conditions, CEL `server`).
import type { RuleSpec, RuleTestCase } from '../document/document.js';
import { compileCel, describeCelProblem, type CelProgram, type CelVariable } from '../document/cel-env.js';
import { compileGlobs } from '../engine/glob.js';
import { CONTINUE, type FrameContext, type Identity, type Rule, type Verdict } from '../engine/types.js';
import { PROTOCOL_VERSION_META, requestProtocolVersion } from '../../mcp/index.js';
import { deny, isRecord, readParams, RuleSpecError } from './common.js';

/**
 * At most this many JSON values (every object, array and scalar) are turned into CEL values per
 * evaluation: beyond it the evaluation fails (a deny). It bounds what one comprehension can cost,
 * quadratic ones included (`x in arguments.a` inside `arguments.a.exists(…)`: 0.8 s at 10 000
 * values, 0.25 s at this cap, measured on a shared machine).
 */
export const MAX_CEL_INPUT_VALUES = 4096;

/** Thrown while building the variables; fails the evaluation like a CEL error. */
class CelInputError extends Error {}

/** The rules of one spec, each made conditional on `when.cel`; without it, the rules unchanged. */
export function applyCelCondition(spec: RuleSpec, rules: Rule[]): Rule[] {
  const source = spec.when?.cel;
  if (source === undefined) return rules;
  const compiled = compileCel(source);
  // The schema compiled the same text already; a failure here is a spec the schema let through.
  if (Array.isArray(compiled)) throw new RuleSpecError(spec.id, `when.cel: ${compiled.map(describeCelProblem).join('; ')}`);
  const program = compiled;
  return rules.map((rule) => ({
    ...rule,
    evaluate(frame: FrameContext): Verdict {
      let result: unknown;
      try {
        result = program.evaluate(celVariables(program, frame));
      } catch (error) {
        return celFailed(spec.id, error instanceof Error ? firstLine(error) : String(error));
      }
      if (result === true) return rule.evaluate(frame);
      if (result === false) return CONTINUE;
      return celFailed(spec.id, `the condition gave ${describeResult(result)}, not a bool`);
    },
  }));
}

function celFailed(ruleId: string, detail: string): Verdict {
  return deny('condition_failed', `rule ${ruleId}: its CEL condition failed to evaluate (${detail}), so the frame is refused`, 'forbidden');
}

function firstLine(error: Error): string {
  const summary = (error as { summary?: unknown }).summary;
  return typeof summary === 'string' && summary !== '' ? summary : (error.message.split('\n')[0] ?? error.name);
}

function describeResult(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `the int ${value}`;
  return typeof value === 'object' ? 'a value' : `the ${typeof value} ${JSON.stringify(value)}`;
}

/** The variables the program names, read from the frame (others are left null: never read). */
export function celVariables(program: CelProgram, frame: FrameContext): Record<CelVariable, unknown> {
  const uses = program.uses;
  const needsBody = uses.has('tool') || uses.has('arguments') || uses.has('era');
  const params = needsBody && frame.phase === 'request' ? readParams(frame.body()) : undefined;
  const budget = { left: MAX_CEL_INPUT_VALUES };
  return {
    method: frame.method,
    tool: uses.has('tool') && frame.method === 'tools/call' && typeof params?.['name'] === 'string' ? params['name'] : null,
    arguments: uses.has('arguments') ? argumentsOf(frame.method, params, budget) : EMPTY,
    identity: uses.has('identity') ? identityOf(frame.identity, budget) : EMPTY,
    server: frame.server ?? null,
    direction: frame.direction,
    era: uses.has('era') ? ((params !== undefined ? requestProtocolVersion({ params }) : undefined) ?? frame.era ?? null) : null,
  };
}

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

function argumentsOf(method: string, params: Record<string, unknown> | undefined, budget: { left: number }): unknown {
  if (params === undefined || (method !== 'tools/call' && method !== 'prompts/get')) return EMPTY;
  const value = params['arguments'];
  if (value === undefined) return EMPTY;
  if (!isRecord(value)) throw new CelInputError(`params.arguments is not an object`);
  return toCel(value, budget);
}

function identityOf(identity: Identity | undefined, budget: { left: number }): unknown {
  return identity === undefined ? EMPTY : toCel(identity, budget);
}

/** A JSON value as CEL reads it: integers as bigints (CEL int), bounded in count. */
function toCel(value: unknown, budget: { left: number }): unknown {
  if (--budget.left < 0) throw new CelInputError(`the inputs hold more than ${MAX_CEL_INPUT_VALUES} values`);
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) <= 2 ** 63 - 1 ? BigInt(value) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => toCel(item, budget));
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = toCel((value as Record<string, unknown>)[key], budget);
  return copy;
}

/**
 * Runs the spec's `tests` against its compiled rules; throws a RuleSpecError naming the first
 * case that does not come out as expected. Without tests, does nothing.
 */
export function runRuleTests(spec: RuleSpec, rules: readonly Rule[]): void {
  const cases = spec.tests;
  if (cases === undefined) return;
  cases.forEach((testCase, index) => {
    const outcome = outcomeOf(rules, testCase);
    if (outcome.effect === testCase.expect) return;
    const why = outcome.message === undefined ? '' : ` (${outcome.message})`;
    throw new RuleSpecError(spec.id, `tests[${index}] expects ${testCase.expect}, but the rule gives ${outcome.effect}${why}`);
  });
}

function outcomeOf(rules: readonly Rule[], testCase: RuleTestCase): { effect: 'allow' | 'deny'; message?: string } {
  const frame = testFrame(testCase);
  for (const rule of rules) {
    if (rule.direction !== frame.direction || rule.phase !== 'request' || !compileGlobs(rule.methods)(frame.method)) continue;
    let verdict: Verdict;
    try {
      verdict = rule.evaluate(frame);
    } catch (error) {
      return { effect: 'deny', message: error instanceof Error ? error.message : String(error) };
    }
    if (verdict.effect === 'deny') return { effect: 'deny', message: verdict.message };
  }
  return { effect: 'allow' };
}

/** The request a test case describes: a tools/call when it names a tool, else `input.method`. */
function testFrame(testCase: RuleTestCase): FrameContext {
  const { input } = testCase;
  const method = input.method ?? (input.tool !== undefined ? 'tools/call' : 'ping');
  const params: Record<string, unknown> = {};
  if (input.tool !== undefined) params['name'] = input.tool;
  if (input.arguments !== undefined) params['arguments'] = input.arguments;
  if (input.era !== undefined) params['_meta'] = { [PROTOCOL_VERSION_META]: input.era };
  const body = { jsonrpc: '2.0', id: 1, method, params };
  return {
    direction: input.direction ?? 'client-to-server',
    phase: 'request',
    method,
    line: Buffer.from(`${JSON.stringify(body)}\n`),
    body: () => body,
    now: 0,
    ...(input.identity !== undefined && { identity: input.identity }),
    // A case names the server outright: its service is that name, as the gateway's is for a frame it places.
    ...(input.server !== undefined && { server: input.server, service: input.server }),
  };
}
