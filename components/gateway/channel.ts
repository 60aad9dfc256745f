// The gateway's server side: one FrameChannel (what the pump talks to, as to one server) over
// many services, each a FrameChannel of its own (its governor's, wrapped by session recovery).
// Client requests are routed by namespace (a tool's or prompt's name prefix) or by which service
// listed a resource, under a gateway correlation id (a number never issued twice, so ids from
// the client and from every service never meet); the handshake and the lists are fanned out and
// merged. A frame passed on unchanged but for its id keeps its bytes: the id's bytes are spliced
// (json-members.ts), or, when the gateway id was issued at the client id's length, the answer's
// are overwritten in place. One service's failure answers only its own requests (docs/gateway.md).
// The per-call path is hot (issue 18: ≤ 1.5 µs over the one-server proxy): no string or map
// entry per call (the awaiting table), byte loops over short spans rather than native calls.
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.js';
import { encodeErrorResponse, type ErrorCode } from '../errors/index.js';
import { lastReadPositions, parseFrameBody, readEnvelope, readOversizedId, type BatchMember, type Envelope, type EnvelopeResult, type MessagePositions, type OversizedLine } from '../framing/index.js';
import {
  CANCELLED, INITIALIZE, INITIALIZED, LIST_CHANGED_NOTIFICATIONS, cancelledRequestKey, paramsOf,
} from '../mcp/index.js';
import type { FrameChannel, FrameChannelHandlers, LocalReplyTarget } from '../transport/index.js';
import { BatchAnswer } from './batch-answer.js';
import { applyEdits, copyBytes, idSpan, idValueStart, isPlainString, locateCall, paramsNameStart, pathSpan, sortedEdits, stringAt, valueEnd, type CallMembers, type Edit, type Span } from './json-members.js';
import { CursorCodec, LIST_KINDS, mergeHandshakes, type ListKind, type ServiceHandshake } from './merge.js';
import { compileUriTemplate, type UriTemplateMatcher } from './uri-template.js';

export interface GatewayService {
  /** The namespace (`fs`): its tools are `fs.read_file`. */
  readonly name: string;
  /** That service's server side: its governor's channel, wrapped by session recovery. */
  readonly channel: FrameChannel;
}

export interface GatewayOptions {
  readonly services: readonly GatewayService[];
  /** Between a namespace and a name: '.' by default. */
  readonly separator: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly serverInfo: { readonly name: string; readonly version: string };
  /**
   * How long a fanned-out request (initialize, a list, logging/setLevel) waits for the slowest
   * service before it is answered with those that did; the rest are left out (logged). 30 s by default.
   */
  readonly fanOutTimeoutMs?: number;
}

export type GatewayChannel = FrameChannel & {
  /** That service's governor gave up (past its restarts): its requests get the retryable error, its namespace answers errors, the others go on. */
  serviceDown(name: string, reason: string): void;
  /**
   * Its server restarted and answered the client's initialize, replayed by its session recovery,
   * with `result`: a service left out of the handshake joins as a late one does (a down one stays
   * down). `listChangedSent`: the list_changed methods recovery already sent the client.
   */
  serviceRecovered(name: string, result: Record<string, unknown>, listChangedSent: readonly string[]): void;
  /**
   * The rules' questions (policy/engine/services.ts), answered by the routing the channel itself
   * uses, read-only: the service a resource URI would go to (undefined: refused, no one or two
   * services); the service holding the client's request `clientKey` a cancellation names (null: a
   * fan-out, several; undefined: none in flight); the service whose frame is on its way to the
   * client at this moment (undefined: none, or the gateway's own, or a batch's array).
   */
  serviceOfUri(uri: string): string | undefined;
  serviceOfCancelled(clientKey: string): string | null | undefined;
  sourceOfDelivery(): string | undefined;
  /** The service whose request (sampling, elicitation, roots) the client's answer under `gatewayKey` answers; undefined for a key it did not issue or no longer awaits. */
  serviceOfAnswer(gatewayKey: string): string | undefined;
  /**
   * While the array of a client batch's answers is on its way to the client: the service that
   * answered its member for the client's request `clientKey` (null: a fan-out the gateway answered
   * from several); undefined for any other key, or when no array is on its way.
   */
  serviceOfBatchAnswer(clientKey: string): string | null | undefined;
  /**
   * The gateway id (JSON text) the client's request `clientId` (its id as written) went to its
   * service under, while the gateway settles that call (its answer or its error on the way to the
   * client: read when the request ends, for its report); undefined for any other request (a
   * fan-out, the gateway's own answer, one ended by the pump: refused, cancelled, stopped).
   */
  correlationOf(clientId: string): string | undefined;
  /**
   * correlationOf's sibling for a fan-out (initialize, server/discover, a list, logging/setLevel):
   * by service name, the gateway id (JSON text) each service it sent a part to received it under,
   * while the gateway answers it (read when the request ends); undefined for any other request,
   * and for a fan-out no service was sent.
   */
  correlationsOf(clientId: string): Readonly<Record<string, string>> | undefined;
};

const DEFAULT_FAN_OUT_TIMEOUT_MS = 30_000;
const PING = 'ping';
const DISCOVER = 'server/discover';
const SET_LEVEL = 'logging/setLevel';
/** The scheme prefix that names a resource's service when two services list the same URI: `fs+file:///a`. */
const URI_SERVICE_MARK = '+';
const URI_PATH = [Buffer.from('params'), Buffer.from('uri')];
const REF_PATH = [Buffer.from('params'), Buffer.from('ref')];
const REF_NAME_PATH = [...REF_PATH, Buffer.from('name')];
const REF_URI_PATH = [...REF_PATH, Buffer.from('uri')];
const EMPTY_RESULT = {};
/** JSON-RPC's "method not found": what every service answering it is passed on as (not "unavailable"). */
const METHOD_NOT_FOUND = -32601;
/** The lists a service that joins late is announced for, by the capability that declares each. */
const LIST_CAPABILITIES = ['tools', 'prompts', 'resources'] as const;
const INITIALIZED_FRAME = Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', method: INITIALIZED })}\n`);
const INITIALIZED_ENVELOPE: Envelope = Object.freeze({ kind: 'notification', id: undefined, key: undefined, method: INITIALIZED });

interface Service {
  readonly name: string;
  /** Its name's UTF-8 bytes, to match a namespace in a frame's bytes. */
  readonly nameBytes: Buffer;
  /** Where the requests forwarded to it are copied. */
  readonly slab: RequestSlab;
  readonly channel: FrameChannel;
  /** `ready`; `left-out`: failed (or never answered) the client's initialize; `down`: gave up past its restarts. */
  state: 'ready' | 'left-out' | 'down';
  reason: string | undefined;
  /** Its answer's capabilities, once it answered initialize (undefined: not known, so it is asked for every list). */
  capabilities: Record<string, unknown> | undefined;
  congested: boolean;
  ended: boolean;
  /** Its requests to the client in flight, by their key as the service wrote it → the gateway id the client saw. */
  readonly asked: Map<string, string>;
  /** The gateway id of the client's initialize it did not answer in time (-1: none): an answer under it lets it join late. */
  lateInitializeId: number;
  /** Its resource templates (resources/templates/list), each compiled once, by template text; renewed by each first page. */
  templates: Map<string, UriTemplateMatcher>;
  /** Every template text of its last listing, routed by or not (a text two services list is marked); renewed by each first page. */
  listedTemplates: Set<string>;
}

/** A client request as the gateway holds it: the pump's target, and the batch it came in (undefined: a lone request). */
interface ClientTarget extends LocalReplyTarget {
  readonly batch: BatchAnswer | undefined;
}

/** A client request forwarded to one service. */
interface Call {
  readonly kind: 'call';
  readonly service: Service;
  readonly gatewayId: number;
  readonly client: ClientTarget;
  /** Where the client's id lies in `client.line` (-1: not located), so its bytes are copied back into the answer as written. */
  readonly clientIdStart: number;
  readonly clientIdEnd: number;
}

