import type { ServerResponse } from 'node:http';
import { idKeyOfValue, withoutLineEnd } from '../framing/index.js';

/** Writes to HTTP responses, tracking backpressure for the whole session. */
export interface StreamWriter {
  /** False if the stream has already ended or closed (nothing written). */
  write(res: ServerResponse, chunk: Buffer): boolean;
  end(res: ServerResponse, chunk?: Buffer): void;
}

/** A request of the POST still waiting for its response. */
export interface AwaitedRequest {
  /** The id as the HTTP client wrote it. */
  readonly clientRawId: string;
  /** The id the server sees (differs only for a request renumbered on a shared stateless backend). */
  readonly backendRawId: string;
}

/** Ids and progress tokens renumbered on a shared stateless backend: backend key → what the client wrote. */
export interface Renumbering {
  readonly ids: ReadonlyMap<string, string>;
  readonly tokens: ReadonlyMap<string, string>;
}

export const SSE_HEADERS = Object.freeze({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform' });
const EVENT_PREFIX = Buffer.from('event: message\ndata: ');
const EVENT_SUFFIX = Buffer.from('\n\n');

/** One frame (an NDJSON line) as one SSE `message` event. */
export function sseEvent(line: Buffer): Buffer {
  return Buffer.concat([EVENT_PREFIX, withoutLineEnd(line), EVENT_SUFFIX]);
}


// One POST that carried requests: it is answered `application/json` with its response(s) when
// nothing else has to be delivered on it first; otherwise it switches to `text/event-stream`
// (if the client accepts it) before its first other message, and ends after its last response.
export class Exchange {
  readonly res: ServerResponse;
  readonly acceptsSse: boolean;
  readonly acceptsJson: boolean;
  readonly batch: boolean;
  readonly isInitialize: boolean;
  /** Backend id key → the request, while unanswered. */
  readonly awaiting: Map<string, AwaitedRequest>;
  /** Progress token keys (as the backend sees them) routed to this POST. */
  readonly progressTokens: readonly string[];
  readonly #writer: StreamWriter;
  readonly #renumbering: Renumbering | undefined;
  readonly #onDone: (exchange: Exchange) => void;
  #mode: 'pending' | 'sse' | 'done' = 'pending';
  #collected: Buffer[] = [];

  constructor(init: {
    res: ServerResponse; acceptsSse: boolean; acceptsJson: boolean; batch: boolean; isInitialize: boolean; awaiting: Map<string, AwaitedRequest>;
    progressTokens: readonly string[]; writer: StreamWriter; renumbering: Renumbering | undefined; onDone: (exchange: Exchange) => void;
  }) {
    this.res = init.res;
    this.acceptsSse = init.acceptsSse;
    this.acceptsJson = init.acceptsJson;
    this.batch = init.batch;
    this.isInitialize = init.isInitialize;
    this.awaiting = init.awaiting;
    this.progressTokens = init.progressTokens;
    this.#writer = init.writer;
    this.#renumbering = init.renumbering;
    this.#onDone = init.onDone;
  }

  get mode(): 'pending' | 'sse' | 'done' {
    return this.#mode;
  }

  /** A response (or a batch of them) answering `keys`; 'all': whatever is left (a reply to the whole batch). */
  deliverResponse(line: Buffer, keys: readonly string[] | 'all'): void {
    if (this.#mode === 'done') return;
    if (keys === 'all') this.awaiting.clear();
    else for (const key of keys) this.awaiting.delete(key);
    const restored = this.#restoreIds(line);
    if (this.#mode === 'sse') this.#writer.write(this.res, sseEvent(restored));
    else this.#collected.push(withoutLineEnd(restored));
    if (this.awaiting.size === 0) this.#finish();
  }

  /** Another message (progress, a server request, a notification) on this POST's stream: false if it cannot carry it. */
  deliverEvent(line: Buffer): boolean {
    if (this.#mode === 'done' || !this.acceptsSse || this.res.destroyed) return false;
    if (this.#mode === 'pending') this.#startStream();
    return this.#writer.write(this.res, sseEvent(this.#restoreToken(line)));
  }

  /** The client cancelled one of the requests: no response is waited for any more. */
  cancel(key: string): void {
    if (this.#mode === 'done' || !this.awaiting.delete(key)) return;
    if (this.awaiting.size === 0) this.#finish();
  }

  /** The session ended: every request still waiting is answered with `encode(clientRawId)`. */
  fail(encode: (rawId: string) => Buffer): void {
    if (this.#mode === 'done') return;
    const lines = [...this.awaiting.values()].map((request) => encode(request.clientRawId));
    this.awaiting.clear();
    for (const line of lines) {
      if (this.#mode === 'sse') this.#writer.write(this.res, sseEvent(line));
      else this.#collected.push(withoutLineEnd(line));
    }
    this.#finish();
  }

  /** The HTTP client went away first: nothing more is written. */
  abandon(): void {
    this.#mode = 'done';
  }

  #startStream(): void {
    this.#mode = 'sse';
    this.res.writeHead(200, SSE_HEADERS);
    for (const response of this.#collected) this.#writer.write(this.res, sseEvent(response));
    this.#collected = [];
  }

  #finish(): void {
    // A client that accepts only SSE gets its response(s) as events.
    if (this.#mode === 'pending' && !this.acceptsJson) this.#startStream();
    const mode = this.#mode;
    this.#mode = 'done';
    if (mode === 'sse') this.#writer.end(this.res);
    else if (this.#collected.length > 0) {
      const body = this.#jsonBody();
      this.res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      this.#writer.end(this.res, body);
    } else if (this.acceptsSse) {
      // Every request was cancelled: an event stream that ends without a response.
      this.res.writeHead(200, SSE_HEADERS);
      this.#writer.end(this.res);
    } else {
      this.res.writeHead(202);
      this.#writer.end(this.res);
    }
    this.#onDone(this);
  }

  // One response: its bytes. A batch: the server's batch as is, or the responses joined into one.
  #jsonBody(): Buffer {
    const collected = this.#collected;
    if (collected.length === 1 && (!this.batch || collected[0]![0] === 0x5b /* [ */)) return collected[0]!;
    const members = collected.map((line) => {
      const text = line.toString('utf8').trim();
      return text.startsWith('[') ? text.slice(1, -1).trim() : text;
    }).filter((text) => text.length > 0);
    return Buffer.from(`[${members.join(',')}]`);
  }

  #restoreIds(line: Buffer): Buffer {
    const ids = this.#renumbering?.ids;
    if (ids === undefined || ids.size === 0) return line;
    const parsed = JSON.parse(line.toString('utf8')) as unknown;
    const restore = (message: { id?: unknown }): void => {
      const key = message ? idKeyOfValue(message.id) : undefined;
      const original = key === undefined ? undefined : ids.get(key);
      if (original !== undefined) message.id = JSON.parse(original);
    };
    if (Array.isArray(parsed)) parsed.forEach(restore);
    else restore(parsed as { id?: unknown });
    return Buffer.from(`${JSON.stringify(parsed)}\n`);
  }

  #restoreToken(line: Buffer): Buffer {
    const tokens = this.#renumbering?.tokens;
    if (tokens === undefined || tokens.size === 0) return line;
    const parsed = JSON.parse(line.toString('utf8')) as { params?: { progressToken?: unknown } };
    const token = parsed.params?.progressToken;
    const original = token === undefined ? undefined : tokens.get(JSON.stringify(token));
    if (original === undefined) return line;
    parsed.params!.progressToken = JSON.parse(original);
    return Buffer.from(`${JSON.stringify(parsed)}\n`);
  }
}
