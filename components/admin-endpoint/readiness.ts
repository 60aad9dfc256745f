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