/** A client request fanned out to several services, answered once from what they answer. */
interface FanOut {
  readonly kind: 'fan-out';
  readonly client: ClientTarget;
  /** The parts still awaited: gateway id → service. */
  readonly awaited: Map<number, Service>;
  /** How many services were asked, and how many of them answered -32601 (method not found). */
  asked: number;
  methodNotFound: number;
  /** Each service's result, by service (errors and silence leave it out). */
  readonly answered: Map<Service, Record<string, unknown>>;
  readonly finish: (fanOut: FanOut) => void;
  timer: unknown;
  /** Each service sent a part → its gateway id as JSON text (reports' correlationIds; fan-outs are rare, so made as they start). */
  readonly correlationIds: Record<string, string>;
}

interface Part {
  readonly kind: 'part';
  readonly service: Service;
  readonly gatewayId: number;
  readonly fanOut: FanOut;
}

type Awaited = Call | Part;

const INITIAL_SLOTS = 64;

/**
 * What the gateway awaits from services, by gateway id: one slot per id (`id & mask`) holding the
 * entry, which keeps its id; so settling a call is an index and a compare, with no string hashed
 * and no map entry made per call. An id is issued only onto a free slot (issueId skips the
 * others), and the table doubles while more than half full: two entries never share a slot.
 */
class AwaitingTable {
  private slots: Array<Awaited | undefined> = new Array<Awaited | undefined>(INITIAL_SLOTS).fill(undefined);
  private mask = INITIAL_SLOTS - 1;
  private count = 0;

  isFree(gatewayId: number): boolean {
    return this.slots[gatewayId & this.mask] === undefined;
  }

  get(gatewayId: number): Awaited | undefined {
    const entry = this.slots[gatewayId & this.mask];
    return entry !== undefined && entry.gatewayId === gatewayId ? entry : undefined;
  }

  /** `entry.gatewayId` was issued onto a free slot. */
  add(entry: Awaited): void {
    this.slots[entry.gatewayId & this.mask] = entry;
    if (++this.count * 2 > this.slots.length) this.grow();
  }

  delete(gatewayId: number): boolean {
    const at = gatewayId & this.mask;
    const entry = this.slots[at];
    if (entry === undefined || entry.gatewayId !== gatewayId) return false;
    this.slots[at] = undefined;
    this.count--;
    return true;
  }

  /** A snapshot (entries may be deleted while it is walked). */
  entries(): Awaited[] {
    return this.slots.filter((entry): entry is Awaited => entry !== undefined);
  }

  /** The call forwarded for the client's request `clientKey` (cancellation is rare: a walk, not an index kept per call). */
  callFor(clientKey: string): Call | undefined {
    for (const entry of this.slots) if (entry?.kind === 'call' && entry.client.key === clientKey) return entry;
    return undefined;
  }

  // Ids in different slots differ in their low bits, so they differ under the wider mask too.
  private grow(): void {
    const slots = new Array<Awaited | undefined>(this.slots.length * 2).fill(undefined);
    const mask = slots.length - 1;
    for (const entry of this.slots) if (entry !== undefined) slots[entry.gatewayId & mask] = entry;
    this.slots = slots;
    this.mask = mask;
  }
}

// A slab's end splits what one turn forwards into two writes (a writev, which costs Node far more
// than a write): at 64 KiB that was one write in six on the bench's 160-byte calls.
const SLAB_BYTES = 256 * 1024;
/** Larger frames get a buffer of their own: a write of their own costs little beside their bytes. */
const SLAB_MAX_FRAME = 8 * 1024;

/**
 * Where one service's request copies are made: one after another in a slab, so what one turn
 * forwards to that service is contiguous and its writer sends it in one write (the frame writer
 * joins adjacent views, as it does the client's own frames on the one-server path). Bytes handed
 * out are never written again: a full slab is left to the views that hold it.
 */
class RequestSlab {
  private buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private used = 0;

  /**
   * `line` (ending with its `\n`) with its id's bytes at idStart overwritten by `idText` (as long
   * as they are) and line[cutStart, cutEnd) cut out: the whole line copied in one
   * native copy (a whole buffer copies without the view a range needs), the id written, the rest
   * moved over the cut within the slab (copyWithin allocates nothing).
   */
  copyCut(line: Buffer, idStart: number, idText: string, cutStart: number, cutEnd: number): Buffer {
    const length = line.length;
    if (length > SLAB_MAX_FRAME || line[length - 1] !== 0x0a) {
      return applyEdits(line, sortedEdits({ start: idStart, end: idStart + idText.length, text: idText }, { start: cutStart, end: cutEnd, text: '' }), this.take);
    }
    if (this.used + length > this.buffer.length) {
      this.buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.used = 0;
    }
    const buffer = this.buffer;
    const at = this.used;
    line.copy(buffer, at);
    for (let k = 0; k < idText.length; k++) buffer[at + idStart + k] = idText.charCodeAt(k);
    let end = at + length;
    buffer.copyWithin(at + cutStart, at + cutEnd, end);
    end -= cutEnd - cutStart;
    this.used = end;
    return buffer.subarray(at, end);
  }

  readonly take = (length: number): Buffer => {
    if (length > SLAB_MAX_FRAME) return Buffer.allocUnsafe(length);
    if (this.used + length > this.buffer.length) {
      this.buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.used = 0;
    }
    const start = this.used;
    this.used += length;
    return this.buffer.subarray(start, this.used);
  };
}

/** The longest id text the gateway issues: 2^53 has 16 digits. */
const MAX_ID_LENGTH = 16;
/** Per length, the first id of that many digits and the bound past the last (ids stay within 2^53). */
const FIRST_ID_OF_LENGTH: readonly number[] = Array.from({ length: MAX_ID_LENGTH + 1 }, (_, length) => (length <= 1 ? length : 10 ** (length - 1)));
const ID_LIMIT_OF_LENGTH: readonly number[] = Array.from({ length: MAX_ID_LENGTH + 1 }, (_, length) => Math.min(10 ** length, Number.MAX_SAFE_INTEGER + 1));

/** The gateway id a key names (a plain non-negative integer, as String(number) writes it); -1 for any other key. */
function gatewayIdOfKey(key: string): number {
  const length = key.length;
  if (length === 0 || length > MAX_ID_LENGTH || (length > 1 && key.charCodeAt(0) === 0x30)) return -1;
  let id = 0;
  for (let k = 0; k < length; k++) {
    const digit = key.charCodeAt(k) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    id = id * 10 + digit;
  }
  return id;
}

/** A service's request to the client, under a gateway id. */
interface Asked {
  readonly service: Service;
  readonly id: string;
  readonly key: string;
}

function methodOf(envelope: EnvelopeResult): string {
  return envelope.method ?? '(unknown)';
}

