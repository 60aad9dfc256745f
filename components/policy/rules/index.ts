// The policy's rule kinds, each compiled by its factory into Rules (what each kind does is in
// its file's header). This module loads every kind: the proxy loads only the kinds a policy uses
// (registry.ts); this is for code that compiles specs synchronously (tests, tools).
import type { RuleKind, RuleSpec } from '../document/document.js';
import type { Rule } from '../engine/types.js';
import { createArgumentsRules } from './arguments.js';
import type { RuleContext } from './common.js';
import { createDeadlineRules } from './deadline.js';
import { createPinsRules } from './pins.js';
import { createHideRules } from './hide.js';
import { createMethodsRules } from './methods.js';
import { createPromptsRules } from './prompts.js';
import { createRateLimitRules } from './rate-limit.js';
import { createRedactRules } from './redact.js';
import { rulesFromSpec, type KindFactory } from './registry.js';
import { createResourcesRules } from './resources.js';
import { createToolsRules } from './tools.js';

export { createArgumentsRules } from './arguments.js';
export { RuleSpecError, type RuleContext } from './common.js';
export { applyConditions, compileCondition, type IdentityPredicate } from './conditions.js';
export { createDeadlineRules } from './deadline.js';
export { createPinsRules, createPinsRulesFromIndex, describeMismatch, pinMismatchCounts, setPinMismatchListener, type PinMismatch, type PinMismatchListener } from './pins.js';
export { createHideRules } from './hide.js';
export { createLimitsRules, jsonDepth, orderBySpecificity } from './limits.js';
export { createMethodsRules } from './methods.js';
export { normalizePosixPath, normalizeUri } from './normalize.js';
export { createPromptsRules } from './prompts.js';
export { createRateLimitRules, MAX_RATE_LIMIT_BUCKETS, TokenBuckets } from './rate-limit.js';
export { createRedactRules } from './redact.js';
export { BUILT_IN_DETECTORS, DETECTOR_NAMES, type Detector, type SecretMatch } from './redaction-detectors.js';
export { kindOf, loadKindFactories, loadRuleFactory, type KindFactory } from './registry.js';
export { createResourcesRules } from './resources.js';
export { createToolsRules } from './tools.js';

/** Every kind key of a RuleSpec, and its factory. */
const FACTORIES = {
  methods: createMethodsRules,
  tools: createToolsRules,
  prompts: createPromptsRules,
  resources: createResourcesRules,
  hide: createHideRules,
  arguments: createArgumentsRules,
  rateLimit: createRateLimitRules,
  redact: createRedactRules,
  deadline: createDeadlineRules,
  pins: createPinsRules,
} as const satisfies Record<RuleKind, unknown>;

export const RULE_KINDS = Object.freeze(Object.keys(FACTORIES) as RuleKind[]);

/** Compiles one validated rule: its kind's factory, wrapped in its `when` and `unless`. */
export function createRulesFromSpec(spec: RuleSpec, context: RuleContext): Rule[] {
  return rulesFromSpec(FACTORIES as unknown as Record<RuleKind, KindFactory>, spec, context);
}
