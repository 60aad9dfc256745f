import { isSidecarError, SidecarError } from '../../errors/index.js';
import type { LoadedPolicy, PolicyMode } from '../index.js';
import { compilePolicy, effectiveMode, type CompiledPolicy } from './compiled-policy.js';
import { createLimitsRules, createRulesFromSpec } from '../rules/index.js';

/**
 * Compiles a loaded policy file: the limits section first (a frame too large or too deep is
 * refused before any rule parses it), then the rules in file order. `modeOverride` is
 * --mode / MCP_PROXY_MODE.
 */
export function buildPolicy(loaded: LoadedPolicy, modeOverride?: PolicyMode): CompiledPolicy {
  const mode = modeOverride ?? loaded.document.mode;
  try {
    const limits = createLimitsRules(loaded.document.limits, { mode: effectiveMode(mode, undefined) });
    return compilePolicy(loaded.document, loaded.digest, createRulesFromSpec, limits, modeOverride);
  } catch (error) {
    // What the schema lets through but a rule cannot compile (a pattern that matches the empty
    // string, a duplicate pattern name…) is a bad policy file too, not a crash.
    if (isSidecarError(error)) throw error;
    throw new SidecarError('SIDECAR_ERR_POLICY_INVALID', `${loaded.source}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