export function createGatewayChannel(options: GatewayOptions): GatewayChannel {
  const { logger, clock, separator } = options;
  const fanOutTimeoutMs = options.fanOutTimeoutMs ?? DEFAULT_FAN_OUT_TIMEOUT_MS;
  const separatorBytes = Buffer.from(separator);
  const services: Service[] = options.services.map(({ name, channel }) => ({
    name, nameBytes: Buffer.from(name), slab: new RequestSlab(), channel, state: 'ready', reason: undefined, capabilities: undefined, congested: false, ended: false, asked: new Map(), lateInitializeId: -1, templates: new Map(), listedTemplates: new Set(),
  }));
  const byName = new Map(services.map((service) => [service.name, service]));
  const cursors = new CursorCodec();
  let handlers: FrameChannelHandlers | undefined;
  let congestedCount = 0;
  /** What the gateway awaits from services, by gateway id: a forwarded call, or one part of a fan-out. */
  const awaiting = new AwaitingTable();
  /** Where the request being routed has its id and params.name (locateCall writes it; read at once, never kept). */
  const callMembers: CallMembers = { idStart: -1, idEnd: -1, nameStart: -1 };
  /** Where the envelope reader saw the frame's id and params (lastReadPositions writes it; read at once, never kept). */
  const positions: MessagePositions = { idStart: -1, idEnd: -1, paramsStart: -1 };
  /**
   * Per id length, the next gateway id of that many digits. A call's gateway id is issued at the
   * length of the client's id when it can be, so the answer gets the client's id back in place,
   * without copying the frame; every id is issued once (late answers never meet a new call).
   */
  const nextIdOfLength = [...FIRST_ID_OF_LENGTH];
  /** Fan-outs in flight, by the client's key (cancellation names them so); calls are found in `awaiting`. */
  const fanOutsByClientKey = new Map<string, FanOut>();
  /** Services' requests to the client, by the gateway key the client saw. */
  const askedByGatewayKey = new Map<string, Asked>();
  /** Which services listed each resource URI (resources/list). */
  const uriOwners = new Map<string, Set<Service>>();
  /** The client sent notifications/initialized since its last initialize (a service joining late is then sent one). */
  let clientInitialized = false;
  /** The call whose answer (or error) is on its way to the client now: its request ends meanwhile (correlationOf). */
  let settling: Call | undefined;
  /** The fan-out being answered now: its request ends meanwhile (correlationsOf). */
  let settlingFanOut: FanOut | undefined;
  /** A batch's settled members, client id → gateway id (a call) or the fan-out, while its array is on its way to the client. */
  let settlingBatch: Map<string, Call | FanOut> | undefined;
  const batchCorrelations = new WeakMap<BatchAnswer, Map<string, Call | FanOut>>();
  // Per-call debug lines cost a level check per call, not an object: the level is fixed at start.
  const debugEnabled = logger.isLevelEnabled('debug');

  /**
   * The service whose frame the pump is handling now (sourceOfDelivery): set only around the
   * synchronous hand-over of that one frame and restored after it, so it never outlives it.
   */
  let delivering: Service | undefined;

  /** A frame to the client, from `source` (undefined: the gateway's own, or several services'). */
  function toClientFrom(source: Service | undefined, line: Buffer, envelope: Envelope): void {
    const outer = delivering;
    delivering = source;
    try {
      handlers!.onFrame(line, envelope);
    } finally {
      delivering = outer;
    }
  }

  const toClient = (line: Buffer, envelope: Envelope): void => toClientFrom(undefined, line, envelope);

  /** A new gateway id, of `preferredLength` digits when one is left, else the shortest left; always onto a free slot. */
  function issueId(preferredLength: number): number {
    if (preferredLength >= 1 && preferredLength <= MAX_ID_LENGTH) {
      const id = takeIdOfLength(preferredLength);
      if (id >= 0) return id;
    }
    for (let length = 1; length <= MAX_ID_LENGTH; length++) {
      const id = takeIdOfLength(length);
      if (id >= 0) return id;
    }
    throw new Error('the gateway has issued every id below 2^53');
  }

  function takeIdOfLength(length: number): number {
    const limit = ID_LIMIT_OF_LENGTH[length]!;
    let id = nextIdOfLength[length]!;
    while (id < limit && !awaiting.isFree(id)) id++;
    nextIdOfLength[length] = id < limit ? id + 1 : limit;
    return id < limit ? id : -1;
  }

  /** The frame with its top-level id replaced (its bytes otherwise as they were). */
  function withId(line: Buffer, idText: string, newId: string, extra?: Edit): Buffer {
    return withIdAt(line, idSpan(line, idText), newId, extra);
  }

  /** withId, the id's span already found (undefined: not located); the copy made by `allocate`. */
  function withIdAt(line: Buffer, span: Span | undefined, newId: string, extra?: Edit, allocate?: (length: number) => Buffer): Buffer {
    if (span === undefined) {
      // An id member written with escapes in its name: re-serialized (rare; one reading still holds, as JSON.parse reads it).
      const body = parseFrameBody(line) as Record<string, unknown>;
      body['id'] = JSON.parse(newId) as unknown;
      if (extra !== undefined) throw new Error('a frame whose id cannot be located cannot be edited in place');
      return Buffer.from(`${JSON.stringify(body)}\n`);
    }
    const idEdit: Edit = { start: span.start, end: span.end, text: newId };
    return applyEdits(line, extra === undefined ? [idEdit] : sortedEdits(idEdit, extra), allocate);
  }

  // ---- answers the gateway writes itself

  /**
   * An error for a client request, through the pump's one local reply (counted, observed, its
   * request ended); a batch member's goes into the batch's one array instead (the pump then
   * reads it as the server's answer: docs/gateway.md).
   */
  function answerError(target: ClientTarget, code: ErrorCode, detail: string): void {
    if (debugEnabled) logger.debug({ method: target.method, clientId: target.id, code }, 'the gateway answered a request with an error');
    if (target.batch === undefined && handlers!.onLocalReply !== undefined) return handlers!.onLocalReply(target, code, detail);
    // A batch member's error: the pump ends and counts it as its own local reply, and its bytes go into the array.
    if (target.batch !== undefined && handlers!.encodeLocalReply !== undefined) {
      return target.batch.answer(handlers!.encodeLocalReply(target, code, detail), { kind: 'error', id: target.id, key: target.key, method: undefined });
    }
    toClientOrBatch(target, encodeErrorResponse(target.id, code, detail), { kind: 'error', id: target.id, key: target.key, method: undefined });
  }

  function answerResult(target: ClientTarget, result: unknown): void {
    const line = Buffer.from(`{"jsonrpc":"2.0","id":${target.id},"result":${JSON.stringify(result)}}\n`);
    toClientOrBatch(target, line, { kind: 'response', id: target.id, key: target.key, method: undefined });
  }

  function toClientOrBatch(target: ClientTarget, line: Buffer, envelope: Envelope): void {
    if (target.batch === undefined) toClient(line, envelope);
    else target.batch.answer(line, envelope);
  }

  function unavailable(service: Service): string {
    return `service ${service.name}: ${service.reason ?? 'unavailable'}`;
  }

  // ---- client → services

  function sendCall(service: Service, client: ClientTarget, line: Buffer, idText: string, extra?: Edit): void {
    if (service.state !== 'ready') return answerError(client, 'SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE', unavailable(service));
    const span = idSpan(line, idText);
    const gatewayKey = awaitCall(service, client, span?.start ?? -1, span?.end ?? -1);
    service.channel.send(withIdAt(line, span, gatewayKey, extra, service.slab.take), { kind: 'request', id: gatewayKey, key: gatewayKey, method: client.method });
  }

  /**
   * The per-call path: a call whose id lies at [idStart, idEnd) (-1: not located) goes under a new
   * gateway id with line[cutStart, cutEnd) (its namespace) cut out, copied into the service's slab
   * whole and edited there (RequestSlab.copyCut): no span, edit or array objects, one native copy.
   */
  function sendCallCut(service: Service, client: ClientTarget, line: Buffer, idStart: number, idEnd: number, cutStart: number, cutEnd: number): void {
    const cut: Edit = { start: cutStart, end: cutEnd, text: '' };
    if (service.state !== 'ready' || idStart < 0) return sendCall(service, client, line, client.id, cut);
    const gatewayKey = awaitCall(service, client, idStart, idEnd);
    // A client id no gateway id has the length of (a UUID string): the edits the general way.
    const forwarded = gatewayKey.length === idEnd - idStart
      ? service.slab.copyCut(line, idStart, gatewayKey, cutStart, cutEnd)
      : withIdAt(line, { start: idStart, end: idEnd }, gatewayKey, cut, service.slab.take);
    service.channel.send(forwarded, { kind: 'request', id: gatewayKey, key: gatewayKey, method: client.method });
  }

  /** A new gateway id for a call whose client id lies at [idStart, idEnd) (-1: not located), awaited; its key. */
  function awaitCall(service: Service, client: ClientTarget, idStart: number, idEnd: number): string {
    const gatewayId = issueId(idEnd - idStart);
    awaiting.add({ kind: 'call', service, gatewayId, client, clientIdStart: idStart, clientIdEnd: idEnd });
    if (debugEnabled) logger.debug({ service: service.name, method: client.method, clientId: client.id, gatewayId }, 'a call was forwarded to its service');
    return String(gatewayId);
  }

  /**
   * A tools/call or prompts/get routed by its name (at `nameStart`, -1: none): a plain string's
   * namespace is found and cut out by its bytes (the per-call path: no objects); an escaped one
   * goes the long way (routeByName).
   */
  function routeCallByName(envelope: Envelope, line: Buffer, client: ClientTarget, nameStart: number, idStart: number, idEnd: number): void {
    if (nameStart >= 0) {
      const separatorAt = plainNameSeparator(line, nameStart);
      const service = separatorAt < 0 ? undefined : serviceNamed(line, nameStart + 1, separatorAt);
      if (service !== undefined) return sendCallCut(service, client, line, idStart, idEnd, nameStart + 1, separatorAt + separatorBytes.length);
    }
    const route = routeByName(line, nameStart < 0 ? undefined : { start: nameStart, end: valueEnd(line, nameStart) });
    if (typeof route === 'string') return answerError(client, 'SIDECAR_ERR_GATEWAY_NO_ROUTE', route);
    sendCall(route.service, client, line, envelope.id!, route.edit);
  }

  /**
   * In the string value at `at` (its opening quote), where the separator first occurs, in one pass
   * over the name; -1 when it has none, holds an escape (routeByName reads those) or is not a string.
   */
  function plainNameSeparator(line: Buffer, at: number): number {
    if (line[at] !== 0x22) return -1;
    const first = separatorBytes[0];
    let found = -1;
    for (let k = at + 1; k < line.length; k++) {
      const c = line[k];
      if (c === 0x22) return found;
      if (c === 0x5c) return -1;
      if (c === first && found < 0) {
        let n = 1;
        while (n < separatorBytes.length && line[k + n] === separatorBytes[n]) n++;
        if (n === separatorBytes.length) found = k;
      }
    }
    return -1;
  }

  /** Where the separator first occurs in line[start, end), -1 if nowhere (names are short: a loop, no native call). */
  function findSeparator(line: Buffer, start: number, end: number): number {
    const first = separatorBytes[0];
    const last = end - separatorBytes.length;
    for (let at = start; at <= last; at++) {
      if (line[at] !== first) continue;
      let k = 1;
      while (k < separatorBytes.length && line[at + k] === separatorBytes[k]) k++;
      if (k === separatorBytes.length) return at;
    }
    return -1;
  }

  /** The service whose name is line[start, end), by its bytes (no string made per call). */
  function serviceNamed(line: Buffer, start: number, end: number): Service | undefined {
    const length = end - start;
    for (const service of services) {
      const name = service.nameBytes;
      if (name.length !== length) continue;
      let k = 0;
      while (k < length && line[start + k] === name[k]) k++;
      if (k === length) return service;
    }
    return undefined;
  }

  /** The service a namespaced name (`fs.read_file`) is for, and the edit that strips its prefix; or why none. */
  function routeByName(line: Buffer, span: Span | undefined): { service: Service; edit: Edit } | string {
    if (span === undefined) return 'the request names nothing';
    if (isPlainString(line, span)) {
      const separatorAt = findSeparator(line, span.start + 1, span.end - 1);
      if (separatorAt < 0) return `${stringAt(line, span)} has no namespace (${separator})`;
      const service = serviceNamed(line, span.start + 1, separatorAt);
      if (service === undefined) return `${stringAt(line, span)} is in no namespace of this gateway`;
      return { service, edit: { start: span.start + 1, end: separatorAt + separatorBytes.length, text: '' } };
    }
    const name = stringAt(line, span);
    if (name === undefined) return 'the name is not a string';
    const separatorAt = name.indexOf(separator);
    const service = separatorAt < 0 ? undefined : byName.get(name.slice(0, separatorAt));
    if (service === undefined) return `${name} is in no namespace of this gateway`;
    return { service, edit: { start: span.start, end: span.end, text: JSON.stringify(name.slice(separatorAt + separator.length)) } };
  }

  /** The service a resource URI is for, and the edit that strips its `<service>+` mark when it has one; or why none. */
  function routeByUri(line: Buffer, span: Span | undefined): { service: Service; edit: Edit | undefined } | string {
    const uri = span === undefined ? undefined : stringAt(line, span);
    if (uri === undefined) return 'the request names no URI';
    const route = uriRoute(uri);
    if (typeof route === 'string') return route;
    const edit = route.markEnd === 0 ? undefined : { start: span!.start, end: span!.end, text: JSON.stringify(uri.slice(route.markEnd)) };
    return { service: route.service, edit };
  }

  /**
   * Where a resource URI goes: the one service that listed it; else the one its `<service>+` mark
   * names (`markEnd`: where the URI after the mark starts; 0: unmarked); else the one service one
   * of whose templates matches it; else the only one with resources; or why none. Read-only: the
   * requests and the rules' question (serviceOfUri) both ask it.
   */
  function uriRoute(uri: string): { service: Service; markEnd: number } | string {
    const owners = uriOwners.get(uri);
    if (owners !== undefined && owners.size === 1) return { service: owners.values().next().value!, markEnd: 0 };
    if (owners !== undefined && owners.size > 1) {
      return `${uri} is listed by ${[...owners].map((s) => s.name).join(' and ')}: name one as <service>${URI_SERVICE_MARK}${uri}`;
    }
    const mark = uri.indexOf(URI_SERVICE_MARK);
    const marked = mark > 0 ? byName.get(uri.slice(0, mark)) : undefined;
    if (marked !== undefined && mark + 1 < uri.length) return { service: marked, markEnd: mark + 1 };
    const byTemplate = servicesWithTemplateFor(uri);
    if (byTemplate.length === 1) return { service: byTemplate[0]!, markEnd: 0 };
    if (byTemplate.length > 1) {
      return `${uri} matches resource templates of ${byTemplate.map((s) => s.name).join(' and ')}: name one as <service>${URI_SERVICE_MARK}${uri}`;
    }
    const withResources = services.filter((service) => service.capabilities === undefined || service.capabilities['resources'] !== undefined);
    if (withResources.length === 1) return { service: withResources[0]!, markEnd: 0 };
    return `no service listed ${uri}: list resources first, or name the service as <service>${URI_SERVICE_MARK}${uri}`;
  }

  /** The services one of whose resource templates matches the URI (a URI no service listed; one not ready then answers unavailable). */
  function servicesWithTemplateFor(uri: string): Service[] {
    const matched: Service[] = [];
    for (const service of services) {
      if (service.templates.size === 0) continue;
      for (const matcher of service.templates.values()) {
        if (!matcher.matches(uri)) continue;
        matched.push(service);
        break;
      }
    }
    return matched;
  }

  /** A page of a service's templates remembered (a first page replaces what it listed before); each compiled once. */
  function rememberTemplates(service: Service, listed: readonly unknown[], firstPage: boolean): void {
    const before = service.templates;
    if (firstPage) {
      service.templates = new Map();
      service.listedTemplates = new Set();
    }
    for (const item of listed) {
      const template = item !== null && typeof item === 'object' ? (item as Record<string, unknown>)['uriTemplate'] : undefined;
      if (typeof template !== 'string') continue;
      service.listedTemplates.add(template);
      if (service.templates.has(template)) continue;
      const matcher = before.get(template) ?? compileUriTemplate(template);
      if (matcher === undefined) {
        logger.debug({ service: service.name, template }, 'a resource template beyond RFC 6570 level 2: reads of its URIs are not routed by it');
        continue;
      }
      service.templates.set(template, matcher);
    }
  }

  function targetOfRequest(envelope: Envelope, line: Buffer, batch: BatchAnswer | undefined): ClientTarget {
    return { id: envelope.id!, key: envelope.key!, method: envelope.method!, line, batch };
  }

  function routeRequest(envelope: Envelope, line: Buffer, batch: BatchAnswer | undefined): void {
    const method = envelope.method!;
    const client = targetOfRequest(envelope, line, batch);
    let route: { service: Service; edit: Edit | undefined } | string;
    switch (method) {
      case 'tools/call':
      case 'prompts/get':
        // Where the envelope reader saw the id and params, when this is the frame it read last (no rewrite since); else one walk.
        if (lastReadPositions(line, positions) && positions.idStart >= 0) {
          const nameStart = positions.paramsStart < 0 ? -1 : paramsNameStart(line, positions.paramsStart);
          return routeCallByName(envelope, line, client, nameStart, positions.idStart, positions.idEnd);
        }
        locateCall(line, envelope.id!, callMembers);
        return routeCallByName(envelope, line, client, callMembers.nameStart, callMembers.idStart, callMembers.idEnd);
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        route = routeByUri(line, pathSpan(line, URI_PATH));
        break;
      case 'completion/complete': {
        const name = pathSpan(line, REF_NAME_PATH);
        route = name !== undefined ? routeByName(line, name) : routeByUri(line, pathSpan(line, REF_URI_PATH));
        break;
      }
      case INITIALIZE:
        clientInitialized = false;
        // A new handshake: an answer to the one before it no longer lets a service join.
        for (const service of services) service.lateInitializeId = -1;
        return fanOut(client, line, services.filter((s) => s.state !== 'down'), (done) => finishHandshake(done, line));
      case DISCOVER:
        return fanOut(client, line, services.filter((s) => s.state !== 'down'), (done) => finishHandshake(done, line));
      case SET_LEVEL:
        return fanOut(client, line, readyServices(), finishSetLevel);
      case PING:
        // The gateway is the server the client talks to; each service's life is its governor's to watch.
        return answerResult(client, EMPTY_RESULT);
      default: {
        const list = LIST_KINDS.get(method);
        if (list !== undefined) return startList(client, line, list);
        return answerError(client, 'SIDECAR_ERR_GATEWAY_METHOD_NOT_ROUTED', method);
      }
    }
    if (typeof route === 'string') return answerError(client, 'SIDECAR_ERR_GATEWAY_NO_ROUTE', route);
    sendCall(route.service, client, line, envelope.id!, route.edit);
  }

  function readyServices(): Service[] {
    return services.filter((service) => service.state === 'ready');
  }

  // ---- fan-out: one client request, a part per service, one answer

  /** `lineFor`: a part's own request (a list page with that service's cursor), already under its gateway id; else the client's with the id replaced. */
  function fanOut(client: ClientTarget, line: Buffer, to: readonly Service[], finish: (done: FanOut) => void, lineFor?: (service: Service, gatewayId: number) => Buffer): void {
    const done: FanOut = { kind: 'fan-out', client, awaited: new Map(), asked: to.length, methodNotFound: 0, answered: new Map(), finish, timer: undefined, correlationIds: {} };
    fanOutsByClientKey.set(client.key, done);
    for (const service of to) {
      const gatewayId = issueId(0);
      done.awaited.set(gatewayId, service);
      done.correlationIds[service.name] = String(gatewayId);
      awaiting.add({ kind: 'part', service, gatewayId, fanOut: done });
    }
    if (done.awaited.size === 0) return settleFanOut(done);
    done.timer = clock.setTimeout(() => expireFanOut(done), fanOutTimeoutMs);
    for (const [gatewayId, service] of [...done.awaited]) {
      const gatewayKey = done.correlationIds[service.name]!;
      const sent = lineFor === undefined ? withId(line, client.id, gatewayKey) : lineFor(service, gatewayId);
      if (debugEnabled) logger.debug({ service: service.name, method: client.method, clientId: client.id, gatewayId }, 'a fan-out part was sent to its service');
      service.channel.send(sent, { kind: 'request', id: gatewayKey, key: gatewayKey, method: client.method });
    }
  }

  function partAnswered(part: Part, envelope: Envelope, line: Buffer): void {
    const { fanOut: done, service } = part;
    if (!done.awaited.delete(part.gatewayId)) return;
    if (envelope.kind === 'response') {
      try {
        const result = (parseFrameBody(line) as { result?: unknown }).result;
        if (result !== null && typeof result === 'object' && !Array.isArray(result)) done.answered.set(service, result as Record<string, unknown>);
      } catch {
        logger.warn({ service: service.name, method: done.client.method, clientId: done.client.id, gatewayId: part.gatewayId }, 'a service\'s answer to a gateway request could not be read: left out');
      }
    } else {
      const code = errorCodeOf(line);
      if (code === METHOD_NOT_FOUND) done.methodNotFound++;
      logger.warn({ service: service.name, method: done.client.method, clientId: done.client.id, gatewayId: part.gatewayId, code }, 'a service answered a gateway request with an error: left out');
    }
    if (done.awaited.size === 0) settleFanOut(done);
  }

  function partFailed(part: Part, reason: string): void {
    const { fanOut: done, service } = part;
    awaiting.delete(part.gatewayId);
    if (!done.awaited.delete(part.gatewayId)) return;
    logger.warn({ service: service.name, method: done.client.method, clientId: done.client.id, gatewayId: part.gatewayId, reason }, 'a service did not answer a gateway request: left out');
    if (done.awaited.size === 0) settleFanOut(done);
  }

  function expireFanOut(done: FanOut): void {
    done.timer = undefined;
    for (const [gatewayId, service] of done.awaited) {
      awaiting.delete(gatewayId);
      logger.warn({ service: service.name, method: done.client.method, clientId: done.client.id, gatewayId, timeoutMs: fanOutTimeoutMs }, 'a service did not answer a gateway request in time: left out');
      // MCP: initialize is never cancelled; anything else the service may stop working on.
      if (done.client.method !== INITIALIZE) service.channel.send(cancellation(gatewayId, 'the gateway stopped waiting'), CANCEL_ENVELOPE);
      if (done.client.method === INITIALIZE) {
        leaveOut(service, 'it did not answer initialize in time');
        // Its answer may still come: then it joins (lateInitializeAnswered).
        if (service.state === 'left-out') service.lateInitializeId = gatewayId;
      }
    }
    done.awaited.clear();
    settleFanOut(done);
  }

  function settleFanOut(done: FanOut): void {
    clock.clearTimeout(done.timer);
    if (fanOutsByClientKey.get(done.client.key) === done) fanOutsByClientKey.delete(done.client.key);
    // Its answer (or error) goes on now: meanwhile its request ends, and correlationsOf names its parts.
    const { batch } = done.client;
    if (batch !== undefined) batchCorrelations.get(batch)?.set(done.client.id, done);
    const outer = settlingFanOut;
    settlingFanOut = done;
    try {
      done.finish(done);
    } finally {
      settlingFanOut = outer;
    }
  }

  function leaveOut(service: Service, reason: string): void {
    if (service.state !== 'ready') return;
    service.state = 'left-out';
    service.reason = reason;
    logger.warn({ service: service.name, reason }, 'a service is left out of the gateway: its namespace answers errors');
  }

  function finishHandshake(done: FanOut, line: Buffer): void {
    const handshakes: ServiceHandshake[] = [];
    for (const service of services) {
      const result = done.answered.get(service);
      if (result === undefined) {
        if (done.client.method === INITIALIZE) leaveOut(service, 'it failed initialize');
        continue;
      }
      if (service.state === 'left-out' && done.client.method === INITIALIZE) {
        service.state = 'ready';
        service.reason = undefined;
      }
      service.capabilities = (result['capabilities'] ?? {}) as Record<string, unknown>;
      handshakes.push({ service: service.name, result });
    }
    if (handshakes.length === 0) {
      // server/discover where no service speaks 2026-07-28: a v2 client falls back to initialize on this one.
      if (everyServiceSaidMethodNotFound(done)) return answerError(done.client, 'SIDECAR_ERR_GATEWAY_METHOD_NOT_ROUTED', `every service answered ${done.client.method} with -32601 (method not found)`);
      return answerError(done.client, 'SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE', `no service answered ${done.client.method}`);
    }
    let requestedVersion: string | undefined;
    try {
      const version = paramsOf(parseFrameBody(line))?.['protocolVersion'];
      requestedVersion = typeof version === 'string' ? version : undefined;
    } catch {
      requestedVersion = undefined;
    }
    const { result, versionsAgreed } = mergeHandshakes(handshakes, { requestedVersion, serverInfo: options.serverInfo });
    if (!versionsAgreed) logger.warn({ services: handshakes.map((h) => `${h.service}:${String(h.result['protocolVersion'])}`), version: result['protocolVersion'], clientId: done.client.id }, 'the services answered different protocol versions: the oldest is the gateway\'s');
    answerResult(done.client, result);
  }

  function everyServiceSaidMethodNotFound(done: FanOut): boolean {
    return done.asked > 0 && done.methodNotFound === done.asked;
  }

  function finishSetLevel(done: FanOut): void {
    if (done.answered.size === 0 && everyServiceSaidMethodNotFound(done)) return answerError(done.client, 'SIDECAR_ERR_GATEWAY_METHOD_NOT_ROUTED', `every service answered ${SET_LEVEL} with -32601 (method not found)`);
    if (done.answered.size === 0 && readyServices().length > 0) return answerError(done.client, 'SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE', 'no service accepted logging/setLevel');
    answerResult(done.client, EMPTY_RESULT);
  }

  // ---- lists: merged, namespaced, paginated with the gateway's cursor

  function startList(client: ClientTarget, line: Buffer, list: ListKind): void {
    let body: Record<string, unknown>;
    try {
      body = parseFrameBody(line) as Record<string, unknown>;
    } catch {
      return answerError(client, 'SIDECAR_ERR_GATEWAY_NO_ROUTE', 'the request could not be read');
    }
    const params = paramsOf(body);
    const cursor = params?.['cursor'];
    let cursorOf: Map<Service, string> | undefined;
    let to: Service[];
    if (cursor === undefined) {
      to = readyServices().filter((service) => service.capabilities === undefined || service.capabilities[list.capability] !== undefined);
    } else {
      const position = typeof cursor === 'string' ? decodeCursor(cursor, list.method) : undefined;
      if (position === undefined) return answerError(client, 'SIDECAR_ERR_GATEWAY_INVALID_CURSOR', `${list.method}`);
      cursorOf = new Map();
      for (const [name, own] of position.parts) {
        const service = byName.get(name);
        if (service?.state === 'ready') cursorOf.set(service, own);
        else logger.warn({ service: name, method: list.method }, 'a service with more to list is unavailable: left out');
      }
      to = [...cursorOf.keys()];
    }
    const lineFor = cursorOf === undefined ? undefined : (service: Service, gatewayId: number): Buffer => {
      const own = { ...body, id: gatewayId, params: { ...params, cursor: cursorOf!.get(service) } };
      return Buffer.from(`${JSON.stringify(own)}\n`);
    };
    fanOut(client, line, to, (done) => finishList(done, list, cursor === undefined), lineFor);
  }

  function decodeCursor(cursor: string, method: string): ReturnType<CursorCodec['decode']> {
    try {
      return cursors.decode(cursor, method);
    } catch {
      return undefined;
    }
  }

  function finishList(done: FanOut, list: ListKind, firstPage: boolean): void {
    const items: unknown[] = [];
    const more: Array<[string, string]> = [];
    const pageUris = new Map<string, Service[]>();
    if (list.items === 'resourceTemplates') {
      // Every service's page first: a template two services list on this page is marked for both.
      for (const service of services) {
        const listed = done.answered.get(service)?.[list.items];
        if (Array.isArray(listed)) rememberTemplates(service, listed, firstPage);
      }
    }
    for (const service of services) {
      const result = done.answered.get(service);
      if (result === undefined) continue;
      const listed = result[list.items];
      if (!Array.isArray(listed)) {
        logger.warn({ service: service.name, method: list.method, clientId: done.client.id, gatewayId: Number(done.correlationIds[service.name]) }, 'a service\'s list has no items array: left out');
        continue;
      }
      if (list.items === 'resources' && firstPage) forgetUris(service);
      for (const item of listed) {
        if (item === null || typeof item !== 'object') continue;
        const entry = { ...(item as Record<string, unknown>) };
        if (list.namespaced && typeof entry['name'] === 'string') entry['name'] = `${service.name}${separator}${entry['name']}`;
        const template = entry['uriTemplate'];
        if (list.items === 'resourceTemplates' && typeof template === 'string' && isSharedTemplate(service, template)) {
          entry['uriTemplate'] = `${service.name}${URI_SERVICE_MARK}${template}`;
        }
        if (list.items === 'resources' && typeof entry['uri'] === 'string') {
          const uri = entry['uri'];
          let owners = uriOwners.get(uri);
          if (owners === undefined) uriOwners.set(uri, (owners = new Set()));
          owners.add(service);
          pageUris.set(uri, [...(pageUris.get(uri) ?? []), service]);
        }
        items.push(entry);
      }
      if (typeof result['nextCursor'] === 'string') more.push([service.name, result['nextCursor']]);
    }
    if (list.items === 'resources') markSharedUris(items);
    const merged: Record<string, unknown> = { [list.items]: items };
    if (more.length > 0) merged['nextCursor'] = cursors.encode({ method: list.method, parts: more });
    answerResult(done.client, merged);
  }

  /**
   * Whether another service lists this template text too: then each gives it as `<service>+<template>`,
   * so a URI the client expands from it is marked and goes to that service (uriRoute strips the mark).
   */
  function isSharedTemplate(service: Service, template: string): boolean {
    for (const other of services) if (other !== service && other.listedTemplates.has(template)) return true;
    return false;
  }

  /** A URI two services listed is given as `<service>+<uri>` for each, so the client can name the one it means. */
  function markSharedUris(items: unknown[]): void {
    for (let index = 0; index < items.length; index++) {
      const entry = items[index] as Record<string, unknown>;
      const uri = entry['uri'];
      if (typeof uri !== 'string') continue;
      const owners = uriOwners.get(uri);
      if (owners === undefined || owners.size < 2) continue;
      // Which service this entry came from: items keep the services' order, so the first owner not yet used.
      const service = ownerOfEntry(items, index, uri, owners);
      entry['uri'] = `${service.name}${URI_SERVICE_MARK}${uri}`;
    }
  }

  function ownerOfEntry(items: unknown[], index: number, uri: string, owners: Set<Service>): Service {
    let seen = 0;
    for (let earlier = 0; earlier < index; earlier++) {
      const other = (items[earlier] as Record<string, unknown>)['uri'];
      if (typeof other === 'string' && other.endsWith(`${URI_SERVICE_MARK}${uri}`)) seen++;
    }
    const inOrder = services.filter((service) => owners.has(service));
    return inOrder[Math.min(seen, inOrder.length - 1)]!;
  }

  function forgetUris(service: Service): void {
    for (const [uri, owners] of uriOwners) {
      owners.delete(service);
      if (owners.size === 0) uriOwners.delete(uri);
    }
  }

  // ---- client notifications and answers

  function routeNotification(envelope: Envelope, line: Buffer): void {
    const method = envelope.method!;
    if (method === CANCELLED) return routeCancellation(line);
    if (method === INITIALIZED) clientInitialized = true;
    // Everything else concerns every service (initialized, roots/list_changed, progress of a service's request).
    for (const service of readyServices()) service.channel.send(line, envelope);
  }

  function routeCancellation(line: Buffer): void {
    let body: unknown;
    try {
      body = parseFrameBody(line);
    } catch {
      return;
    }
    const key = cancelledRequestKey(body);
    if (key === undefined) return;
    const pending = fanOutsByClientKey.get(key) ?? awaiting.callFor(key);
    if (pending === undefined) return;
    const reason = paramsOf(body)?.['reason'];
    const why = typeof reason === 'string' ? reason : 'cancelled by the client';
    // The client will not read an answer any more (MCP): a late one is dropped here.
    // A batch member cancelled: its batch's array goes without it.
    pending.client.batch?.skip();
    if (pending.kind === 'call') {
      awaiting.delete(pending.gatewayId);
      if (debugEnabled) logger.debug({ service: pending.service.name, method: pending.client.method, clientId: pending.client.id, gatewayId: pending.gatewayId }, 'a call was cancelled by the client');
      if (pending.service.state === 'ready') pending.service.channel.send(cancellation(pending.gatewayId, why), CANCEL_ENVELOPE);
      return;
    }
    fanOutsByClientKey.delete(key);
    clock.clearTimeout(pending.timer);
    for (const [gatewayId, service] of pending.awaited) {
      awaiting.delete(gatewayId);
      if (service.state === 'ready' && pending.client.method !== INITIALIZE) service.channel.send(cancellation(gatewayId, why), CANCEL_ENVELOPE);
    }
    pending.awaited.clear();
  }

  function routeClientAnswer(envelope: Envelope, line: Buffer): void {
    const asked = envelope.key === undefined ? undefined : askedByGatewayKey.get(envelope.key);
    if (asked === undefined) return logger.debug({ id: envelope.id }, 'an answer to no service request in flight was dropped');
    askedByGatewayKey.delete(envelope.key!);
    asked.service.asked.delete(asked.key);
    if (asked.service.state !== 'ready') return;
    asked.service.channel.send(withId(line, envelope.id!, asked.id), { kind: envelope.kind, id: asked.id, key: asked.key, method: undefined });
  }

  function routeClientFrame(envelope: EnvelopeResult, line: Buffer): void {
    switch (envelope.kind) {
      case 'request':
        return routeRequest(envelope, line, undefined);
      case 'notification':
        return routeNotification(envelope, line);
      case 'response':
      case 'error':
        return routeClientAnswer(envelope, line);
      case 'batch':
        return routeClientBatch(envelope.members!);
      case 'invalid':
        logger.warn({ problem: envelope.problem }, 'the gateway was handed a frame it cannot read: dropped');
    }
  }

  /**
   * Each member routed as a lone frame would be (its service answers it alone), the requests'
   * answers gathered into one array for the client (batch-answer.ts).
   */
  function routeClientBatch(members: readonly BatchMember[]): void {
    const correlations = new Map<string, Call | FanOut>();
    const batch = new BatchAnswer((line, envelope) => {
      settlingBatch = correlations;
      try {
        toClient(line, envelope);
      } finally {
        settlingBatch = undefined;
      }
    });
    batchCorrelations.set(batch, correlations);
    try {
      for (const member of members) {
        if (member.kind !== 'request') {
          routeClientFrame(member, member.bytes);
          continue;
        }
        batch.expect();
        routeRequest(member, member.bytes, batch);
      }
    } catch (error) {
      batch.abandon();
      throw error;
    }
    batch.routed();
  }

  // ---- services → client

  function fromService(service: Service, envelope: EnvelopeResult, line: Buffer): void {
    switch (envelope.kind) {
      case 'response':
      case 'error':
        return serviceAnswer(service, envelope, line);
      case 'request':
        return serviceRequest(service, envelope, line);
      case 'notification':
        return serviceNotification(service, envelope, line);
      case 'batch':
        for (const member of envelope.members!) fromService(service, member, member.bytes);
        return;
      case 'invalid': {
        const keys = [envelope.key, ...(envelope.responses ?? [])];
        logger.warn({ service: service.name, problem: envelope.problem, bytes: line.length }, 'a service wrote a frame that is not one reading of a JSON-RPC message: dropped');
        for (const key of keys) if (key !== undefined) failAwaited(service, key, 'SIDECAR_ERR_UPSTREAM_INVALID_FRAME', `service ${service.name}: ${envelope.detail}`);
      }
    }
  }

  function serviceAnswer(service: Service, envelope: Envelope, line: Buffer): void {
    const pending = envelope.key === undefined ? undefined : awaiting.get(gatewayIdOfKey(envelope.key));
    // An id this service was not given (or one already settled, cancelled, timed out) reaches nobody else's request.
    if (pending === undefined || pending.service !== service) {
      if (service.lateInitializeId >= 0 && envelope.key !== undefined && gatewayIdOfKey(envelope.key) === service.lateInitializeId) {
        return lateInitializeAnswered(service, envelope, line);
      }
      return logger.debug({ service: service.name, id: envelope.id }, 'a service\'s answer to nothing in flight was dropped');
    }
    awaiting.delete(pending.gatewayId);
    if (pending.kind === 'part') return partAnswered(pending, envelope, line);
    const { client } = pending;
    const depth = envelope.depth;
    const restored: Envelope = depth === undefined
      ? { kind: envelope.kind, id: client.id, key: client.key, method: undefined }
      : { kind: envelope.kind, id: client.id, key: client.key, method: undefined, depth };
    // Read before the client's id is written over the gateway's (in place, maybe).
    if (debugEnabled) logger.debug({ service: service.name, method: client.method, clientId: client.id, gatewayId: pending.gatewayId, kind: envelope.kind }, 'a service answered a call');
    const answer = withClientId(line, envelope.id!, pending);
    const outer = settlingCall(pending);
    try {
      // A lone answer is this service's (sourceOfDelivery); a batch's array, several services', goes out through toClient.
      if (client.batch === undefined) toClientFrom(service, answer, restored);
      else client.batch.answer(answer, restored);
    } finally {
      settling = outer;
    }
  }

  /**
   * The call's answer goes on now (the caller restores `settling` to what this returns, after):
   * meanwhile its request may end, and correlationOf names its gateway id. No closure: per call.
   */
  function settlingCall(call: Call): Call | undefined {
    const { batch } = call.client;
    if (batch !== undefined) batchCorrelations.get(batch)?.set(call.client.id, call);
    const outer = settling;
    settling = call;
    return outer;
  }

  /**
   * A service left out because it did not answer the client's initialize in time answered it
   * now: it joins. The client's handshake is over, so its capabilities are not announced to the
   * client; it is sent notifications/initialized (when the client sent its own), and the client
   * is told to list again each kind of list the service declares, so its names show up.
   */
  function lateInitializeAnswered(service: Service, envelope: Envelope, line: Buffer): void {
    service.lateInitializeId = -1;
    if (service.state !== 'left-out') return;
    let result: unknown;
    if (envelope.kind === 'response') {
      try {
        result = (parseFrameBody(line) as { result?: unknown }).result;
      } catch {
        result = undefined;
      }
    }
    if (result === null || typeof result !== 'object' || Array.isArray(result)) {
      return logger.warn({ service: service.name }, 'a service answered initialize late, without a result: it stays left out');
    }
    join(service, result as Record<string, unknown>, 'a service answered initialize after the gateway answered the client: it joins late (its capabilities are not re-announced)', clientInitialized);
  }

  /**
   * A left-out service that answered the client's initialize with `answered` (late, or replayed
   * to its restarted server) is ready from now on: it is sent notifications/initialized when
   * `sendInitialized` (session recovery sends its own), it is asked for lists, and the client is
   * told to list again each kind of list the service declares (but those in `alreadySent`).
   */
  function join(service: Service, answered: Record<string, unknown>, message: string, sendInitialized: boolean, alreadySent: readonly string[] = []): void {
    const capabilities = answered['capabilities'];
    service.capabilities = capabilities !== null && typeof capabilities === 'object' && !Array.isArray(capabilities) ? capabilities as Record<string, unknown> : {};
    service.state = 'ready';
    service.reason = undefined;
    service.lateInitializeId = -1;
    const announced = LIST_CAPABILITIES.filter((kind) => service.capabilities![kind] !== undefined);
    logger.warn({ service: service.name, protocolVersion: answered['protocolVersion'], lists: announced }, message);
    if (sendInitialized) service.channel.send(INITIALIZED_FRAME, INITIALIZED_ENVELOPE);
    for (const kind of announced) {
      const method = LIST_CHANGED_NOTIFICATIONS[kind];
      if (alreadySent.includes(method)) continue;
      toClientFrom(service, Buffer.from(`{"jsonrpc":"2.0","method":"${method}"}\n`), { kind: 'notification', id: undefined, key: undefined, method });
    }
  }

  /**
   * The answer under the client's id. When the gateway id was issued at the length of the
   * client's, the client's bytes are written over it in place: the frame is not copied (the
   * service's line is the gateway's alone from here; nothing reads it again but the client's side).
   */
  function withClientId(line: Buffer, idText: string, call: Call): Buffer {
    const known = lastReadPositions(line, positions) && positions.idStart >= 0;
    const start = known ? positions.idStart : idValueStart(line, idText);
    if (start < 0) return withIdAt(line, undefined, call.client.id);
    const end = known ? positions.idEnd : valueEnd(line, start);
    const { client, clientIdStart, clientIdEnd } = call;
    if (clientIdStart >= 0 && end - start === clientIdEnd - clientIdStart) {
      copyBytes(client.line!, clientIdStart, clientIdEnd, line, start);
      return line;
    }
    return withIdAt(line, { start, end }, client.id);
  }

  function serviceRequest(service: Service, envelope: Envelope, line: Buffer): void {
    const gatewayKey = String(issueId(0));
    askedByGatewayKey.set(gatewayKey, { service, id: envelope.id!, key: envelope.key! });
    service.asked.set(envelope.key!, gatewayKey);
    toClientFrom(service, withId(line, envelope.id!, gatewayKey), { kind: 'request', id: gatewayKey, key: gatewayKey, method: envelope.method });
  }

  function serviceNotification(service: Service, envelope: Envelope, line: Buffer): void {
    if (envelope.method !== CANCELLED) return toClientFrom(service, line, envelope);
    // The service gave up on its own request to the client: named as the client saw it.
    let body: Record<string, unknown>;
    try {
      body = parseFrameBody(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const key = cancelledRequestKey(body);
    const gatewayKey = key === undefined ? undefined : service.asked.get(key);
    if (gatewayKey === undefined) return;
    service.asked.delete(key!);
    askedByGatewayKey.delete(gatewayKey);
    const params = { ...paramsOf(body), requestId: Number(gatewayKey) };
    toClientFrom(service, Buffer.from(`${JSON.stringify({ ...body, params })}\n`), envelope);
  }

  /** A request this service will not answer: the client's gets `code`; a fan-out goes on without it. */
  function failAwaited(service: Service, gatewayKey: string, code: ErrorCode, detail: string): void {
    const pending = awaiting.get(gatewayIdOfKey(gatewayKey));
    if (pending === undefined || pending.service !== service) return;
    failPending(pending, code, detail);
  }

  function failPending(pending: Awaited, code: ErrorCode, detail: string): void {
    awaiting.delete(pending.gatewayId);
    if (pending.kind === 'part') return partFailed(pending, detail);
    if (debugEnabled) logger.debug({ service: pending.service.name, method: pending.client.method, clientId: pending.client.id, gatewayId: pending.gatewayId, code }, 'a call failed at its service: answered with an error');
    const outer = settlingCall(pending);
    try {
      answerError(pending.client, code, detail);
    } finally {
      settling = outer;
    }
  }

  /** Every request this service holds, failed (but those in `spared`: a restart queue still has them). */
  function failService(service: Service, code: ErrorCode, detail: string, spared?: ReadonlySet<string>): void {
    for (const pending of awaiting.entries()) {
      if (pending.service !== service || spared?.has(String(pending.gatewayId)) === true) continue;
      // An earlier failure (a fan-out settled) may have taken this one out already.
      if (awaiting.get(pending.gatewayId) === pending) failPending(pending, code, detail);
    }
    // Its requests to the client: whoever asked is gone, and the client's answer is dropped.
    for (const gatewayKey of service.asked.values()) askedByGatewayKey.delete(gatewayKey);
    service.asked.clear();
  }

  function serviceHandlers(service: Service): FrameChannelHandlers {
    return {
      onFrame(line, given) {
        try {
          fromService(service, given ?? readEnvelope(line), line);
        } catch (error) {
          // One frame's fault stays with that frame (and that service).
          logger.error({ err: error, service: service.name }, 'the gateway failed on a service\'s frame: dropped');
        }
      },
      onOversized(line: OversizedLine) {
        const { key } = readOversizedId(line);
        logger.warn({ service: service.name, bytes: line.bytes }, 'a service wrote a frame over the frame limit: dropped');
        if (key !== undefined) failAwaited(service, key, 'SIDECAR_ERR_UPSTREAM_FRAME_TOO_LARGE', `service ${service.name}: ${line.bytes} bytes`);
      },
      onEnd(error) {
        service.ended = true;
        logger.debug({ service: service.name, err: error }, 'a service\'s output ended');
        if (services.every((each) => each.ended)) handlers!.onEnd(error);
      },
      onWriteError: (error) => logger.debug({ service: service.name, err: error }, 'write to a service failed'),
      onCongested() {
        if (service.congested) return;
        service.congested = true;
        if (congestedCount++ === 0) handlers!.onCongested();
      },
      onDrained() {
        if (!service.congested) return;
        service.congested = false;
        if (--congestedCount === 0) handlers!.onDrained();
      },
      // Its server restarted: only its own requests are lost (the pump is not told: the others go on).
      onReset(reason, waiting) {
        failService(service, 'SIDECAR_ERR_UPSTREAM_EXITED', `service ${service.name}: ${reason}`, waiting);
      },
      // Its restart queue gave up on a request: answered to the client under the client's id.
      onLocalReply(target, code, detail) {
        failAwaited(service, target.key, code, `service ${service.name}: ${detail}`);
      },
    };
  }

  return {
    start(h) {
      handlers = h;
      for (const service of services) service.channel.start(serviceHandlers(service));
    },
    send(line, given) {
      let envelope: EnvelopeResult | undefined = given;
      envelope ??= readEnvelope(line);
      routeClientFrame(envelope, line);
    },
    pause() {
      for (const service of services) service.channel.pause();
    },
    resume() {
      for (const service of services) service.channel.resume();
    },
    drained: async () => {
      await Promise.all(services.map((service) => service.channel.drained()));
    },
    endOutput() {
      for (const service of services) service.channel.endOutput();
    },
    close() {
      for (const pending of fanOutsByClientKey.values()) clock.clearTimeout(pending.timer);
      for (const service of services) service.channel.close();
    },
    serviceDown(name, reason) {
      const service = byName.get(name);
      if (service === undefined || service.state === 'down') return;
      service.state = 'down';
      service.reason = `down: ${reason}`;
      logger.error({ service: name, reason }, 'a service is down for good: its namespace answers errors, the others go on');
      failService(service, 'SIDECAR_ERR_UPSTREAM_EXITED', `service ${name} is down: ${reason}`);
    },
    serviceRecovered(name, result, listChangedSent) {
      const service = byName.get(name);
      // Only one the handshake left out joins: a ready one already serves, a down one stays down.
      if (service === undefined || service.state !== 'left-out') return;
      join(service, result, 'a left-out service\'s restarted server answered the client\'s initialize (replayed): it joins', false, listChangedSent);
    },
    serviceOfUri(uri) {
      const route = uriRoute(uri);
      return typeof route === 'string' ? undefined : route.service.name;
    },
    serviceOfCancelled(clientKey) {
      // As routeCancellation finds it: a fan-out first (several services), else the call.
      if (fanOutsByClientKey.has(clientKey)) return null;
      return awaiting.callFor(clientKey)?.service.name;
    },
    sourceOfDelivery: () => delivering?.name,
    // As routeClientAnswer finds it: by the key of the id the gateway gave the service's request.
    serviceOfAnswer: (gatewayKey) => askedByGatewayKey.get(gatewayKey)?.service.name,
    serviceOfBatchAnswer(clientKey) {
      // A batch is a few members: a walk of the one whose array is on its way.
      if (settlingBatch === undefined) return undefined;
      for (const settled of settlingBatch.values()) if (settled.client.key === clientKey) return settled.kind === 'call' ? settled.service.name : null;
      return undefined;
    },
    correlationOf(clientId) {
      if (settling !== undefined && settling.client.id === clientId) return String(settling.gatewayId);
      const inBatch = settlingBatch?.get(clientId);
      return inBatch?.kind === 'call' ? String(inBatch.gatewayId) : undefined;
    },
    correlationsOf(clientId) {
      const done = settlingFanOut !== undefined && settlingFanOut.client.id === clientId ? settlingFanOut : settlingBatch?.get(clientId);
      return done?.kind === 'fan-out' && done.asked > 0 ? done.correlationIds : undefined;
    },
  };
}

/** The `error.code` of an error answer (fan-outs only: rare), undefined when it cannot be read. */
function errorCodeOf(line: Buffer): unknown {
  try {
    const error = (parseFrameBody(line) as { error?: { code?: unknown } }).error;
    return error !== null && typeof error === 'object' ? error.code : undefined;
  } catch {
    return undefined;
  }
}

const CANCEL_ENVELOPE: Envelope = Object.freeze({ kind: 'notification', id: undefined, key: undefined, method: CANCELLED });

function cancellation(gatewayId: number, reason: string): Buffer {
  return Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', method: CANCELLED, params: { requestId: gatewayId, reason } })}\n`);
}
