/**
 * The schema of one rule: an id, an optional mode, optional conditions on the caller (`when`,
 * `unless`), and exactly one of the nine kinds. The kinds are optional keys of one strict
 * object (rather than a union of eight objects) so that a mistake gets one precise message —
 * "unknown key", "found 2 kinds: tools, hide" — instead of nine failed alternatives; the
 * transform then narrows the result to the `RuleSpec` union.
 */
import { z } from 'zod';
import type { ArgumentConstraint, DetectorName, IdentityField, RateLimitDimension, RuleKind, RuleSpec } from './document.js';
import { count, expected, listNames } from './describe.js';
import { describeFound } from './describe.js';
import { ALWAYS, glob, globList, isMapping, jsonPointer, presentKeys, re2Pattern, redactionPattern, requireOne, requireSome } from './schema-parts.js';
import { celExpression, ruleTests } from './cel-schema.js';

export const RULE_KINDS = ['methods', 'tools', 'prompts', 'resources', 'hide', 'arguments', 'rateLimit', 'redact', 'deadline', 'pins'] as const satisfies readonly RuleKind[];
const _everyRuleKind: Exclude<RuleKind, (typeof RULE_KINDS)[number]> extends never ? true : never = true;
void _everyRuleKind;
export const DETECTOR_NAMES = ['private-key', 'aws-access-key', 'github-token', 'jwt', 'bearer-token', 'password-assignment'] as const satisfies readonly DetectorName[];
// …and every DetectorName is listed: a name added to document.ts and not here stops the build.
const _everyDetector: Exclude<DetectorName, (typeof DETECTOR_NAMES)[number]> extends never ? true : never = true;
void _everyDetector;

export const IDENTITY_FIELDS = ['tenantId', 'userId', 'agentId'] as const satisfies readonly IdentityField[];
const _everyIdentityField: Exclude<IdentityField, (typeof IDENTITY_FIELDS)[number]> extends never ? true : never = true;
void _everyIdentityField;

const mode = z.enum(['observe', 'enforce']);
const toolReply = z.enum(['error', 'tool-error']).default('error');
/** `allow` may be empty (nothing passes); `deny` names something, or is left out. */
const allowDeny = { allow: z.array(glob).optional(), deny: globList.optional() };

const methods = requireSome(z.strictObject({ from: z.enum(['client', 'server']).default('client'), ...allowDeny }), ['allow', 'deny'])
  .describe('Requests and notifications from `from` (default client): only `allow` pass, and never `deny`.');
const tools = requireSome(z.strictObject({ ...allowDeny, reply: toolReply }), ['allow', 'deny'])
  .describe('tools/call by tool name; `reply`: a JSON-RPC error, or a tool result with isError that the model reads.');
const prompts = requireSome(z.strictObject(allowDeny), ['allow', 'deny']).describe('prompts/get by prompt name.');
const resources = requireSome(z.strictObject(allowDeny), ['allow', 'deny']).describe('resources/read by URI glob (`file:///workspace/**`).');
const hide = requireSome(z.strictObject({ tools: globList.optional(), prompts: globList.optional(), resources: globList.optional() }), ['tools', 'prompts', 'resources'])
  .describe('Removed from */list results, and calls to them denied, so the model never sees them.');

