// Raw HTTP requests to the northbound (node:http, so Host and Origin can be anything), with the
// response read as it streams: status and headers first, SSE events one by one, the body text.
import { request as httpRequest, Agent, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

export interface SseEvent {
  readonly event: string | undefined;
  readonly id: string | undefined;
  readonly data: string;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The SSE events read so far (a text/event-stream response). */
  readonly events: SseEvent[];
  /** The whole body, once it ended. */
  readonly done: Promise<string>;
  /** Resolves with the next event (waits for it). */
  nextEvent(timeoutMs?: number): Promise<SseEvent>;
  /** The body parsed as JSON (after `done`). */
  json(): Promise<any>;
  /** Stops reading (the client goes away). */
  destroy(): void;
  /** Pauses or resumes reading the body (for backpressure tests). */
  readonly message: IncomingMessage;
}

export interface RawRequest {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string | number | undefined>;
  readonly body?: string | Buffer | object;
  /** Send the body chunked, without Content-Length. */
  readonly chunked?: boolean;
}

export const JSON_AND_SSE = 'application/json, text/event-stream';
const agent = new Agent({ keepAlive: true });

/** Sends one request; resolves once the status and headers arrived. */
export function send(port: number, options: RawRequest = {}): Promise<RawResponse> {
  return start(port, options).response;
}

/** Sends one request; `abort()` makes the client go away, even before the headers arrived. */
export function start(port: number, options: RawRequest = {}): { response: Promise<RawResponse>; abort(): void } {
  const body = options.body === undefined ? undefined : typeof options.body === 'string' || Buffer.isBuffer(options.body) ? Buffer.from(options.body) : Buffer.from(JSON.stringify(options.body));
  const method = options.method ?? (body === undefined ? 'GET' : 'POST');
  const headers: Record<string, string | number> = {};
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers.accept = JSON_AND_SSE;
    if (!options.chunked) headers['content-length'] = body.length;
  }
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  let req!: ReturnType<typeof httpRequest>;
  const response = new Promise<RawResponse>((resolve, reject) => {
    req = httpRequest({ host: '127.0.0.1', port, method, path: options.path ?? '/mcp', headers, agent }, (res) => resolve(readResponse(res)));
    req.on('error', reject);
    if (body !== undefined && options.chunked) {
      for (let offset = 0; offset < body.length; offset += 65536) req.write(body.subarray(offset, offset + 65536));
    }
    req.end(options.chunked ? undefined : body);
  });
  response.catch(() => {});
  return { response, abort: () => req.destroy() };
}

function readResponse(res: IncomingMessage): RawResponse {
  const events: SseEvent[] = [];
  let waiters: Array<() => void> = [];
  let text = '';
  let pending = '';
  let ended = false;
  const wake = (): void => {
    const current = waiters;
    waiters = [];
    for (const w of current) w();
  };
  const done = new Promise<string>((resolve) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
      pending += chunk;
      for (let end = pending.indexOf('\n\n'); end !== -1; end = pending.indexOf('\n\n')) {
        const block = pending.slice(0, end);
        pending = pending.slice(end + 2);
        let event: string | undefined;
        let id: string | undefined;
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('id:')) id = line.slice(3).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length > 0 || event !== undefined) events.push({ event, id, data: data.join('\n') });
      }
      wake();
    });
    const finish = (): void => {
      ended = true;
      wake();
      resolve(text);
    };
    res.on('end', finish);
    res.on('close', finish);
    res.on('error', finish);
  });
  let read = 0;
  return {
    status: res.statusCode!,
    headers: res.headers,
    events,
    done,
    message: res,
    async nextEvent(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (read >= events.length) {
        if (ended) throw new Error('the stream ended without another event');
        if (Date.now() > deadline) throw new Error('timed out waiting for an SSE event');
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return events[read++]!;
    },
    async json() {
      return JSON.parse(await done);
    },
    destroy: () => res.destroy(),
  };
}

/** The JSON-RPC messages a response carried: a JSON body, or the data of its SSE events. */
export async function messagesOf(response: RawResponse): Promise<any[]> {
  const text = await response.done;
  if (String(response.headers['content-type']).startsWith('text/event-stream')) return response.events.map((e) => JSON.parse(e.data));
  if (text === '') return [];
  const parsed = JSON.parse(text);
  return Array.isArray(parsed) ? parsed : [parsed];
}

export const INITIALIZE = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
