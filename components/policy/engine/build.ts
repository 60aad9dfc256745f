import { dirname, resolve } from 'node:path';
import { isSidecarError, SidecarError } from '../../errors/index.js';
import type { PolicyMode } from '../document/document.js';
import type { LoadedPolicy } from '../document/load.js';
import { createLimitsRules } from '../rules/limits.js';
import { loadRuleFactory } from '../rules/registry.js';
import { compilePolicy, effectiveMode, type CompiledPolicy, type RuleFactory } from './compiled-policy.js';

/**
 * Compiles a loaded policy file with the rule kinds it uses, each loaded on first use (a policy
 * without `redact` never loads the detectors and RE2). `modeOverride` is --mode / MCP_PROXY_MODE.
 */
export async function buildPolicy(loaded: LoadedPolicy, modeOverride?: PolicyMode): Promise<CompiledPolicy> {
  return compileLoadedPolicy(loaded, await loadRuleFactory(loaded.document.rules), modeOverride);
}

/**
 * Compiles a loaded policy file with `createRules`: the limits section first (`maxInFlight`
 * before anything; then a frame too large or too deep is refused before any rule parses it),
 * then the rules in file order.
 */
export function compileLoadedPolicy(loaded: LoadedPolicy, createRules: RuleFactory, modeOverride?: PolicyMode): CompiledPolicy {
  const limits = createLimitsRules(loaded.document.limits, { mode: effectiveMode(modeOverride ?? loaded.document.mode, undefined) });
  try {
    // A pins rule's lock file is named relative to the policy file, as a reader of the file expects.
    const withLockPaths: RuleFactory = (spec, context) => createRules('pins' in spec ? { ...spec, pins: { ...spec.pins, lock: resolve(dirname(loaded.source), spec.pins.lock) } } : spec, context);
    return compilePolicy(loaded.document, loaded.digest, withLockPaths, limits, modeOverride);
  } catch (error) {
    // The schema has validated the document, so a factory that throws is refusing something the
    // schema let through (the redact rule still checks its own patterns): a bad policy file, not a crash.
    if (isSidecarError(error)) throw error;
    throw new SidecarError('SIDECAR_ERR_POLICY_INVALID', `${loaded.source}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
