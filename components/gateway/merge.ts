// What the gateway tells the client of many services as one: their handshakes and their lists,
// merged. Everything here works on parsed results (these frames are rare: one initialize, a few
// lists) and is pure, so the rules are tested on their own.
import { createHmac, randomBytes } from 'node:crypto';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Capabilities merged: a capability is declared when any service declares it; a nested flag
 * (`listChanged`, `subscribe`) is true when any service's is; other nested values keep the first
 * service's (in the services' order).
 */
export function mergeCapabilities(all: readonly unknown[]): Json {
  const merged: Json = {};
  for (const capabilities of all) if (isObject(capabilities)) mergeInto(merged, capabilities);
  return merged;
}

function mergeInto(target: Json, source: Json): void {
  for (const [key, value] of Object.entries(source)) {
    const present = target[key];
    if (present === undefined) target[key] = isObject(value) ? structuredClone(value) : value;
    else if (isObject(present) && isObject(value)) mergeInto(present, value);
    else if (typeof present === 'boolean' && typeof value === 'boolean') target[key] = present || value;
  }
}

/** One service's answer to the handshake (initialize, or server/discover), by its name. */
export interface ServiceHandshake {
  readonly service: string;
  readonly result: Json;
}

export interface MergedHandshakeOptions {
  readonly requestedVersion: string | undefined;
  readonly serverInfo: { readonly name: string; readonly version: string };
}

/**
 * The version the client is told: the one it asked for when every service answered with it;
 * else the oldest any service answered (a client that speaks a version speaks the older ones a
 * server falls back to, and a server that answered a newer one was offered the client's).
 * `agreed` is false when the services differ (logged by the caller).
 */
export function mergedProtocolVersion(answered: readonly (string | undefined)[], requested: string | undefined): { version: string | undefined; agreed: boolean } {
  const versions = answered.filter((version): version is string => typeof version === 'string');
  if (versions.length === 0) return { version: requested, agreed: true };
  const agreed = versions.every((version) => version === versions[0]);
  if (agreed) return { version: versions[0], agreed };
  return { version: versions.reduce((oldest, version) => (version < oldest ? version : oldest)), agreed };
}

/** Each service's instructions, in order, each under its service's name. */
export function mergedInstructions(handshakes: readonly ServiceHandshake[]): string | undefined {
  const parts = handshakes.flatMap(({ service, result }) => (typeof result['instructions'] === 'string' && result['instructions'] !== '' ? [`[${service}] ${result['instructions']}`] : []));
  return parts.length === 0 ? undefined : parts.join('\n\n');
}

/** The versions every service supports (server/discover's `supportedVersions`), in the first service's order. */
function commonVersions(handshakes: readonly ServiceHandshake[]): string[] | undefined {
  const lists = handshakes.map(({ result }) => result['supportedVersions']).filter((list): list is unknown[] => Array.isArray(list));
  if (lists.length === 0) return undefined;
  return lists[0]!.filter((version): version is string => typeof version === 'string' && lists.every((list) => list.includes(version)));
}

/** The gateway's answer to `initialize` (or `server/discover`) from the services that answered it. */
export function mergeHandshakes(handshakes: readonly ServiceHandshake[], options: MergedHandshakeOptions): { result: Json; versionsAgreed: boolean } {
  const result: Json = {};
  const { version, agreed } = mergedProtocolVersion(handshakes.map(({ result: each }) => each['protocolVersion'] as string | undefined), options.requestedVersion);
  if (handshakes.some(({ result: each }) => 'protocolVersion' in each) && version !== undefined) result['protocolVersion'] = version;
  const supported = commonVersions(handshakes);
  if (supported !== undefined) result['supportedVersions'] = supported;
  result['capabilities'] = mergeCapabilities(handshakes.map(({ result: each }) => each['capabilities']));
  result['serverInfo'] = { name: options.serverInfo.name, version: options.serverInfo.version };
  const instructions = mergedInstructions(handshakes);
  if (instructions !== undefined) result['instructions'] = instructions;
  return { result, versionsAgreed: agreed };
}

/** The lists the gateway merges: the method, the member holding the items, and whether names are namespaced. */
export interface ListKind {
  readonly method: string;
  readonly items: 'tools' | 'prompts' | 'resources' | 'resourceTemplates';
  /** The capability a service must declare to be asked (when its capabilities are known). */
  readonly capability: 'tools' | 'prompts' | 'resources';
  readonly namespaced: boolean;
}

export const LIST_KINDS: ReadonlyMap<string, ListKind> = new Map<string, ListKind>([
  ['tools/list', { method: 'tools/list', items: 'tools', capability: 'tools', namespaced: true }],
  ['prompts/list', { method: 'prompts/list', items: 'prompts', capability: 'prompts', namespaced: true }],
  ['resources/list', { method: 'resources/list', items: 'resources', capability: 'resources', namespaced: false }],
  ['resources/templates/list', { method: 'resources/templates/list', items: 'resourceTemplates', capability: 'resources', namespaced: false }],
]);

/** Where a paginated merged list goes on: each service that has more, with its own cursor. */
export interface ListPosition {
  readonly method: string;
  readonly parts: ReadonlyArray<readonly [service: string, cursor: string]>;
}

/**
 * The gateway's list cursors: opaque to the client, they carry which services have more and each
 * one's cursor, signed with a key of this gateway instance, so a cursor the gateway did not issue
 * (or issued for another list) is refused instead of being passed to a service.
 */
export class CursorCodec {
  readonly #key: Buffer;

  constructor(key: Buffer = randomBytes(32)) {
    this.#key = key;
  }

  encode(position: ListPosition): string {
    const payload = Buffer.from(JSON.stringify([position.method, position.parts])).toString('base64url');
    return `${payload}.${this.#mac(payload)}`;
  }

  /** The position a cursor stands for, or undefined when this gateway did not issue it for `method`. */
  decode(cursor: string, method: string): ListPosition | undefined {
    const dot = cursor.indexOf('.');
    if (dot < 0) return undefined;
    const payload = cursor.slice(0, dot);
    if (cursor.slice(dot + 1) !== this.#mac(payload)) return undefined;
    const [listMethod, parts] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [string, Array<[string, string]>];
    return listMethod === method ? { method, parts } : undefined;
  }

  #mac(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url').slice(0, 22);
  }
}
