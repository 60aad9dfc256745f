// The policy component's public face: the document's shape, the schema it is validated with,
// and the loader. The engine and the rules that act on a document are in engine/ and rules/ (engine/index.ts).
export {
  PERMISSIVE_POLICY,
  type PolicyDocument, type PolicyMode, type Side, type GovernorSection, type LimitsSection, type RuleBase, type ToolReply,
  type MethodsRule, type ToolsRule, type PromptsRule, type ResourcesRule, type HideRule, type ArgumentConstraint,
  type ArgumentsRule, type RateLimitRule, type RedactRule, type DetectorName, type RuleSpec,
  type IdentityMatch, type RuleCondition, type IdentityField, type RateLimitDimension, type RateLimitPer,
} from './document/document.js';
export { policySchema, toJsonSchema, policyJsonSchemaText } from './document/schema.js';
export { RULE_KINDS, DETECTOR_NAMES, IDENTITY_FIELDS } from './document/rule-schemas.js';
export { loadPolicyFile, parsePolicyText, type LoadedPolicy } from './document/load.js';
export { PolicyInvalidError, formatPolicyError, type PolicyError } from './document/policy-error.js';
export { canonicalJson } from './document/canonical-json.js';
export { runPolicyValidate, type ValidateOutput } from './document/validate-command.js';
