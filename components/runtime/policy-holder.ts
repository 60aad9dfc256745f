import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { systemClock, type Clock } from '../clock/index.js';
import type { Logger } from '../logging/index.js';
import { buildPolicy, type CompiledPolicy } from '../policy/index.js';
import { loadPolicyDocument, type LoadedPolicy, type PolicyMode } from '../policy/index.js';
import type { PolicyHolder } from '../pump/index.js';
import { canonicalJson } from '../values/index.js';
import { SidecarError } from '../errors/index.js';
import type { PolicyDocument, RuleSpec } from '../policy/index.js';
import type { PinState } from '../tool-pins/index.js';
import type { PolicyBundleSettings, PolicyBundleStatus } from '../policy-bundle/index.js';

/** --tool-pins: the lock, and what happens to a definition it does not hold; or --tool-pins-state (`trustOnFirstUse`: `lock` is the state file). */
export interface ToolPinsSetting {
  readonly lock: string;
  readonly unknown: 'deny' | 'allow' | 'observe';
  readonly trustOnFirstUse?: boolean;
}

/** The id of the pins rule --tool-pins and --tool-pins-state add. */
const TOOL_PINS_RULE_ID = 'tool-pins';

/**
 * The policy with --tool-pins as one more rule after its own, or (no policy file) a built-in
 * policy of that rule alone, in enforce unless --mode says otherwise. The digest covers the lock's
 * text, so a reload after `pin` rewrote the lock takes effect.
 */
export function withToolPins(loaded: LoadedPolicy | undefined, pins: ToolPinsSetting): LoadedPolicy {
  const lock = resolve(pins.lock);
  const rule: RuleSpec = { id: TOOL_PINS_RULE_ID, pins: { lock, unknown: pins.unknown } };
  const document: PolicyDocument = loaded === undefined
    ? { apiVersion: 'mcp-sidecar/v1', kind: 'Policy', metadata: { name: 'built-in-tool-pins', revision: '0' }, mode: 'enforce', governor: {}, limits: {}, rules: [rule] }
    : { ...loaded.document, rules: [...loaded.document.rules, rule] };
  // A trust-on-first-use state is read live by the rule (it grows as servers list): its text is
  // not part of the digest, or every definition trusted would reload the policy.
  let lockText = 'trust on first use';
  if (pins.trustOnFirstUse !== true) {
    try {
      lockText = readFileSync(lock, 'utf8');
    } catch (error) {
      throw new SidecarError('SIDECAR_ERR_POLICY_UNREADABLE', `--tool-pins ${pins.lock}: ${(error as Error).message}`, { cause: error });
    }
  }
  const digest = createHash('sha256').update(canonicalJson(document)).update('\n').update(lockText).digest('hex');
  return Object.freeze({ document, digest, source: loaded?.source ?? lock });
}

const RELOAD_DEBOUNCE_MS = 200;

export interface ReloadablePolicy extends PolicyHolder {
  /** Loads the file again (with --policy-url: polls the control plane); a policy that fails validation is rejected and the policy in force stays. */
  reload(why: string): Promise<boolean>;
  /** With --policy-url: where the policy in force came from, its revision, the polls' counts (metrics, /readyz). */
  readonly bundle?: { status(): PolicyBundleStatus };
  /**
   * Calls `listener` each time another policy is put in force (after `current` is swapped; never
   * for a rejected reload, nor for one that found the same digest): a session tells its client
   * that what lists show may have changed. Returns what ends the subscription.
   */
  onChange(listener: () => void): () => void;
  close(): void;
}

/** The holder's change listeners: each told in turn; one that throws is logged and the others still hear. */
function createChangeListeners(logger: Logger): { add(listener: () => void): () => void; tell(): void } {
  const listeners = new Set<() => void>();
  return {
    add(listener) {
      // A wrapper per subscription: one session's listener, added twice, is still two subscriptions.
      const entry = (): void => listener();
      listeners.add(entry);
      return () => void listeners.delete(entry);
    },
    tell() {
      for (const listener of listeners) {
        try {
          listener();
        } catch (error) {
          logger.error({ err: error instanceof Error ? error.message : String(error) }, 'internal error: a listener of policy changes failed');
        }
      }
    },
  };
}

