// The bench client over Streamable HTTP: the proxy started with `--http`, talked to with the
// interface the phases use for a stdio Session (send, nextLine, onLine, onExit, cork, close), so
// the phases are shared. No SDK: each message is one POST to /mcp through a node:http keep-alive
// Agent; a response is handed on as a "line" (its JSON body, which has no `\n`). Responses are
// handed on in the order the requests were sent, as a stdio server writes them, so each is
// checked against the call it answers even when connections finish out of order.
import { Agent, request } from 'node:http';
import { connect, createServer } from 'node:net';
import { nextLineOf, preview, Session } from './session.mjs';

const HOST = '127.0.0.1';
const PATH = '/mcp';
const LISTEN_TIMEOUT_MS = 15_000;
const LISTEN_POLL_MS = 10;
const NEWLINE = 0x0a;
/** Connections in the pool: one per call in flight in the widest phase (100 B × 64). */
export const HTTP_CONNECTIONS = 64;

/** A port nobody listens on now (the proxy is started on it; a race with another process is possible but rare). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class HttpSession {
  /** Called when the process exits (set by whoever waits for lines; cleared when done). */
  onExit;
  #process;
  #port;
  #agent;
  #headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  #sessionId;
  #onLine;
  #problems = [];
  #sent = 0;
  #handedOn = 0;
  /** Responses that came before an earlier request's: sequence number → line (null: nothing to hand on). */
  #early = new Map();
  #settled;

  /** Spawns the proxy (`spec` must make it listen on `port`) and waits until it accepts connections. */
  static async start(spec, { port, connections = HTTP_CONNECTIONS }) {
    const session = new HttpSession(spec, port, connections);
    try {
      await session.#waitUntilListening();
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  }

  constructor(spec, port, connections) {
    this.#process = new Session(spec);
    this.#process.onExit = (error) => this.onExit?.(error);
    this.#port = port;
    // fifo: the free connections take turns, so every one of them stays warm.
    this.#agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections, scheduling: 'fifo' });
  }

  get spec() {
    return this.#process.spec;
  }

  get pid() {
    return this.#process.pid;
  }

  get hasExited() {
    return this.#process.hasExited;
  }

  get stderrBytes() {
    return this.#process.stderrBytes;
  }

  get stderrTail() {
    return this.#process.stderrTail;
  }

  /** Responses nobody waited for, and anything the proxy wrote to stdout (it should write nothing there). */
  get problems() {
    return [...this.#problems, ...this.#process.problems];
  }

  set onLine(handler) {
    this.#onLine = handler;
  }

  /** One POST: the frame's bytes without their `\n` (the body is one JSON-RPC message). */
  send(buffer) {
    const seq = this.#sent++;
    const body = buffer[buffer.length - 1] === NEWLINE ? buffer.subarray(0, -1) : buffer;
    let answered = false;
    const answer = (line) => {
      if (answered) return;
      answered = true;
      this.#complete(seq, line);
    };
    // A failed request is handed on as a line that matches nothing, so the phase counts it.
    const fail = (error) => answer(Buffer.from(`<POST failed: ${error.message}>`));
    const req = request({ agent: this.#agent, host: HOST, port: this.#port, method: 'POST', path: PATH, headers: this.#headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.once('end', () => answer(this.#lineOf(res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))));
      res.once('error', fail);
    });
    req.once('error', fail);
    req.end(body); // end(data) before the headers: node:http sends Content-Length, not chunks
  }

  // Each request is its own POST: nothing to batch.
  cork() {}

  uncork() {}

  /** Resolves when every POST sent so far has been answered (a notification's 202 included). */
  settled(timeoutMs = 30_000) {
    if (this.#handedOn === this.#sent) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.spec.name}: POSTs unanswered after ${timeoutMs} ms`)), timeoutMs);
      this.#settled = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** The next line, or a rejection if the proxy exits or `timeoutMs` passes first. */
  nextLine(timeoutMs = 30_000) {
    return nextLineOf(this, timeoutMs);
  }


  /** Drops the connections and stops the proxy with SIGTERM (over HTTP it does not read stdin). */
  close() {
    this.#agent.destroy();
    return this.#process.close({ signal: 'SIGTERM' });
  }

  async #waitUntilListening() {
    const deadline = Date.now() + LISTEN_TIMEOUT_MS;
    while (!(await canConnect(this.#port))) {
      if (this.#process.hasExited) throw this.#process.exitError(await this.#process.exited);
      if (Date.now() > deadline) throw new Error(`${this.spec.name}: not listening on ${HOST}:${this.#port} after ${LISTEN_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, LISTEN_POLL_MS));
    }
  }

  // What the phases see of a response: the JSON body of a 200, nothing for a 202 (a notification
  // accepted), else a line describing it (which matches no expected response).
  #lineOf(res, body) {
    const type = res.headers['content-type'] ?? '';
    if (res.statusCode === 202 && body.length === 0) return null;
    // A server that answers a POST with an SSE stream (the bridges do): its last `data:` event is
    // the response (the stream ends after it).
    if (res.statusCode === 200 && type.startsWith('text/event-stream')) body = lastEventData(body) ?? body;
    else if (res.statusCode !== 200 || !type.startsWith('application/json')) {
      return Buffer.from(`<HTTP ${res.statusCode} ${type}: ${preview(body)}>`);
    }
    if (this.#sessionId === undefined && res.headers['mcp-session-id'] !== undefined) this.#beginSession(res.headers['mcp-session-id'], body);
    return body;
  }

  // The initialize response: every later POST names the session and the negotiated version.
  #beginSession(sessionId, body) {
    this.#sessionId = sessionId;
    let version;
    try {
      version = JSON.parse(body.toString('utf8')).result?.protocolVersion;
    } catch {
      // the handshake reports an unreadable initialize response
    }
    this.#headers = { ...this.#headers, 'mcp-session-id': sessionId, ...(typeof version === 'string' ? { 'mcp-protocol-version': version } : {}) };
  }

  #complete(seq, line) {
    if (seq !== this.#handedOn) {
      this.#early.set(seq, line);
      return;
    }
    this.#handedOn++;
    this.#handOn(line);
    while (this.#early.has(this.#handedOn)) {
      const next = this.#early.get(this.#handedOn);
      this.#early.delete(this.#handedOn++);
      this.#handOn(next);
    }
    if (this.#handedOn === this.#sent && this.#settled !== undefined) {
      const settled = this.#settled;
      this.#settled = undefined;
      settled();
    }
  }

  #handOn(line) {
    if (line === null) return;
    if (this.#onLine) this.#onLine(line);
    else this.#problems.push(`unexpected response: ${preview(line)}`);
  }
}

/** The data of the last event of an SSE body (its `data:` lines joined), or undefined. */
function lastEventData(body) {
  let last;
  for (const event of body.toString('utf8').split(/\r?\n\r?\n/)) {
    const data = event.split(/\r?\n/).filter((line) => line.startsWith('data:')).map((line) => line.slice(line.startsWith('data: ') ? 6 : 5));
    if (data.length > 0) last = data.join('\n');
  }
  return last === undefined ? undefined : Buffer.from(last);
}
