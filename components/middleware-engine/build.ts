import type { LoadedPolicy, PolicyMode } from '../policy/index.js';
import { compilePolicy, effectiveMode, type CompiledPolicy } from './compiled-policy.js';
import { createLimitsRules, createRulesFromSpec } from './rules/index.js';

/**
 * Compiles a loaded policy file: the limits section first (a frame too large or too deep is
 * refused before any rule parses it), then the rules in file order. `modeOverride` is
 * --mode / MCP_PROXY_MODE.
 */
export function buildPolicy(loaded: LoadedPolicy, modeOverride?: PolicyMode): CompiledPolicy {
  const mode = modeOverride ?? loaded.document.mode;
  const limits = createLimitsRules(loaded.document.limits, { mode: effectiveMode(mode, undefined) });
  return compilePolicy(loaded.document, loaded.digest, createRulesFromSpec, limits, modeOverride);
}