// The policy in force, swapped whole on reload (SIGHUP, or the file changing): a frame sees
// either the old policy or the new one, never a mix.
export async function createPolicyHolder(
  file: LoadedPolicy | undefined, modeOverride: PolicyMode | undefined, logger: Logger, clock: Clock = systemClock, toolPins?: ToolPinsSetting, bundle?: PolicyBundleSettings,
): Promise<ReloadablePolicy> {
  if (bundle !== undefined) return createBundlePolicyHolder(bundle, file, modeOverride, logger, clock, toolPins);
  const loaded = toolPins === undefined ? file! : withToolPins(file, toolPins);
  const readAgain = async (): Promise<LoadedPolicy> => {
    const again = file === undefined ? undefined : (await loadPolicyDocument()).loadPolicyFile(file.source);
    return toolPins === undefined ? again! : withToolPins(again, toolPins);
  };
  const build = toolPins?.trustOnFirstUse === true ? await trustOnFirstUseBuilder(toolPins.lock, logger) : buildPolicy;
  let current: CompiledPolicy = await build(loaded, modeOverride);
  await hearPinMismatches(current, logger);
  logger.info({ policy: current.name, revision: current.revision, digest: current.digest, mode: current.mode, rules: current.rules.length }, 'policy in force');

  let watcher: FSWatcher | undefined;
  let debounce: unknown;
  const changes = createChangeListeners(logger);
  const holder: ReloadablePolicy = {
    get current() {
      return current;
    },
    async reload(why) {
      try {
        const next = await build(await readAgain(), modeOverride);
        if (next.digest === current.digest) return true;
        current = next;
        await hearPinMismatches(current, logger);
        logger.info({ why, policy: next.name, revision: next.revision, digest: next.digest, mode: next.mode, rules: next.rules.length }, 'policy reloaded');
        changes.tell();
        return true;
      } catch (error) {
        logger.error({ why, file: loaded.source, err: error instanceof Error ? error.message : String(error) }, 'policy reload rejected: the policy in force stays');
        return false;
      }
    },
    onChange: changes.add,
    close() {
      clock.clearTimeout(debounce);
      watcher?.close();
    },
  };
  try {
    // The directory, not the file: an editor's rename-save and a Kubernetes ConfigMap update
    // (a symlink swap) replace the file, and a watch on the old one would go quiet. Events for
    // other files cost a reload that finds the same digest and changes nothing.
    // With --tool-pins alone, the lock's folder: a lock rewritten by `pin` is reloaded.
    watcher = watch(dirname(loaded.source), { persistent: false }, () => {
      clock.clearTimeout(debounce);
      debounce = clock.setTimeout(() => void holder.reload('the policy file changed'), RELOAD_DEBOUNCE_MS);
    });
    watcher.on('error', () => watcher?.close());
  } catch (error) {
    logger.warn({ file: loaded.source, err: (error as Error).message }, 'cannot watch the policy file; reload with SIGHUP');
  }
  return holder;
}

/**
 * --policy-url: the control plane's bundle in force, else the last known good one, else the
 * --policy file; none of them refuses the start (exit 78): never silently unpoliced. A new
 * bundle replaces the policy whole, as a file reload does; SIGHUP polls at once.
 */