const constraint = z
  .strictObject({
    type: z.enum(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']).optional(),
    enum: z.array(z.unknown()).min(1).optional(),
    pattern: re2Pattern.optional(),
    maxLength: z.int().min(0).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    pathPrefix: z.string().min(1).optional(),
  })
  .superRefine((value, ctx) => {
    if (isMapping(value) && typeof value.minimum === 'number' && typeof value.maximum === 'number' && value.minimum > value.maximum) {
      ctx.addIssue({ code: 'custom', path: ['maximum'], message: `expected a maximum ≥ minimum (${value.minimum}), found the number ${value.maximum}`, input: value.maximum });
    }
  }, ALWAYS) satisfies z.ZodType<ArgumentConstraint>;

/** `arguments` checks something: a pointer under `properties`, `required` or `forbidden` (an empty `properties: {}` alone checks nothing). */
const argumentsKind = z
  .strictObject({
    tool: glob,
    properties: z.record(jsonPointer, constraint).optional(),
    required: z.array(jsonPointer).min(1).optional(),
    forbidden: z.array(jsonPointer).min(1).optional(),
    reply: toolReply,
  })
  .superRefine((value, ctx) => {
    if (!isMapping(value) || presentKeys(value, ['required', 'forbidden']).length > 0) return;
    const properties = value.properties;
    if (isMapping(properties) && Object.keys(properties).length > 0) return;
    const found = properties === undefined ? 'none' : 'properties with no pointer';
    ctx.addIssue({ code: 'custom', message: `expected at least one of: properties (with a pointer), required, forbidden, found ${found}`, input: value });
  }, ALWAYS)
  // "properties, and not an empty one": said with `not`, so that no branch lists `properties`
  // without closing them (every object that lists properties refuses unknown keys).
  .meta({ anyOf: [{ required: ['properties'], not: { properties: { properties: { maxProperties: 0 } } } }, { required: ['required'] }, { required: ['forbidden'] }] })
  .describe('Constraints on the arguments of tools/call for `tool`, by JSON pointer into `arguments` (a `*` segment: each element of an array).');

const RATE_LIMIT_DIMENSIONS = ['tool', 'method', ...IDENTITY_FIELDS] as const satisfies readonly RateLimitDimension[];
const perWhat = `one of: rule, ${listNames(RATE_LIMIT_DIMENSIONS)}, or a list of ${listNames(RATE_LIMIT_DIMENSIONS)}`;
const perError = expected(perWhat);
/** `per: tool`, or a list such as `[tenantId, tool]`: each dimension once, tool or method (not both). */
const per = z
  .union([
    z.enum(['rule', ...RATE_LIMIT_DIMENSIONS], perError),
    z.array(z.enum(RATE_LIMIT_DIMENSIONS, perError), perError).min(1, perError)
      .meta({ uniqueItems: true, not: { allOf: [{ contains: { const: 'tool' } }, { contains: { const: 'method' } }] } }),
  ], perError)
  .superRefine((value, ctx) => {
    if (!Array.isArray(value)) return;
    const repeated = value.filter((item, index) => value.indexOf(item) !== index);
    if (repeated.length > 0) ctx.addIssue({ code: 'custom', message: `expected each of ${listNames(RATE_LIMIT_DIMENSIONS)} at most once, found ${listNames([...new Set(repeated)])} more than once`, input: value });
    if (value.includes('tool') && value.includes('method')) ctx.addIssue({ code: 'custom', message: 'expected tool or method, not both (per: tool already keys a request that is not a tools/call by its method)', input: value });
  }, ALWAYS)
  .default('tool');

const rateLimit = requireOne(
  z.strictObject({
    tools: globList.optional(),
    methods: globList.optional(),
    per: per.describe('What gets its own bucket: tool (default), method, rule (one bucket), an identity field (tenantId, userId, agentId), or a list such as [tenantId, tool].'),
    capacity: z.int().min(1),
    refillPerSecond: z.number().positive(),
    store: z.enum(['memory', 'redis']).optional().describe('Where the buckets live: memory (default, per proxy) or redis (--redis-url: one quota across every replica).'),
    onStoreError: z.enum(['allow', 'deny']).optional().describe('store: redis, when Redis cannot be reached and no leased token is left: deny (default) or allow (this proxy\'s own bucket decides).'),
    lease: z.int().min(1).max(1_000_000).optional().describe('store: redis: the most tokens a proxy leases from Redis ahead of use, per bucket (default: a tenth of capacity, at least 1).'),
  }),
  ['tools', 'methods'],
).describe('A token bucket over tool calls (by tool glob) or requests (by method glob): `per` tool, method, rule or identity field, or a list of them.');

/** `when: { identity: { tenantId: [globs], … } }`: each field given must be present and match one glob. */
const identityMatch = requireSome(
  z.strictObject({ tenantId: globList.optional(), userId: globList.optional(), agentId: globList.optional() }),
  IDENTITY_FIELDS,
).describe('Globs over the caller\'s identity; every field given must be present and match one of its globs.');
/** `server: [globs]`: the service a frame goes to or comes from (gateway mode), else the server's executable name. */
const serverMatch = globList.describe('Globs over the server the frame belongs to: its service\'s name (the namespace) with --servers, the server\'s executable name with --proxy.');
const condition = requireSome(z.strictObject({ identity: identityMatch.optional(), server: serverMatch.optional() }), ['identity', 'server']);
/** `when` also takes a CEL expression (cel-schema.ts): the rule applies when all hold. */
const whenCondition = requireSome(z.strictObject({ identity: identityMatch.optional(), server: serverMatch.optional(), cel: celExpression.optional() }), ['identity', 'server', 'cel']);

/** Names the unknown detectors in a list, so a typo is pointed out rather than "found a list". */
const detectorsError = {
  error: (issue: { readonly input?: unknown }): string => {
    const what = `"all" or a non-empty list of detectors (${listNames(DETECTOR_NAMES)})`;
    const unknown = Array.isArray(issue.input) ? issue.input.filter((name) => !(DETECTOR_NAMES as readonly unknown[]).includes(name)) : [];
    if (unknown.length === 0) return expected(what).error(issue);
    return `expected ${what}, found ${count(unknown.length, 'unknown detector')}: ${unknown.map((name) => JSON.stringify(name)).join(', ')}`;
  },
};

/** A custom pattern's name is shown in the marker `[REDACTED:<name>]`: nothing that could end or fake one. */
const PATTERN_NAME = /^[^\[\]\u0000-\u001f\u007f]{1,64}$/u;
const patternNameError = expected('a name of 1 to 64 characters without brackets or control characters (it is shown in the marker [REDACTED:<name>])');
const patternName = z
  .string(patternNameError)
  .regex(PATTERN_NAME, patternNameError)
  .refine((name) => !(DETECTOR_NAMES as readonly string[]).includes(name), {
    error: (issue) => `expected a name that is not a built-in detector's (${listNames(DETECTOR_NAMES)}), found ${describeFound(issue.input)}`,
  })
  .meta({ not: { enum: [...DETECTOR_NAMES] } });

/** Pattern names are unique within a rule: each names its own marker. */
const redactionPatterns = z
  .array(z.strictObject({ name: patternName, pattern: redactionPattern }))
  .min(1)
  .superRefine((patterns: unknown, ctx) => {
    if (!Array.isArray(patterns)) return;
    const firstIndex = new Map<string, number>();
    patterns.forEach((entry: unknown, index) => {
      const name = isMapping(entry) ? entry.name : undefined;
      if (typeof name !== 'string') return;
      const first = firstIndex.get(name);
      if (first === undefined) firstIndex.set(name, index);
      else ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate pattern name ${JSON.stringify(name)} (first used by patterns[${first}])`, input: name });
    });
  }, ALWAYS);

const redact = z.strictObject({
  detectors: z.union([z.literal('all'), z.array(z.enum(DETECTOR_NAMES)).min(1, detectorsError)], detectorsError),
  patterns: redactionPatterns.optional(),
  in: z.array(z.enum(['tools/call', 'resources/read', 'prompts/get', 'notifications/message', 'notifications/progress'])).min(1).optional(),
}).describe('Secrets in results and in the server\'s log and progress notifications replaced by a marker: built-in detectors, and custom RE2 patterns.');

/** The bound of --request-timeout-ms (components/config/settings.ts), so a rule can say what the flag can. */
const MAX_TIMEOUT_MS = 86_400_000;
const timeoutError = expected('a whole number of milliseconds from 0 to 86400000 (0: no deadline)');
const deadline = z.strictObject({
  tools: globList,
  timeoutMs: z.int(timeoutError).min(0, timeoutError).max(MAX_TIMEOUT_MS, timeoutError),
}).describe('How long a tools/call of these tools may wait for the server, in ms (overrides --request-timeout-ms; 0: no deadline). The first matching rule decides.');

const pins = z.strictObject({
  lock: z.string().min(1),
  unknown: z.enum(['deny', 'allow', 'observe']).default('deny'),
}).describe('Tool, prompt and resource-template definitions checked against a lock file (`mcp-sidecar pin`; relative to the policy file): a changed one is hidden and its calls denied; `unknown`: what happens to one the lock does not hold.');

const ID = /^[a-z0-9][a-z0-9._-]*$/;
const idError = expected('an id of lower-case letters, digits, ".", "_" and "-", starting with a letter or digit');
const ruleObject = z.strictObject({
  id: z.string(idError).regex(ID, idError),
  description: z.string().optional(),
  mode: mode.optional().describe('Overrides the policy\'s mode for this rule, unless the policy is in observe mode.'),
  when: whenCondition.optional().describe('The rule applies only to frames whose caller matches (a frame without an identity never does) and for which `cel` is true.'),
  unless: condition.optional().describe('The rule does not apply to frames whose caller matches.'),
  tests: ruleTests.optional(),
  methods: methods.optional(),
  tools: tools.optional(),
  prompts: prompts.optional(),
  resources: resources.optional(),
  hide: hide.optional(),
  arguments: argumentsKind.optional(),
  rateLimit: rateLimit.optional(),
  redact: redact.optional(),
  deadline: deadline.optional(),
  pins: pins.optional(),
});

type RuleObject = z.output<typeof ruleObject>;

/** The one kind the rule has, with the id, description and mode: the `RuleSpec` the engine compiles. */
function toRuleSpec(rule: RuleObject): RuleSpec {
  const { id, description, mode: ruleMode, when, unless, tests } = rule;
  const base = {
    id,
    ...(description !== undefined && { description }),
    ...(ruleMode !== undefined && { mode: ruleMode }),
    ...(when !== undefined && { when }),
    ...(unless !== undefined && { unless }),
    ...(tests !== undefined && { tests }),
  };
  if (rule.methods) return { ...base, methods: rule.methods };
  if (rule.tools) return { ...base, tools: rule.tools };
  if (rule.prompts) return { ...base, prompts: rule.prompts };
  if (rule.resources) return { ...base, resources: rule.resources };
  if (rule.hide) return { ...base, hide: rule.hide };
  if (rule.arguments) return { ...base, arguments: rule.arguments };
  if (rule.rateLimit) return { ...base, rateLimit: rule.rateLimit };
  if (rule.redact) return { ...base, redact: rule.redact };
  if (rule.deadline) return { ...base, deadline: rule.deadline };
  if (rule.pins) return { ...base, pins: rule.pins };
  throw new Error(`rule ${id} has no kind; the refinement should have rejected it`);
}

export const ruleSchema = ruleObject
  .superRefine((value, ctx) => {
    const kinds = presentKeys(value, RULE_KINDS);
    if (!isMapping(value) || kinds.length === 1) return;
    const found = kinds.length === 0 ? 'none' : `${count(kinds.length, 'kind')}: ${listNames(kinds)}`;
    ctx.addIssue({ code: 'custom', message: `expected exactly one rule kind (one of: ${listNames(RULE_KINDS)}), found ${found}`, input: value });
  }, ALWAYS)
  .meta({ oneOf: RULE_KINDS.map((kind) => ({ required: [kind] })) })
  .transform(toRuleSpec);

/** Rule ids are unique within a policy: they name the rule in errors, logs and reports. */
export const ruleList = z.array(ruleSchema).superRefine((rules: unknown, ctx) => {
  if (!Array.isArray(rules)) return; // already reported as "expected a list"
  const firstIndex = new Map<string, number>();
  rules.forEach((rule: unknown, index) => {
    const id = isMapping(rule) ? rule.id : undefined;
    if (typeof id !== 'string') return;
    const first = firstIndex.get(id);
    if (first === undefined) firstIndex.set(id, index);
    else ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicate rule id ${JSON.stringify(id)} (first used by rules[${first}])`, input: id });
  });
}, ALWAYS);
