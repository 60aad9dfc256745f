/**
 * The policy component's public face. Statically, only what the frame path needs: the engine
 * (a policy compiled into rules indexed by direction, phase and method, and the chain that runs
 * them; see engine/types.ts for the rule contract and docs/policy.md for the rules) and the
 * document's types. The document itself (schema, YAML loader, `policy validate`; zod and yaml),
 * the rule kinds and the secret detectors (RE2) load on demand, through the loaders below, so the
 * stdio passthrough loads none of them (test/e2e/lazy-loading.test.ts).
 */
export type {
  PolicyDocument, PolicyMode, Side, GovernorSection, LimitsSection, RuleBase, ToolReply,
  MethodsRule, ToolsRule, PromptsRule, ResourcesRule, HideRule, ArgumentConstraint,
  ArgumentsRule, RateLimitRule, RedactRule, DeadlineRule, DetectorName, RuleSpec, RuleKind,
  IdentityMatch, RuleCondition, IdentityField, RateLimitDimension, RateLimitPer,
  PinsRule, PinsUnknown,
} from './document/document.js';
export type { LoadedPolicy } from './document/load.js';
export type { PolicyError } from './document/policy-error.js';
export type { ValidateOutput } from './document/validate-command.js';

export type { Direction, Phase, FrameContext, Identity, Verdict, Rule, DenyCategory, PolicyDeadline, DecisionPin } from './engine/types.js';
export { CONTINUE } from './engine/types.js';
export { compileGlob, compileGlobs, matchGlob, type GlobMatcher } from './engine/glob.js';
export { compilePolicy, effectiveMode, type CompiledPolicy, type RuleFactory } from './engine/compiled-policy.js';
export { evaluateFrame, PASS, type Decision, type DenyVerdict, type Evaluation, type FrameAction } from './engine/evaluate.js';
export { createNamespaceResolver, GATEWAY_SERVER_NAME, type GatewayRoutes, type ServiceResolver } from './engine/services.js';

export { buildPolicy, loadPolicyDocument, loadSecretRedactor, loadSecretScanner } from './loaders.js';
