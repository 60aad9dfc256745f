import type { GovernorState } from '../proxy-process-governor/index.js';

/** What /readyz answers: 200 when ready, else 503 with the reason. */
export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

const READY: Readiness = Object.freeze({ ready: true });

// The server's share of readiness. `starting` counts as ready: the child is spawned and
// requests go straight to it (it becomes `ready` on its first answer, which may be the
// client's initialize). Held requests (restarting, recovering) and no server at all are not.
export function upstreamReadiness(state: GovernorState): Readiness {
  switch (state) {
    case 'starting':
    case 'ready':
      return READY;
    case 'backoff':
      return { ready: false, reason: 'the MCP server exited and is being restarted' };
    case 'recovering':
      return { ready: false, reason: 'the MCP server was restarted and the session is being recovered' };
    case 'fatal':
      return { ready: false, reason: 'the MCP server failed and will not be restarted' };
    case 'stopping':
    case 'stopped':
      return { ready: false, reason: 'the proxy is stopping' };
  }
}

/** What readiness reads of a circuit breaker: its state, and when an open one lets a probe through. */
export interface CircuitSource {
  readonly state: 'closed' | 'open' | 'half-open';
  readonly retryAfterMs: number;
}

// A session's breaker's share, for the one stdio session (the proxy serves nothing else): not
// ready while open, so a Service sends new callers to pods whose server works; half-open is ready
// again, or the probe that would close it could never come. Over HTTP a session's open breaker is
// that session's alone and never reaches /readyz: it would turn every new caller away.
export function circuitReadiness(breaker: CircuitSource): Readiness {
  if (breaker.state !== 'open') return READY;
  return { ready: false, reason: `the circuit breaker is open: the MCP server kept failing; a probe may pass in ${breaker.retryAfterMs} ms` };
}

/** Ready when every part is: the first part that is not says why. */
export function combineReadiness(...parts: ReadonlyArray<() => Readiness>): () => Readiness {
  return () => {
    for (const part of parts) {
      const readiness = part();
      if (!readiness.ready) return readiness;
    }
    return READY;
  };
}

/** What readiness reads of a policy bundle source (--policy-url): the policy-bundle component's PolicyBundleStatus fits. */
export interface PolicyBundleSource {
  readonly url: string;
  readonly source: 'control-plane' | 'cache' | 'file';
  readonly revision: number | undefined;
  readonly lastError: string | undefined;
}

// The policy's share: a proxy always has a policy in force once started (without one it refuses
// to start), so this never makes the pod unready: a control plane that is down must not take a
// fleet out of service, and last known good is what it is for. It says where the policy came
// from, for /readyz's body.
export function policyReadiness(bundle: PolicyBundleSource): Readiness & { readonly policy: string } {
  const from = bundle.source === 'control-plane' ? `revision ${bundle.revision} from ${bundle.url}`
    : bundle.source === 'cache' ? `revision ${bundle.revision}, the last known good bundle (${bundle.url} not reached since start)`
      : `the --policy file (no bundle from ${bundle.url} yet)`;
  return { ready: true, policy: bundle.lastError === undefined ? from : `${from}; last poll: ${bundle.lastError}` };
}
