import type { ServerResponse } from 'node:http';
import type { Clock } from '../clock/index.js';
import { encodeErrorResponse, type ErrorCode } from '../errors/index.js';
import { parseFrameBody, withoutLineEnd, type Envelope, type EnvelopeResult } from '../framing/index.js';
import type { Logger } from '../logging/index.js';
import { CANCELLED, PROGRESS, progressNotificationToken } from '../mcp/index.js';
import type { Identity } from '../policy/index.js';
import type { FrameChannel, FrameChannelHandlers, LocalReplyTarget } from '../transport/index.js';
import { readFrameEnvelope } from './envelope-reads.js';
import { Exchange, SSE_HEADERS, sseEvent, type AwaitedRequest, type Renumbering } from './exchange.js';
import { HeldMessages, type HeldLimit } from './held-messages.js';
import type { PostBody } from './post-body.js';
import { refuse, refuseWithBody } from './replies.js';
import type { Acceptable } from './request-checks.js';
import { renumberRequests } from './renumber.js';
import type { InFlightPerCaller, SlotHolder } from './session-slots.js';
import { StreamSet } from './stream-set.js';
import type { HttpSessionInfo, SessionBackend } from './types.js';

export interface HttpSessionOptions {
  /** The Mcp-Session-Id; undefined for a stateless backend. */
  readonly id: string | undefined;
  readonly identity: Identity | undefined;
  /** The caller it answers ('' for callers not told apart): see server.ts `callerOf`. */
  readonly caller: string;
  /** Each caller's share of the requests in flight: a POST's requests are counted here until its answer ends. */
  readonly inFlight: InFlightPerCaller;
  readonly logger: Logger;
  /** With nothing in flight and no GET stream, the backend is stopped after this long: a session's idle timeout, a stateless backend's linger. */
  readonly idleTimeoutMs: number;
  readonly clock: Clock;
  /** Messages held for a GET stream that is not open yet, at most (oldest dropped first, logged). */
  readonly heldLimit: HeldLimit;
  /** The session starts to end (DELETE, idle, its server failed, shutdown): forget it. */
  readonly onEnding: (session: HttpSession) => void;
}

const MAX_GONE_REMEMBERED = 1024;
/** A caller past its share of requests in flight may retry as soon as one is answered: say so soon. */
const IN_FLIGHT_RETRY_AFTER_SECONDS = '1';
/** The envelope of the `notifications/cancelled` this component writes (it is not read back). */
const CANCELLED_ENVELOPE: Envelope = Object.freeze({ kind: 'notification', id: undefined, key: undefined, method: CANCELLED });

/** A frame for the pump, with what was read of it (POST bodies are read before they are posted). */
interface InboundFrame {
  readonly line: Buffer;
  readonly envelope: Envelope;
  /** The requests it carries, to answer them if it never reaches the pump. */
  readonly requests: readonly LocalReplyTarget[];
}

/** While the pump answers a local reply: the id key it answers, and its bytes once sent. */
interface LocalReplyCapture {
  readonly key: string;
  line: Buffer | undefined;
}

// One backend behind HTTP: a legacy-era session (its own server) or the shared stateless
// backend. It is the FrameChannel the pump runs against: POST bodies go in as frames; frames
// out are routed to the POST that asked (responses by id, progress by token), else to the GET
// stream, else to a POST already streaming, else (server requests only) to a waiting POST that
// accepts SSE, else held for the next GET stream (legacy) or dropped and logged (stateless).
export class HttpSession implements SlotHolder {
  readonly id: string | undefined;
  readonly identity: Identity | undefined;
  readonly caller: string;
  /** Clock time of the last POST, answer or stream change: who is evicted first at the cap. */
  lastActiveAt: number;
  readonly stateless: boolean;
  readonly channel: FrameChannel;
  readonly #logger: Logger;
  readonly #options: HttpSessionOptions;
  readonly #streams: StreamSet;
  #handlers: FrameChannelHandlers | undefined;
  #backend: SessionBackend | undefined;
  #opening: Promise<SessionBackend | undefined> | undefined;
  #ending: Promise<void> | undefined;
  #channelClosed = false;
  #paused = false;
  #inbound: InboundFrame[] = [];
  #capture: LocalReplyCapture | undefined;
  readonly #exchanges = new Set<Exchange>();
  /** Requests each exchange counts against its caller's share of requests in flight. */
  readonly #counted = new Map<Exchange, number>();
  readonly #byId = new Map<string, Exchange>();
  readonly #byToken = new Map<string, Exchange>();
  readonly #gone = new Set<string>();
  #getStream: ServerResponse | undefined;
  readonly #held: HeldMessages;
  #idleTimer: unknown;
  #renumbered = 0;

