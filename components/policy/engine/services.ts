// Which service a frame belongs to, in gateway mode (--servers, docs/gateway.md), for the
// `server:` condition (rules/conditions.ts) and CEL `server`. The pump is unchanged: it passes this
// resolver where it passes the server's name, and the frame resolves it on first read, so a frame
// no such rule reads pays nothing, and one that is read pays for one parse it shares with the
// other rules (FrameContext.body).
//
// One reading: the namespace is found the way the gateway routes (components/gateway/channel.ts
// routeByName): the decoded name up to the first separator, when that is a service's name. What
// the gateway routes by its state (a resource URI by which service listed it or whose template
// matches it, a client's cancellation by which service holds the request, the client's answer by
// which service asked, a service's own frames) is asked of the gateway itself (GatewayRoutes: its
// own routing, read-only); where the gateway would refuse the frame, or cannot say, the service
// is undefined, undecided: a condition then keeps its rule applying (fail closed).
import { idKeyOfValue } from '../../framing/index.js';
import { cancelledRequestKey } from '../../mcp/index.js';
import type { FrameContext } from './types.js';

/** CEL `server` (and the resolver's gatewayName) in gateway mode for a frame of no one service: the gateway's own, or one it cannot place. */
export const GATEWAY_SERVER_NAME = 'gateway';

/**
 * What the gateway channel answers of its own routing, read-only (components/gateway GatewayChannel).
 * Each is asked synchronously while the frame is evaluated: a client's frame before the gateway
 * routes it (so by the state it will be routed by), a service's frame while the gateway hands it
 * to the pump (the pump evaluates it in that call).
 */
export interface GatewayRoutes {
  /** The service a resource URI goes to; undefined when the gateway would refuse it (no one listed it, or two did). */
  serviceOfUri(uri: string): string | undefined;
  /** The service holding the client's request this key names; null for a fan-out; undefined when none is in flight. */
  serviceOfCancelled(clientKey: string): string | null | undefined;
  /** The service whose frame is on its way to the client now; undefined for none (the gateway's own, a batch's array). */
  sourceOfDelivery(): string | undefined;
  /** The service whose request the client's answer under this gateway key answers; undefined for a key the gateway did not issue (or no longer awaits). */
  serviceOfAnswer(gatewayKey: string): string | undefined;
  /** While a client batch's array of answers is handed over: the service that answered the member for this client key; null for a fan-out; undefined otherwise. */
  serviceOfBatchAnswer(clientKey: string): string | null | undefined;
}

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
const CANCELLED = 'notifications/cancelled';
const RESOURCE_REQUESTS: ReadonlySet<string> = new Set(['resources/read', 'resources/subscribe', 'resources/unsubscribe']);

// The client requests the gateway answers itself or sends to every service: no one service's.
const GATEWAY_REQUESTS: ReadonlySet<string> = new Set([
  'initialize', 'server/discover', 'ping', 'logging/setLevel',
  'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list',
]);
/**
 * `routes`: the gateway's own answers for what it routes by its state (absent: those frames are
 * undecided). Each of its methods may be absent (a gateway that does not answer it).
 */
export function createNamespaceResolver(separator: string, services: readonly string[], gatewayName: string, routes?: Partial<GatewayRoutes>): ServiceResolver {
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
  const serviceOfUri = routes?.serviceOfUri?.bind(routes);
  const uriService = (uri: unknown): string | undefined => (typeof uri === 'string' && serviceOfUri !== undefined ? serviceOfUri(uri) : undefined);
  const serviceOfCancelled = routes?.serviceOfCancelled?.bind(routes);
  const sourceOfDelivery = routes?.sourceOfDelivery?.bind(routes);
  const serviceOfAnswer = routes?.serviceOfAnswer?.bind(routes);
  const serviceOfBatchAnswer = routes?.serviceOfBatchAnswer?.bind(routes);
  return {
    gatewayName,
    serviceOf(frame) {
      const { method } = frame;
      if (frame.direction === 'server-to-client') {
        if (frame.phase === 'response') {
          // The answer to a call the gateway routed by its name (the pump reads the tool for rules that need it).
          if (method === TOOLS_CALL && frame.tool !== undefined) return namespaceOf(frame.tool);
          if (GATEWAY_REQUESTS.has(method)) return null;
        }
        // A service's answer, request or notification: the service the gateway is handing it over from.
        const source = sourceOfDelivery === undefined ? undefined : sourceOfDelivery();
        if (source !== undefined || frame.phase !== 'response' || serviceOfBatchAnswer === undefined) return source;
        // A member of the one array the gateway writes for a client batch: the service that answered it, by its id's key.
        const key = idKeyOfValue(idOf(frame));
        return key === undefined ? undefined : serviceOfBatchAnswer(key);
      }
      if (frame.phase === 'response') {
        // The client's answer goes to the service that asked, found as the gateway finds it: by
        // the key of its id (FrameContext carries no id; the body is the one the rules share).
        const key = serviceOfAnswer === undefined ? undefined : idKeyOfValue(idOf(frame));
        return key === undefined ? undefined : serviceOfAnswer!(key);
      }
      if (method === TOOLS_CALL || method === PROMPTS_GET) return namespaceOf(paramsOf(frame)?.['name']);
      if (method === COMPLETE) {
        const ref = paramsOf(frame)?.['ref'];
        const target = typeof ref === 'object' && ref !== null ? (ref as Record<string, unknown>) : undefined;
        // As the gateway routes it: by the name when the ref has one, else by its URI.
        if (target?.['name'] !== undefined) return namespaceOf(target['name']);
        return uriService(target?.['uri']);
      }
      if (RESOURCE_REQUESTS.has(method)) return uriService(paramsOf(frame)?.['uri']);
      if (method === CANCELLED) {
        const key = serviceOfCancelled === undefined ? undefined : cancelledRequestKey(frame.body());
        return key === undefined ? undefined : serviceOfCancelled!(key);
      }
      // The gateway's own (GATEWAY_REQUESTS), a notification it sends to every service, or a
      // method it answers itself (-32601): none reaches one service.
      return null;
    },
  };
}

function idOf(frame: FrameContext): unknown {
  const body = frame.body();
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['id'] : undefined;
}

function paramsOf(frame: FrameContext): Record<string, unknown> | undefined {
  const body = frame.body();
  if (typeof body !== 'object' || body === null) return undefined;
  const params = (body as Record<string, unknown>)['params'];
  return typeof params === 'object' && params !== null ? (params as Record<string, unknown>) : undefined;
}
