import { systemClock, type Clock } from '../clock/index.js';
import { isStillRunning, mergeSnapshots, signalSnapshot, snapshotDescendants, type ProcessEntry } from './process-tree.js';
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

const POLL_MS = 25;
const CONFIRM_MS = 1000;

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

async function whileAnyRunning(clock: Clock, tree: readonly ProcessEntry[], ms: number): Promise<ProcessEntry[]> {
  const deadline = clock.now() + ms;
  let running = tree.filter(isStillRunning);
  while (running.length > 0 && clock.now() < deadline) {
    await new Promise<void>((resolve) => clock.setTimeout(resolve, POLL_MS));
    running = running.filter(isStillRunning);
  }
  return running;
}

/**
 * The MCP stdio shutdown sequence, applied to the child's whole tree: close stdin, wait,
 * SIGTERM, wait, SIGKILL. Each signal goes to the child's process group and to every
 * descendant in a snapshot of the process table (which also finds those that left the group).
 * Descendants that outlive the child get the same SIGTERM → SIGKILL. Resolves when the tree is
 * gone, or reports the survivors. Every wait runs on `clock` (the proxy's one clock).
 */
export async function stopUpstream(upstream: Upstream, timeouts: StopTimeouts, hurry?: Promise<unknown>, clock: Clock = systemClock): Promise<StopOutcome> {
  const rootPid = upstream.pid;
  let tree = rootPid !== undefined && !upstream.hasExited ? snapshotDescendants(rootPid) : [];
  const refresh = (): void => {
    if (rootPid !== undefined && !upstream.hasExited) tree = mergeSnapshots(tree, snapshotDescendants(rootPid));
  };
  const signalAll = (signal: NodeJS.Signals): void => {
    refresh();
    upstream.signalGroup(signal);
    signalSnapshot(tree, signal);
  };

  let step: StopOutcome['step'] = 'already-exited';
  let terminated = false;
  if (!upstream.hasExited) {
    step = 'stdin-closed';
    refresh();
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

  // The child is gone; whatever it started may not be.
  upstream.signalGroup(terminated ? 'SIGKILL' : 'SIGTERM');
  let leftovers = tree.filter(isStillRunning);
  const descendantsSignalled = leftovers.length;
  if (leftovers.length > 0 && !terminated) {
    signalSnapshot(leftovers, 'SIGTERM');
    leftovers = await whileAnyRunning(clock, leftovers, timeouts.killTimeoutMs);
  }
  if (leftovers.length > 0) {
    upstream.signalGroup('SIGKILL');
    signalSnapshot(leftovers, 'SIGKILL');
    leftovers = await whileAnyRunning(clock, leftovers, CONFIRM_MS);
  }
  return { step, descendantsSignalled, survivors: leftovers.length };
}
