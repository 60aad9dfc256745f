import { systemClock, type Clock } from '../clock/index.js';
import { DescendantWatch, sweepDescendants } from './descendants.js';
import { signalSnapshot } from './process-tree.js';
import type { Upstream } from './upstream.js';

export interface StopTimeouts {
  /** After closing the child's stdin, how long it gets to exit on its own. */
  readonly stdinCloseGraceMs: number;
  /** After SIGTERM, how long before SIGKILL. */
  readonly killTimeoutMs: number;
}

export interface StopOutcome {
  /** The last step the child needed: it had already exited, left on stdin EOF, on SIGTERM, or was killed. */
  readonly step: 'already-exited' | 'stdin-closed' | 'sigterm' | 'sigkill';
  /** Descendants that outlived the child and had to be signalled. */
  readonly descendantsSignalled: number;
  /** Processes of the tree still running at the end (0 unless something is unkillable). */
  readonly survivors: number;
}

/** True if `promise` settles within `ms` on `clock`; false on timeout, or as soon as `cut` resolves. */
export function settlesWithin(clock: Clock, promise: Promise<unknown>, ms: number, cut?: Promise<unknown>): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clock.clearTimeout(timer);
      resolve(true);
    });
    void cut?.then(() => {
      clock.clearTimeout(timer);
      resolve(false);
    });
  });
}

/**
 * The MCP stdio shutdown sequence, applied to the child's whole tree: close stdin, wait,
 * SIGTERM, wait, SIGKILL. Each signal goes to the child's process group and to every
 * descendant in a snapshot of the process table (which also finds those that left the group);
 * the snapshot is `watch`'s when given (the governor's, which has watched the server since it
 * started, so it also holds descendants orphaned before the stop began), refreshed before each
 * signal. Descendants that outlive the child get the same SIGTERM → SIGKILL. Resolves when the
 * tree is gone, or reports the survivors. Every wait runs on `clock` (the proxy's one clock).
 */
export async function stopUpstream(upstream: Upstream, timeouts: StopTimeouts, hurry?: Promise<unknown>, clock: Clock = systemClock, watch?: DescendantWatch): Promise<StopOutcome> {
  const rootPid = upstream.pid;
  const tree = watch ?? (rootPid === undefined ? undefined : new DescendantWatch(rootPid, () => !upstream.hasExited, { clock, intervalMs: 0 }));
  const signalAll = (signal: NodeJS.Signals): void => {
    tree?.scan();
    upstream.signalGroup(signal);
    if (tree !== undefined) signalSnapshot(tree.known, signal, tree.table);
  };

  let step: StopOutcome['step'] = 'already-exited';
  let terminated = false;
  if (!upstream.hasExited) {
    step = 'stdin-closed';
    tree?.scan();
    upstream.stdin.end();
    // `hurry` (a second stop request) cuts the grace short: SIGTERM at once.
    if (!(await settlesWithin(clock, upstream.exited, timeouts.stdinCloseGraceMs, hurry))) {
      step = 'sigterm';
      terminated = true;
      signalAll('SIGTERM');
      if (!(await settlesWithin(clock, upstream.exited, timeouts.killTimeoutMs))) {
        step = 'sigkill';
        signalAll('SIGKILL');
        await upstream.exited;
      }
    }
  }

  // The child is gone; whatever it started may not be. One last look from what is known: an
  // orphan's own children are found so.
  tree?.scan();
  const { signalled, survivors } = await sweepDescendants(tree?.known ?? [], {
    clock, gentle: !terminated, graceMs: timeouts.killTimeoutMs, signalGroup: (signal) => upstream.signalGroup(signal), table: tree?.table,
  });
  return { step, descendantsSignalled: signalled, survivors };
}