  constructor(options: HttpSessionOptions) {
    this.id = options.id;
    this.identity = options.identity;
    this.caller = options.caller;
    this.lastActiveAt = options.clock.now();
    this.stateless = options.id === undefined;
    this.#options = options;
    this.#logger = options.logger;
    this.#held = new HeldMessages(options.heldLimit, options.logger, options.id);
    this.#streams = new StreamSet({
      onCongested: () => this.#handlers?.onCongested(),
      onDrained: () => this.#handlers?.onDrained(),
    });
    this.channel = {
      start: (handlers) => {
        this.#handlers = handlers;
        // Like a stream's 'data', never inside start(): the pump starts the server side after this.
        queueMicrotask(() => this.#flushInbound());
      },
      send: (line, envelope) => {
        if (this.#channelClosed) return;
        // The pump passes what it read (or wrote) of each frame; only a frame without one is read here.
        const read = envelope ?? readFrameEnvelope(line);
        if (this.#capture !== undefined && this.#captures(read)) {
          this.#capture.line = line;
          return;
        }
        this.#route(line, read);
      },
      pause: () => {
        this.#paused = true;
      },
      resume: () => {
        this.#paused = false;
        this.#flushInbound();
      },
      drained: () => this.#streams.drained(),
      endOutput: () => this.#endGetStream(),
      close: () => {
        this.#channelClosed = true;
        this.#inbound = [];
      },
    };
  }

  /** Starts the backend; a failure answers the waiting POSTs 502 and ends the session. */
  open(openSession: (client: FrameChannel, info: HttpSessionInfo) => Promise<SessionBackend>): void {
    // Called a microtask later, so `#opening` is set even if the backend answers synchronously.
    this.#opening = Promise.resolve().then(() => openSession(this.channel, { sessionId: this.id, identity: this.identity })).then(
      (backend) => {
        this.#backend = backend;
        void backend.closed.then(() => void this.#end('its MCP server ended', false));
        return backend;
      },
      (error: unknown) => {
        this.#logger.error({ err: error, session: this.id }, 'could not start the MCP server for an HTTP session');
        for (const exchange of this.#exchanges) {
          exchange.abandon();
          refuse(exchange.res, { status: 502, code: 'SIDECAR_ERR_HTTP_SESSION_UNAVAILABLE', detail: (error as Error)?.message ?? String(error), id: [...exchange.awaiting.values()][0]?.clientRawId });
        }
        this.#exchanges.clear();
        this.#releaseAll();
        void this.#end('its MCP server could not be started', false);
        return undefined;
      },
    );
  }

  /** Stops the backend (the normal stop sequence), then answers what is left. Idempotent. */
  close(reason: string): Promise<void> {
    return this.#end(reason, true);
  }

  /** Nothing in flight, no open stream (GET or POST SSE), not ending: evicting it loses nothing. */
  get idle(): boolean {
    return this.#ending === undefined && this.#exchanges.size === 0 && this.#getStream === undefined;
  }

  /** For a busy session: when it is idle at the latest (its requests' deadlines); undefined if nothing bounds it. */
  busyUntil(): number | undefined {
    // A GET stream stays open as long as the client likes; queued frames have no deadline yet.
    if (this.#getStream !== undefined || this.#inbound.length > 0 || this.#ending !== undefined) return undefined;
    return this.#backend?.busyUntil?.();
  }

  /** A POST whose body passed every check. */
  post(body: PostBody, res: ServerResponse, accept: Acceptable): void {
    this.lastActiveAt = this.#options.clock.now();
    if (body.requests.length === 0) {
      this.#deliver({ line: body.line, envelope: body.envelope, requests: [] });
      this.#applyCancels(body.cancelledKeys);
      res.writeHead(202).end();
      this.#checkIdle();
      return;
    }
    let { line, envelope } = body;
    let requests = body.requests.map((r) => ({ key: r.key, clientRawId: r.rawId, backendRawId: r.rawId, progressToken: r.progressToken }));
    let renumbering: Renumbering | undefined;
    const inFlight = this.#options.inFlight;
    if (!inFlight.tryAcquire(this.caller, requests.length)) {
      const detail = `this caller already has ${inFlight.countOf(this.caller)} requests in flight (--http-max-in-flight-per-identity ${inFlight.limit})`;
      this.#refuseRequests(body, res, 429, 'SIDECAR_ERR_HTTP_IDENTITY_IN_FLIGHT', detail, { 'retry-after': IN_FLIGHT_RETRY_AFTER_SECONDS });
      this.#checkIdle();
      return;
    }
    if (this.#collides(requests)) {
      if (!this.stateless) {
        inFlight.release(this.caller, requests.length);
        this.#refuseInFlight(body, res);
        this.#checkIdle();
        return;
      }
      // Callers sharing a stateless backend each number their requests: clashing ids are renumbered.
      ({ line, envelope, requests, renumbering } = renumberRequests(line, envelope, () => ++this.#renumbered));
    }
    const awaiting = new Map<string, AwaitedRequest>(requests.map((r) => [r.key, { clientRawId: r.clientRawId, backendRawId: r.backendRawId }]));
    const exchange = new Exchange({
      res, acceptsSse: accept.sse, acceptsJson: accept.json, batch: body.envelope.kind === 'batch', isInitialize: body.isInitialize, awaiting,
      progressTokens: progressTokensOf(requests),
      writer: this.#streams, renumbering, onDone: (done) => this.#forget(done),
    });
    this.#exchanges.add(exchange);
    if (inFlight.limit !== undefined) this.#counted.set(exchange, requests.length);
    for (const key of awaiting.keys()) {
      this.#gone.delete(key);
      this.#byId.set(key, exchange);
    }
    for (const token of exchange.progressTokens) this.#byToken.set(token, exchange);
    res.on('close', () => this.#onPostClosed(exchange)); // 'close' comes once: no once() wrapper
    this.#deliver({ line, envelope, requests: requestTargets(line, envelope) });
    this.#applyCancels(body.cancelledKeys);
  }

  // An id already in flight in this session (a legacy session: one request per id, as on stdio).
  // The body never reaches the pump, but its refusal is an answer the proxy writes: the pump's
  // localReply encodes, counts and observes it; it comes back through send() and is the 400's body.
  #refuseInFlight(body: PostBody, res: ServerResponse): void {
    const clash = body.requests.find((r) => this.#byId.has(r.key)) ?? body.requests[0]!;
    this.#refuseRequests(body, res, 400, 'SIDECAR_ERR_ID_IN_FLIGHT', `id ${clash.rawId} in this session`);
  }

  /** Every request of a POST refused before it reaches the pump: each answered by the pump's local reply, one HTTP answer. */
  #refuseRequests(body: PostBody, res: ServerResponse, status: number, code: ErrorCode, detail: string, headers?: Readonly<Record<string, string>>): void {
    const replies = requestTargets(body.line, body.envelope).map((request) => this.#localReply(request, code, detail));
    if (body.envelope.kind !== 'batch') return refuseWithBody(res, status, replies[0]!, headers);
    refuseWithBody(res, status, Buffer.from(`[${replies.map((reply) => withoutLineEnd(reply).toString('utf8')).join(',')}]`), headers);
  }

  // The pump's one localReply, for a request it never received: it sends the answer back into
  // this channel at once, where it is taken as this answer rather than routed (its id may be
  // another request's, in flight). Without a pump that can (not started yet, a backend with no
  // onLocalReply, a channel closed), the same answer is encoded here with the one encoder.
  #localReply(request: LocalReplyTarget, code: ErrorCode, detail: string): Buffer {
    const onLocalReply = this.#handlers?.onLocalReply;
    if (onLocalReply !== undefined && !this.#channelClosed) {
      const capture: LocalReplyCapture = { key: request.key, line: undefined };
      this.#capture = capture;
      try {
        onLocalReply(request, code, detail);
      } catch (error) {
        this.#logger.error({ err: error, session: this.id }, 'the pump could not answer a request refused by the HTTP session; answered here');
      } finally {
        this.#capture = undefined;
      }
      if (capture.line !== undefined) return capture.line;
    }
    return encodeErrorResponse(request.id, code, detail);
  }

  /** Whether a frame sent during a local reply is that reply (an error for its id key). */
  #captures(envelope: EnvelopeResult): boolean {
    return this.#capture!.line === undefined && envelope.kind === 'error' && envelope.key === this.#capture!.key;
  }

  /** A GET: the stream for server messages unrelated to a POST. False if one is already open. */
  openStream(res: ServerResponse): boolean {
    if (this.#getStream !== undefined) return false;
    this.#clearIdle();
    this.lastActiveAt = this.#options.clock.now();
    this.#getStream = res;
    res.writeHead(200, SSE_HEADERS);
    res.flushHeaders();
    res.once('close', () => {
      if (this.#getStream === res) this.#getStream = undefined;
      this.lastActiveAt = this.#options.clock.now();
      this.#checkIdle();
    });
    for (const line of this.#held.take()) this.#streams.write(res, sseEvent(line));
    return true;
  }

  // --- inbound: frames from the HTTP client to the pump ---

  #deliver(frame: InboundFrame): void {
    if (this.#handlers === undefined || this.#paused || this.#inbound.length > 0) this.#inbound.push(frame);
    else if (!this.#channelClosed) this.#handlers.onFrame(frame.line, frame.envelope);
  }

  #flushInbound(): void {
    while (this.#handlers !== undefined && !this.#paused && !this.#channelClosed && this.#inbound.length > 0) {
      const frame = this.#inbound.shift()!;
      this.#handlers.onFrame(frame.line, frame.envelope);
    }
  }

  #collides(requests: ReadonlyArray<{ key: string; progressToken: string | undefined }>): boolean {
    if (requests.length === 1) {
      // A lone request (the common case): no sets to build.
      const { key, progressToken } = requests[0]!;
      return this.#byId.has(key) || (this.stateless && this.#gone.has(key)) || (progressToken !== undefined && this.#byToken.has(progressToken));
    }
    const keys = new Set<string>();
    const tokens = new Set<string>();
    for (const r of requests) {
      // An id whose POST was abandoned may still be answered late: on a shared backend that
      // counts as in flight (renumbered); in a session the client reuses it at its own risk.
      if (this.#byId.has(r.key) || keys.has(r.key) || (this.stateless && this.#gone.has(r.key))) return true;
      keys.add(r.key);
      if (r.progressToken === undefined) continue;
      if (this.#byToken.has(r.progressToken) || tokens.has(r.progressToken)) return true;
      tokens.add(r.progressToken);
    }
    return false;
  }

  // The client cancelled requests of this session: their POSTs stop waiting (a cancelled request
  // gets no response). Ids are the client's: on a stateless backend a renumbered one is not found.
  #applyCancels(keys: readonly string[]): void {
    for (const key of keys) {
      const exchange = this.#byId.get(key);
      if (exchange === undefined) continue;
      this.#byId.delete(key);
      this.#rememberGone(key);
      exchange.cancel(key);
    }
  }

  /** A request nobody waits for any more (cancelled, or its POST closed): a late answer is dropped quietly. */
  #rememberGone(key: string): void {
    this.#gone.add(key);
    if (this.#gone.size > MAX_GONE_REMEMBERED) this.#gone.delete(this.#gone.values().next().value!);
  }

  #onPostClosed(exchange: Exchange): void {
    if (exchange.mode === 'done') return;
    exchange.abandon();
    const waiting = [...exchange.awaiting.values()];
    for (const key of exchange.awaiting.keys()) {
      this.#byId.delete(key);
      this.#rememberGone(key);
    }
    this.#forget(exchange);
    if (this.stateless) {
      // 2026-07-28: closing a request's stream is how a client cancels it; tell the server.
      this.#logger.info({ pending: waiting.length }, 'an HTTP client closed a stateless request before its response: the request is cancelled');
      for (const request of waiting) {
        const line = Buffer.from(`{"jsonrpc":"2.0","method":"${CANCELLED}","params":{"requestId":${request.backendRawId},"reason":"the HTTP client closed the request's stream"}}\n`);
        this.#deliver({ line, envelope: CANCELLED_ENVELOPE, requests: [] });
      }
    } else {
      // Legacy eras: a disconnection is not a cancellation; the response, when it comes, is dropped.
      this.#logger.info({ session: this.id, pending: waiting.map((r) => r.clientRawId) }, 'an HTTP client closed a POST before its response: the response will be dropped');
    }
  }

  #forget(exchange: Exchange): void {
    this.#exchanges.delete(exchange);
    this.lastActiveAt = this.#options.clock.now();
    const counted = this.#counted.get(exchange);
    if (counted !== undefined) {
      this.#counted.delete(exchange);
      this.#options.inFlight.release(this.caller, counted);
    }
    for (const token of exchange.progressTokens) if (this.#byToken.get(token) === exchange) this.#byToken.delete(token);
    for (const key of exchange.awaiting.keys()) if (this.#byId.get(key) === exchange) this.#byId.delete(key);
    this.#checkIdle();
  }

  // --- outbound: frames from the pump to the HTTP client ---

  #route(line: Buffer, envelope: EnvelopeResult): void {
    switch (envelope.kind) {
      case 'response':
      case 'error':
        return this.#routeResponse(line, envelope);
      case 'batch':
        return this.#routeBatch(line, envelope);
      case 'request':
        return this.#routeUnrelated(line, true, envelope.method);
      case 'notification':
        if (envelope.method === PROGRESS && this.#routeProgress(line)) return;
        return this.#routeUnrelated(line, false, envelope.method);
      case 'invalid':
        this.#logger.warn({ session: this.id, problem: envelope.problem }, 'dropped a frame for the HTTP client that is not JSON-RPC');
    }
  }

  #routeResponse(line: Buffer, envelope: Envelope): void {
    const rawId = envelope.id;
    if (rawId === undefined || rawId === 'null') {
      // The pump answers a whole batch with one error (id null) when it refuses it.
      const batch = [...this.#exchanges].find((exchange) => exchange.batch && exchange.mode !== 'done');
      if (batch !== undefined) return batch.deliverResponse(line, 'all');
      return this.#routeUnrelated(line, false, undefined);
    }
    const key = envelope.key;
    if (key === undefined) return this.#routeUnrelated(line, false, undefined);
    const exchange = this.#byId.get(key);
    if (exchange === undefined) {
      if (this.#gone.delete(key)) this.#logger.info({ session: this.id, id: rawId }, 'dropped a late response: its HTTP client had cancelled the request or closed the POST');
      else this.#logger.warn({ session: this.id, id: rawId }, 'dropped a response that answers no request of this HTTP session');
      return;
    }
    this.#byId.delete(key);
    if (exchange.isInitialize && envelope.kind === 'error') {
      // The server refused the handshake: no session comes of it.
      if (!exchange.res.headersSent) exchange.res.removeHeader('mcp-session-id');
      exchange.deliverResponse(line, [key]);
      void this.#end('the server refused initialize', true);
      return;
    }
    exchange.deliverResponse(line, [key]);
  }

  #routeBatch(line: Buffer, envelope: Envelope): void {
    const members = envelope.members ?? [];
    const keys = members.flatMap((m) => ((m.kind === 'response' || m.kind === 'error') && m.key !== undefined ? [m.key] : []));
    const exchange = keys.map((key) => this.#byId.get(key)).find((e) => e !== undefined);
    if (exchange === undefined) {
      if (members.some((m) => m.kind === 'request' || m.kind === 'notification')) return this.#routeUnrelated(line, members.some((m) => m.kind === 'request'), 'batch');
      this.#logger.warn({ session: this.id }, 'dropped a batch of responses that answer no request of this HTTP session');
      return;
    }
    const answered = keys.filter((key) => this.#byId.get(key) === exchange);
    for (const key of answered) this.#byId.delete(key);
    exchange.deliverResponse(line, answered);
  }

  #routeProgress(line: Buffer): boolean {
    let token: string | number | undefined;
    try {
      token = progressNotificationToken(parseFrameBody(line));
    } catch {
      return false;
    }
    if (token === undefined) return false;
    return this.#byToken.get(JSON.stringify(token))?.deliverEvent(line) ?? false;
  }

  #routeUnrelated(line: Buffer, isRequest: boolean, method: string | undefined): void {
    if (this.#getStream !== undefined && this.#streams.write(this.#getStream, sseEvent(line))) return;
    for (const exchange of this.#exchanges) if (exchange.mode === 'sse' && exchange.deliverEvent(line)) return;
    // A server request blocks the server until answered: open a waiting POST's stream for it.
    if (isRequest) for (const exchange of this.#exchanges) if (exchange.deliverEvent(line)) return;
    if (this.stateless) {
      this.#logger.warn({ method }, 'dropped a server message for a stateless HTTP client: no stream is open to carry it');
      return;
    }
    if (isRequest) this.#logger.info({ session: this.id, method }, 'a server request waits for the client to open a GET stream');
    this.#held.hold(line, method);
  }

  #endGetStream(): void {
    const stream = this.#getStream;
    this.#getStream = undefined;
    if (stream !== undefined && !stream.writableEnded) stream.end();
  }

  // --- life: idle timeout and the end ---

  #releaseAll(): void {
    for (const counted of this.#counted.values()) this.#options.inFlight.release(this.caller, counted);
    this.#counted.clear();
  }

  #clearIdle(): void {
    if (this.#idleTimer !== undefined) this.#options.clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  // The idle timer is lazy: it is armed when the session turns idle and not touched per POST.
  // When it fires it measures from `lastActiveAt` (every POST, answer and stream change sets it):
  // busy, it lapses (the next turn to idle arms it again); idle but active since, it waits the
  // rest. So a busy session costs no timer work per request, and at most one wake-up per timeout.
  #checkIdle(): void {
    if (this.#ending !== undefined || this.#idleTimer !== undefined || !this.idle) return;
    this.#armIdle(this.#options.idleTimeoutMs);
  }

  #armIdle(ms: number): void {
    this.#idleTimer = this.#options.clock.setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#ending !== undefined || !this.idle) return;
      const timeoutMs = this.#options.idleTimeoutMs;
      const rest = this.lastActiveAt + timeoutMs - this.#options.clock.now();
      if (rest > 0) return this.#armIdle(rest);
      // The reason names the setting to change: a stateless backend lingers, a session idles.
      void this.#end(this.stateless ? `unused for ${timeoutMs} ms (stateless linger)` : `idle for ${timeoutMs} ms`, true);
    }, ms);
  }

  // Requests still queued for the pump (paused by backpressure) when the session ends: they will
  // never reach the server, so the pump answers them, as every answer the proxy writes itself,
  // while it still runs; its answers are routed to their POSTs like any response.
  #answerUndelivered(reason: string): void {
    const onLocalReply = this.#handlers?.onLocalReply;
    if (onLocalReply === undefined || this.#channelClosed) return;
    const undelivered = this.#inbound;
    this.#inbound = [];
    for (const frame of undelivered) {
      for (const request of frame.requests) onLocalReply(request, 'SIDECAR_ERR_UPSTREAM_EXITED', `the HTTP session ended (${reason})`);
    }
  }

  #end(reason: string, stopBackend: boolean): Promise<void> {
    this.#ending ??= (async () => {
      this.#clearIdle();
      this.#options.onEnding(this);
      this.#logger.info({ session: this.id, stateless: this.stateless, reason }, 'HTTP session ending');
      if (stopBackend) {
        this.#answerUndelivered(reason);
        const backend = this.#backend ?? (await this.#opening);
        try {
          await backend?.close(reason);
        } catch (error) {
          this.#logger.error({ err: error, session: this.id }, 'stopping the HTTP session\'s server failed');
        }
      }
      // What the backend did not answer (its stop answers what was in flight; the pump is gone
      // now, so this is encoded here): a backend that lost requests, or one that never started.
      for (const exchange of [...this.#exchanges]) exchange.fail((rawId) => encodeErrorResponse(rawId, 'SIDECAR_ERR_UPSTREAM_EXITED', `the HTTP session ended (${reason})`));
      this.#endGetStream();
      const held = this.#held.take();
      if (held.length > 0) this.#logger.warn({ session: this.id, dropped: held.length }, 'server messages held for a GET stream were dropped: the session ended');
      this.#channelClosed = true;
    })();
    return this.#ending;
  }
}

const NO_TOKENS: readonly string[] = Object.freeze([]);

/** The progress tokens of a POST's requests (most ask for none: one shared empty list). */
function progressTokensOf(requests: ReadonlyArray<{ progressToken: string | undefined }>): readonly string[] {
  let tokens: string[] | undefined;
  for (const r of requests) if (r.progressToken !== undefined) (tokens ??= []).push(r.progressToken);
  return tokens ?? NO_TOKENS;
}

/** The requests a frame carries, as the pump is asked to answer them: id, key, method and their own bytes (for the report). */
function requestTargets(line: Buffer, envelope: Envelope): LocalReplyTarget[] {
  if (envelope.kind === 'request') return [{ id: envelope.id!, key: envelope.key!, method: envelope.method, line }];
  if (envelope.kind !== 'batch') return [];
  return (envelope.members ?? []).flatMap((m) => (m.kind === 'request' ? [{ id: m.id!, key: m.key!, method: m.method, line: m.bytes }] : []));
}
