import { compilePolicy, type CompiledPolicy, type Rule } from '../../components/policy/index.js';
import { createLimitsRules } from '../../components/policy/rules/limits.js';
import { PERMISSIVE_POLICY, type PolicyDocument, type PolicyMode } from '../../components/policy/document/document.js';

/** A compiled policy made of hand-written rules (the engine and pump tested without rule kinds). */
export function policyFromRules(rules: Rule[], options: { mode?: PolicyMode; maxInFlight?: number } = {}): CompiledPolicy {
  const document: PolicyDocument = {
    ...PERMISSIVE_POLICY,
    metadata: { name: 'test', revision: '1' },
    mode: options.mode ?? 'enforce',
    limits: options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight },
  };
  const effective = rules.map((rule) => ({ ...rule, mode: options.mode === 'observe' ? 'observe' as const : rule.mode }));
  // The limits are rules like any other (limits.maxInFlight first), as the policy build compiles them.
  return compilePolicy(document, 'test-digest', () => [], [...createLimitsRules(document.limits, { mode: document.mode }), ...effective]);
}
