/**
 * The middleware engine: every frame, both directions, through a chain of compiled rules that
 * either observe (record what they would do) or enforce (deny, rewrite). See types.ts for the
 * rule contract and docs/policy.md for the rules.
 */
export type { Direction, Phase, FrameContext, Identity, Verdict, Rule, DenyCategory } from './types.js';
export { CONTINUE } from './types.js';
export { compileGlob, compileGlobs, matchGlob, type GlobMatcher } from './glob.js';
export { compilePolicy, effectiveMode, type CompiledPolicy, type RuleFactory } from './compiled-policy.js';
export { evaluateFrame, PASS, type Decision, type DenyVerdict, type Evaluation, type FrameAction } from './evaluate.js';

/** Compiles a loaded policy file with every rule kind; loaded on demand (rule kinds pull in RE2). */
export async function buildPolicy(...args: Parameters<typeof import('./build.js').buildPolicy>): Promise<import('./compiled-policy.js').CompiledPolicy> {
  return (await import('./build.js')).buildPolicy(...args);
}

/**
 * `redactSecrets(value)`: a JSON value with every secret the built-in detectors find replaced
 * by `[REDACTED:<detector>]`; `mayHoldSecretsInJson(json)`: false when a value's JSON text shows
 * there is nothing to redact. Loaded on demand (RE2).
 */
export async function loadSecretRedactor(): Promise<typeof import('../rules/redact.js').redactSecrets> {
  return (await import('../rules/redact.js')).redactSecrets;
}

export async function loadSecretScanner(): Promise<Pick<typeof import('../rules/redact.js'), 'redactSecrets' | 'mayHoldSecretsInJson'>> {
  const { redactSecrets, mayHoldSecretsInJson } = await import('../rules/redact.js');
  return { redactSecrets, mayHoldSecretsInJson };
}
