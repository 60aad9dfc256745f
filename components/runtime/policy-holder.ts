import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../clock/index.js';
import type { Logger } from '../logging/index.js';
import { buildPolicy, type CompiledPolicy } from '../policy/index.js';
import { loadPolicyDocument, type LoadedPolicy, type PolicyMode } from '../policy/index.js';
import type { PolicyHolder } from '../pump/index.js';

const RELOAD_DEBOUNCE_MS = 200;

export interface ReloadablePolicy extends PolicyHolder {
  /** Loads the file again; a file that fails validation is rejected and the policy in force stays. */
  reload(why: string): Promise<boolean>;
  close(): void;
}

// The policy in force, swapped whole on reload (SIGHUP, or the file changing): a frame sees
// either the old policy or the new one, never a mix.
export async function createPolicyHolder(loaded: LoadedPolicy, modeOverride: PolicyMode | undefined, logger: Logger, clock: Clock = systemClock): Promise<ReloadablePolicy> {
  let current: CompiledPolicy = await buildPolicy(loaded, modeOverride);
  logger.info({ policy: current.name, revision: current.revision, digest: current.digest, mode: current.mode, rules: current.rules.length }, 'policy in force');

  let watcher: FSWatcher | undefined;
  let debounce: unknown;
  const holder: ReloadablePolicy = {
    get current() {
      return current;
    },
    async reload(why) {
      try {
        const next = await buildPolicy((await loadPolicyDocument()).loadPolicyFile(loaded.source), modeOverride);
        if (next.digest === current.digest) return true;
        current = next;
        logger.info({ why, policy: next.name, revision: next.revision, digest: next.digest, mode: next.mode, rules: next.rules.length }, 'policy reloaded');
        return true;
      } catch (error) {
        logger.error({ why, file: loaded.source, err: error instanceof Error ? error.message : String(error) }, 'policy reload rejected: the policy in force stays');
        return false;
      }
    },
    close() {
      clock.clearTimeout(debounce);
      watcher?.close();
    },
  };
  try {
    // The directory, not the file: an editor's rename-save and a Kubernetes ConfigMap update
    // (a symlink swap) replace the file, and a watch on the old one would go quiet. Events for
    // other files cost a reload that finds the same digest and changes nothing.
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
