/**
 * W3C Trace Context as MCP carries it: `params._meta.traceparent` (and `tracestate`) of a
 * request (the MCP semantic conventions' context propagation). Read only from a parsed body;
 * formatted for injection.
 */
import { paramsOf } from '../mcp/index.js';

export interface RemoteContext {
  readonly traceId: string;
  readonly spanId: string;
  /** The sampled flag and the rest of the trace-flags byte. */
  readonly traceFlags: number;
  readonly traceState: string | undefined;
}

// version-traceid-parentid-flags; a later version may append fields after the flags (W3C §3.3: read what is understood).
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO = /^0+$/;

/** A traceparent header's value read by the W3C rules, or undefined when it is not one (then a new trace starts). */
export function parseTraceparent(value: string, traceState?: string): RemoteContext | undefined {
  const match = TRACEPARENT.exec(value.trim());
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  // ff is forbidden; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (ALL_ZERO.test(traceId!) || ALL_ZERO.test(spanId!)) return undefined;
  return { traceId: traceId!, spanId: spanId!, traceFlags: Number.parseInt(flags!, 16), traceState };
}

/** The context a request's `params._meta` carries, if it carries a valid one. */
export function remoteContextOf(body: unknown): RemoteContext | undefined {
  const meta = paramsOf(body)?.['_meta'];
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return undefined;
  const { traceparent, tracestate } = meta as { traceparent?: unknown; tracestate?: unknown };
  if (typeof traceparent !== 'string') return undefined;
  return parseTraceparent(traceparent, typeof tracestate === 'string' ? tracestate : undefined);
}

/** The traceparent value of a span: version 00. */
export function formatTraceparent(traceId: string, spanId: string, traceFlags: number): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}
