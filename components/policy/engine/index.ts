// TRANSITIONAL: the engine's old face, now part of components/policy/index.ts. It re-exports the
// light parts from their modules (not from ../index.ts, which still carries the document's heavy
// exports until every caller uses loadPolicyDocument()); delete it once nothing imports it.
export type { Direction, Phase, FrameContext, Identity, Verdict, Rule, DenyCategory } from './types.js';
export { CONTINUE } from './types.js';
export { compileGlob, compileGlobs, matchGlob, type GlobMatcher } from './glob.js';
export { compilePolicy, effectiveMode, type CompiledPolicy, type RuleFactory } from './compiled-policy.js';
export { evaluateFrame, PASS, type Decision, type DenyVerdict, type Evaluation, type FrameAction } from './evaluate.js';
export { buildPolicy, loadSecretRedactor, loadSecretScanner } from '../loaders.js';
