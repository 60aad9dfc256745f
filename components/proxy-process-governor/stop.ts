import type { Upstream } from './upstream.js';

export interface StopTimeouts {
  /** After closing the child's stdin, how long it gets to exit on its own. */
  readonly stdinCloseGraceMs: number;
  /** After SIGTERM to its process group, how long before SIGKILL. */
  readonly killTimeoutMs: number;
}

export interface StopOutcome {
  /** The last step that was needed: the child left on stdin EOF, on SIGTERM, or was killed. */
  readonly step: 'already-exited' | 'stdin-closed' | 'sigterm' | 'sigkill';
}

function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

// The MCP stdio shutdown sequence: close stdin, wait, SIGTERM, wait, SIGKILL, each sent to
// the whole process group. Whatever is left of the group after the child exits gets SIGKILL.
export async function stopUpstream(upstream: Upstream, timeouts: StopTimeouts): Promise<StopOutcome> {
  let step: StopOutcome['step'] = 'already-exited';
  if (!upstream.hasExited) {
    step = 'stdin-closed';
    upstream.stdin.end();
    if (!(await within(upstream.exited, timeouts.stdinCloseGraceMs))) {
      step = 'sigterm';
      upstream.signalGroup('SIGTERM');
      if (!(await within(upstream.exited, timeouts.killTimeoutMs))) {
        step = 'sigkill';
        upstream.signalGroup('SIGKILL');
        await upstream.exited;
      }
    }
  }
  // Descendants still in the group outlived their parent: nothing will stop them but us.
  upstream.signalGroup('SIGKILL');
  return { step };
}
