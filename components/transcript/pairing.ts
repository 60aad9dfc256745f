// What ties the frames of one invocation together in a transcript: a response answers the
// request with the same id that travelled the other way, in the same session. Ids are compared
// by value, as the pump compares them (`1` and `1.0`, `"a"` and `"\u0061"` are one id).
import type { Direction } from '../policy/index.js';
import { idKey } from '../framing/index.js';
import { cancelledRequestId, targetOf as mcpTargetOf } from '../mcp/index.js';
import type { FrameLine } from './read.js';

const OPPOSITE: Readonly<Record<Direction, Direction>> = { 'client-to-server': 'server-to-client', 'server-to-client': 'client-to-server' };

function valueOf(id: string): string {
  return idKey(id) ?? id; // not a JSON id (a redacted id, hand-edited): compared as written
}

/** The key of the request a frame opens (a request) or answers (a response). */
export function pairKey(frame: Pick<FrameLine, 'session' | 'direction' | 'kind' | 'id'>): string {
  const direction = frame.kind === 'response' ? OPPOSITE[frame.direction] : frame.direction;
  return `${frame.session ?? ''}\u0000${direction}\u0000${valueOf(frame.id ?? '')}`;
}

/** The key of the request a `notifications/cancelled` from this side names, if it names one. */
export function cancelledKey(frame: FrameLine): string | undefined {
  const requestId = cancelledRequestId(frame.frame);
  if (requestId === undefined) return undefined;
  return pairKey({ session: frame.session, direction: frame.direction, kind: 'request', id: JSON.stringify(requestId) });
}

/** What an invocation acts on, for grouping: the tool, prompt or resource it names, else its method. */
export interface Target {
  readonly type: 'tool' | 'prompt' | 'resource' | 'method';
  readonly name: string;
}

// The methods that name a target, and where, are MCP facts (components/mcp): reports and
// transcripts group by the same ones (`resources/subscribe` names a resource too).
export function targetOf(method: string, body: unknown): Target {
  const target = mcpTargetOf(method, body);
  return target === undefined ? { type: 'method', name: method } : { type: target.kind, name: target.name };
}
