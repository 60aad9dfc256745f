// The policy document's face inside the policy component: its shape, the one schema that
// validates it (and is docs/policy.schema.json), YAML loading, the canonical-JSON digest and
// `policy validate`. Heavy (zod, yaml): code outside the component reaches it through
// `loadPolicyDocument()` in components/policy/index.ts, so the stdio passthrough never loads it.
export {
  PERMISSIVE_POLICY,
  type PolicyDocument, type PolicyMode, type Side, type GovernorSection, type LimitsSection, type RuleBase, type ToolReply,
  type MethodsRule, type ToolsRule, type PromptsRule, type ResourcesRule, type HideRule, type ArgumentConstraint,
  type ArgumentsRule, type RateLimitRule, type RedactRule, type DetectorName, type RuleSpec, type RuleKind,
  type IdentityMatch, type RuleCondition, type IdentityField, type RateLimitDimension, type RateLimitPer,
} from './document.js';
export { policySchema, toJsonSchema, policyJsonSchemaText } from './schema.js';
export { RULE_KINDS, DETECTOR_NAMES, IDENTITY_FIELDS } from './rule-schemas.js';
export { loadPolicyFile, parsePolicyText, type LoadedPolicy } from './load.js';
export { PolicyInvalidError, formatPolicyError, type PolicyError } from './policy-error.js';
export { canonicalJson } from '../../values/index.js';
export { runPolicyValidate, type ValidateOutput } from './validate-command.js';
