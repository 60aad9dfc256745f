// Which service a frame belongs to, in gateway mode (--servers, docs/gateway.md), for the
// `server:` condition (rules/conditions.ts) and CEL `server`. The pump is unchanged: it passes this
// resolver where it passes the server's name, and the frame resolves it on first read, so a frame
// no such rule reads pays nothing, and one that is read pays for one parse it shares with the
// other rules (FrameContext.body).
//
// One reading: the namespace is found the way the gateway routes (components/gateway/channel.ts
// routeByName): the decoded name up to the first separator, when that is a service's name. What
// the gateway routes by state the rules cannot see (a resource URI by which service listed it, a
// client's cancellation by which service holds the request, a service's own frames) is
// undefined, undecided: a condition then keeps its rule applying (fail closed).
import type { FrameContext } from './types.js';

/** What evaluateFrame takes in place of a server's name in gateway mode. */
export interface ServiceResolver {
  /** CEL `server` of a frame that belongs to no one service, or whose service is undecided. */
  readonly gatewayName: string;
  /** The frame's service; null when it belongs to none (the gateway answers or fans it out); undefined when undecided. */
  serviceOf(frame: FrameContext): string | null | undefined;
}

const TOOLS_CALL = 'tools/call';
const PROMPTS_GET = 'prompts/get';
const COMPLETE = 'completion/complete';

// The client requests the gateway answers itself or sends to every service: no one service's.
const GATEWAY_REQUESTS: ReadonlySet<string> = new Set([
  'initialize', 'server/discover', 'ping', 'logging/setLevel',
  'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list',
]);
// Routed to one service by what the gateway remembers, not by the frame's bytes.
const ROUTED_BY_STATE: ReadonlySet<string> = new Set([
  'resources/read', 'resources/subscribe', 'resources/unsubscribe', 'notifications/cancelled',
]);

export function createNamespaceResolver(separator: string, services: readonly string[], gatewayName: string): ServiceResolver {
  if (separator.length === 0) throw new Error('the gateway separator is empty');
  const known: ReadonlySet<string> = new Set(services);
  /** The service a namespaced name is routed to; undefined for a name in no namespace (the gateway refuses it). */
  const namespaceOf = (name: unknown): string | undefined => {
    if (typeof name !== 'string') return undefined;
    const at = name.indexOf(separator);
    if (at <= 0) return undefined;
    const prefix = name.slice(0, at);
    return known.has(prefix) ? prefix : undefined;
  };
  return {
    gatewayName,
    serviceOf(frame) {
      const { method } = frame;
      if (frame.direction === 'server-to-client') {
        // The answer to a call the gateway routed by its name (the pump reads the tool for rules that need it).
        if (frame.phase === 'response') {
          if (method === TOOLS_CALL) return namespaceOf(frame.tool);
          return GATEWAY_REQUESTS.has(method) ? null : undefined;
        }
        return undefined; // a service's own request or notification: which one, only the gateway knows
      }
      if (frame.phase === 'response') return undefined; // the client's answer goes to the service that asked
      if (method === TOOLS_CALL || method === PROMPTS_GET) return namespaceOf(paramsOf(frame)?.['name']);
      if (method === COMPLETE) {
        const ref = paramsOf(frame)?.['ref'];
        const name = typeof ref === 'object' && ref !== null ? (ref as Record<string, unknown>)['name'] : undefined;
        return name === undefined ? undefined : namespaceOf(name);
      }
      if (ROUTED_BY_STATE.has(method)) return undefined;
      // The gateway's own (GATEWAY_REQUESTS), a notification it sends to every service, or a
      // method it answers itself (-32601): none reaches one service.
      return null;
    },
  };
}

function paramsOf(frame: FrameContext): Record<string, unknown> | undefined {
  const body = frame.body();
  if (typeof body !== 'object' || body === null) return undefined;
  const params = (body as Record<string, unknown>)['params'];
  return typeof params === 'object' && params !== null ? (params as Record<string, unknown>) : undefined;
}
