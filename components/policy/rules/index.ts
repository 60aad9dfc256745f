// The policy's rule kinds, each compiled by its factory into Rules (what each kind does is in
// its file's header). createRulesFromSpec dispatches on the kind key of a RuleSpec.
import type { RuleSpec } from '../document/document.js';
import type { Rule } from '../engine/types.js';
import { createArgumentsRules } from './arguments.js';
import { isRecord, RuleSpecError, type RuleContext } from './common.js';
import { applyConditions } from './conditions.js';
import { createHideRules } from './hide.js';
import { createMethodsRules } from './methods.js';
import { createPromptsRules } from './prompts.js';
import { createRateLimitRules } from './rate-limit.js';
import { createRedactRules } from './redact.js';
import { createResourcesRules } from './resources.js';
import { createToolsRules } from './tools.js';

export { createArgumentsRules } from './arguments.js';
export { RuleSpecError, type RuleContext } from './common.js';
export { applyConditions, compileCondition, type IdentityPredicate } from './conditions.js';
export { createHideRules } from './hide.js';
export { createLimitsRules, jsonDepth, orderBySpecificity } from './limits.js';
export { createMethodsRules } from './methods.js';
export { normalizePosixPath, normalizeUri } from './normalize.js';
export { createPromptsRules } from './prompts.js';
export { createRateLimitRules, MAX_RATE_LIMIT_BUCKETS, TokenBuckets } from './rate-limit.js';
export { createRedactRules } from './redact.js';
export { BUILT_IN_DETECTORS, DETECTOR_NAMES, type Detector, type SecretMatch } from './redaction-detectors.js';
export { createResourcesRules } from './resources.js';
export { createToolsRules } from './tools.js';

/** The kind keys of a RuleSpec, and the factory for each. */
const FACTORIES = {
  methods: createMethodsRules,
  tools: createToolsRules,
  prompts: createPromptsRules,
  resources: createResourcesRules,
  hide: createHideRules,
  arguments: createArgumentsRules,
  rateLimit: createRateLimitRules,
  redact: createRedactRules,
} as const;

export const RULE_KINDS = Object.freeze(Object.keys(FACTORIES) as (keyof typeof FACTORIES)[]);

/** Compiles one rule of the policy: exactly one kind key must be present; `when` and `unless` wrap what its kind compiles to. */
export function createRulesFromSpec(spec: RuleSpec, context: RuleContext): Rule[] {
  if (!isRecord(spec)) throw new RuleSpecError('?', 'a rule must be a mapping');
  const id = typeof spec.id === 'string' ? spec.id : '?';
  const kinds = RULE_KINDS.filter((kind) => (spec as unknown as Record<string, unknown>)[kind] !== undefined);
  if (kinds.length !== 1) {
    throw new RuleSpecError(id, kinds.length === 0
      ? `a rule needs one of ${RULE_KINDS.join(', ')}`
      : `a rule has exactly one kind, this one has ${kinds.join(' and ')}`);
  }
  const kind = kinds[0]!;
  return applyConditions(spec, (FACTORIES[kind] as (spec: RuleSpec, context: RuleContext) => Rule[])(spec, context));
}
