// What the proxy knows of MCP itself, in one place: which methods name a target (a tool, a
// prompt, a resource) and in which field, where cancellation and progress are spelled, and the
// protocol eras. The pump, reports, transcripts, the policy rules and HTTP all read these facts
// here, so they cannot drift apart (they had: `resources/subscribe` was a target in reports
// only). Everything here reads a parsed body; nothing parses.
import { idKeyOfValue } from '../framing/index.js';

export const INITIALIZE = 'initialize';
export const INITIALIZED = 'notifications/initialized';
export const CANCELLED = 'notifications/cancelled';
export const PROGRESS = 'notifications/progress';
/** What a server sends when a list it declared `listChanged` for changed: the client lists again. */
export const LIST_CHANGED_NOTIFICATIONS = Object.freeze({
  tools: 'notifications/tools/list_changed', prompts: 'notifications/prompts/list_changed', resources: 'notifications/resources/list_changed',
} as const);

export type TargetKind = 'tool' | 'prompt' | 'resource';

/** A method that acts on one named thing, and the `params` member that names it. */
export interface TargetField {
  readonly kind: TargetKind;
  readonly field: 'name' | 'uri';
}

const TARGETS: ReadonlyMap<string, TargetField> = new Map<string, TargetField>([
  ['tools/call', Object.freeze({ kind: 'tool', field: 'name' })],
  ['prompts/get', Object.freeze({ kind: 'prompt', field: 'name' })],
  ['resources/read', Object.freeze({ kind: 'resource', field: 'uri' })],
  ['resources/subscribe', Object.freeze({ kind: 'resource', field: 'uri' })],
  ['resources/unsubscribe', Object.freeze({ kind: 'resource', field: 'uri' })],
]);

/** The methods that name a target, in a fixed order (docs, schemas). */
export const TARGET_METHODS: readonly string[] = Object.freeze([...TARGETS.keys()]);

/** The methods that name a target of this kind (a resource: read, subscribe, unsubscribe). */
export function methodsTargeting(kind: TargetKind): readonly string[] {
  return TARGET_METHODS.filter((method) => TARGETS.get(method)!.kind === kind);
}

/** The target field of a method, or undefined when the method names no single target. */
export function targetFieldOf(method: string): TargetField | undefined {
  return TARGETS.get(method);
}

/** What a request acts on: its kind and name (a tool's name, a resource's URI), when it names one as a string. */
export function targetOf(method: string, body: unknown): { readonly kind: TargetKind; readonly name: string } | undefined {
  const field = TARGETS.get(method);
  if (field === undefined) return undefined;
  const name = paramsOf(body)?.[field.field];
  return typeof name === 'string' ? { kind: field.kind, name } : undefined;
}

/** A message's `params` when it is an object. */
export function paramsOf(body: unknown): Record<string, unknown> | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const params = (body as { params?: unknown }).params;
  return params !== null && typeof params === 'object' && !Array.isArray(params) ? params as Record<string, unknown> : undefined;
}

/** The id a `notifications/cancelled` names, as its key (ids by value: `7` and `7.0` are one); undefined when it names none. */
export function cancelledRequestKey(body: unknown): string | undefined {
  return idKeyOfValue(paramsOf(body)?.['requestId']);
}

/** The raw `requestId` of a `notifications/cancelled` (a string or number), else undefined. */
export function cancelledRequestId(body: unknown): string | number | undefined {
  const id = paramsOf(body)?.['requestId'];
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/** `params._meta.progressToken` of a request that asks for progress (a string or number), else undefined. */
export function requestProgressToken(body: unknown): string | number | undefined {
  const meta = paramsOf(body)?.['_meta'];
  if (meta === null || typeof meta !== 'object') return undefined;
  const token = (meta as { progressToken?: unknown }).progressToken;
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}

/** `params.progressToken` of a `notifications/progress`, else undefined. */
export function progressNotificationToken(body: unknown): string | number | undefined {
  const token = paramsOf(body)?.['progressToken'];
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}

/** The `_meta` member that names a 2026-07-28 request's protocol version. */
export const PROTOCOL_VERSION_META = 'io.modelcontextprotocol/protocolVersion';

/** Every protocol version the proxy knows, oldest first. */
export const KNOWN_PROTOCOL_VERSIONS: readonly string[] = Object.freeze(['2024-10-07', '2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28']);
/** The first stateless era (no initialize; each request carries its version). */
export const FIRST_STATELESS_VERSION = '2026-07-28';
/** JSON-RPC batches were part of MCP in this era only. */
export const BATCH_VERSION = '2025-03-26';

/** True for a version of the stateless era (dates compare as strings). */
export function isStatelessVersion(version: string): boolean {
  return version >= FIRST_STATELESS_VERSION;
}

/** The protocol version a request's `params._meta` names (2026-07-28: each request carries it), else undefined. */
export function requestProtocolVersion(body: unknown): string | undefined {
  const meta = paramsOf(body)?.['_meta'];
  if (meta === null || typeof meta !== 'object') return undefined;
  const version = (meta as Record<string, unknown>)[PROTOCOL_VERSION_META];
  return typeof version === 'string' ? version : undefined;
}

/** Every method of every MCP era, requests and notifications (metrics label these as themselves; anything else is `other`). */
export const MCP_METHODS = Object.freeze([
  'initialize', 'ping', 'server/discover',
  'tools/list', 'tools/call',
  'resources/list', 'resources/templates/list', 'resources/read', 'resources/subscribe', 'resources/unsubscribe',
  'prompts/list', 'prompts/get',
  'completion/complete', 'logging/setLevel',
  'sampling/createMessage', 'elicitation/create', 'roots/list',
  'tasks/get', 'tasks/result', 'tasks/list', 'tasks/cancel',
  'subscriptions/listen',
  'notifications/initialized', 'notifications/cancelled', 'notifications/progress', 'notifications/message',
  'notifications/resources/updated', 'notifications/resources/list_changed', 'notifications/tools/list_changed',
  'notifications/prompts/list_changed', 'notifications/roots/list_changed', 'notifications/elicitation/complete',
  'notifications/tasks/status', 'notifications/subscriptions/acknowledged',
] as const);
