// What ties the frames of one invocation together in a transcript: a response answers the
// request with the same id that travelled the other way, in the same session. Ids are compared
// by value, as the pump compares them (`1` and `1.0`, `"a"` and `"\u0061"` are one id).
import { boundedText, MAX_COPIED_CHARS } from '../execution-report/index.js';
import type { Direction } from '../policy/index.js';
import { idKey } from '../framing/index.js';
import { cancelledRequestId, targetOf as mcpTargetOf } from '../mcp/index.js';
import type { FrameLine } from './read.js';

const OPPOSITE: Readonly<Record<Direction, Direction>> = { 'client-to-server': 'server-to-client', 'server-to-client': 'client-to-server' };

/**
 * An id as a transcript line records it: as written while short; longer than
 * `MAX_COPIED_CHARS`, bounded (execution-report's `boundedText`: a prefix and a digest of the
 * whole) over its value's key, so every spelling of one long id is recorded as one text. Bounded
 * text is not JSON and is its own bound, so `valueOf` of a recorded id and of the full id (a
 * cancellation's `requestId`, read from the body) agree.
 */
export function recordedId(id: string): string {
  return id.length <= MAX_COPIED_CHARS ? id : boundedText(idKey(id) ?? id);
}

function valueOf(id: string): string {
  // Not a JSON id (a redacted or bounded id, hand-edited): compared as written.
  return recordedId(idKey(id) ?? id);
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