async function createBundlePolicyHolder(
  settings: PolicyBundleSettings, file: LoadedPolicy | undefined, modeOverride: PolicyMode | undefined, logger: Logger, clock: Clock, toolPins: ToolPinsSetting | undefined,
): Promise<ReloadablePolicy> {
  const build = toolPins?.trustOnFirstUse === true ? await trustOnFirstUseBuilder(toolPins.lock, logger) : buildPolicy;
  const compile = (loaded: LoadedPolicy): Promise<CompiledPolicy> => build(toolPins === undefined ? loaded : withToolPins(loaded, toolPins), modeOverride);
  const { createPolicyBundleSource } = await import('../policy-bundle/index.js');
  let current: CompiledPolicy | undefined;
  const changes = createChangeListeners(logger);
  const source = await createPolicyBundleSource<CompiledPolicy>({
    settings, logger, clock, compile,
    install(next, verified) {
      current = next;
      void hearPinMismatches(next, logger);
      logger.info({ why: 'policy bundle', url: settings.url, policy: next.name, revision: next.revision, digest: next.digest, mode: next.mode, rules: next.rules.length, rollback: verified.rollback }, 'policy reloaded');
      changes.tell();
    },
  });
  try {
    current = await source.initial();
    if (current === undefined) {
      if (file === undefined) {
        throw new SidecarError('SIDECAR_ERR_POLICY_NONE', `${settings.url} gave no bundle that could be used, ${settings.cacheDir === undefined ? 'no --policy-cache-dir is set' : `${settings.cacheDir} holds no usable bundle`}, and no --policy file is given`, {
          hint: 'make the control plane reachable, or give --policy <file> as the fallback (the logs above say why the bundle was not used)',
        });
      }
      current = await compile(file);
      source.fellBackToFile();
      logger.warn({ url: settings.url, file: file.source }, 'policy bundle: none could be had; the --policy file is in force until one arrives');
    }
  } catch (error) {
    await source.close();
    throw error;
  }
  await hearPinMismatches(current, logger);
  logger.info({ policy: current.name, revision: current.revision, digest: current.digest, mode: current.mode, rules: current.rules.length, source: source.status().source }, 'policy in force');
  source.startPolling();
  return {
    get current() {
      return current!;
    },
    async reload(why) {
      const result = await source.poll(why);
      return result !== 'failed' && result !== 'rejected';
    },
    bundle: source,
    onChange: changes.add,
    close() {
      void source.close();
    },
  };
}

/**
 * --tool-pins-state: compiles policies whose `tool-pins` rule trusts on first use over one
 * PinState, opened (or created) here once for the process and shared by every session and every
 * reload. A state file that cannot be opened or created (corrupt, a read-only volume without
 * one) refuses the start; one that cannot be written later trusts nothing (the rule hides what
 * it cannot trust) and logs why.
 */
async function trustOnFirstUseBuilder(statePath: string, logger: Logger): Promise<(loaded: LoadedPolicy, modeOverride?: PolicyMode) => Promise<CompiledPolicy>> {
  const [{ PinState: PinStateFile }, { createTrustOnFirstUseRules }, { compileLoadedPolicy }, { loadRuleFactory }] = await Promise.all([
    import('../tool-pins/index.js'), import('../policy/rules/pins.js'), import('../policy/engine/build.js'), import('../policy/rules/registry.js'),
  ]);
  const path = resolve(statePath);
  let state: PinState;
  try {
    state = PinStateFile.open(path);
  } catch (error) {
    throw new SidecarError('SIDECAR_ERR_POLICY_UNREADABLE', `--tool-pins-state ${statePath}: ${(error as Error).message}`, { cause: error });
  }
  const onStateError = (error: Error, action: 'refresh' | 'trust' | 'propose'): void => {
    logger.error({ file: path, action, err: error.message }, action === 'propose'
      ? 'tool pin state: cannot record a changed definition for review (it stays hidden)'
      : 'tool pin state: cannot trust what the server lists; unknown definitions stay hidden');
  };
  return async (loaded, modeOverride) => {
    const createRules = await loadRuleFactory(loaded.document.rules);
    return compileLoadedPolicy(loaded, (spec, context) => (
      spec.id === TOOL_PINS_RULE_ID && 'pins' in spec && spec.pins.lock === path
        ? createTrustOnFirstUseRules(spec.id, context.mode, state, onStateError)
        : createRules(spec, context)
    ), modeOverride);
  };
}

/** A policy with a pins rule logs each mismatch (the rule kind is loaded already). */
async function hearPinMismatches(policy: CompiledPolicy, logger: Logger): Promise<void> {
  if (!policy.rules.some((rule) => rule.kind === 'pins')) return;
  const { setPinMismatchListener, describeMismatch } = await import('../policy/rules/pins.js');
  setPinMismatchListener((m) => logger.warn({
    kind: m.kind, key: m.key, status: m.status, enforced: m.enforced, expected: m.expected, actual: m.actual, changed: m.changes?.map((c) => `${c.path} ${c.change}`),
  }, `tool pin mismatch: ${describeMismatch(m)}`));
}
