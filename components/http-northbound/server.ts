import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SidecarError } from '../errors/index.js';
import type { AuthResult } from '../http-auth/index.js';
import type { Identity } from '../policy/index.js';
import { systemClock, type Clock } from '../clock/index.js';
import { isStatelessVersion, KNOWN_PROTOCOL_VERSIONS } from '../mcp/index.js';
import { discardRest, readBody } from './body.js';
import { readFrameEnvelope } from './envelope-reads.js';
import { readPostBody, type PostBody } from './post-body.js';
import { refuse, type HttpRefusal } from './replies.js';
import { createOriginGuard, headerValue, mediaType, readAccept, type Acceptable } from './request-checks.js';
import { HttpSession } from './session.js';
import { busyRetryAfterSeconds, countOf, EvictedSessions, evictionCandidate, InFlightPerCaller, leastRecentlyActiveIdle } from './session-slots.js';
import type { HttpNorthbound, HttpNorthboundOptions } from './types.js';

const ALLOW = 'GET, POST, DELETE';
// Every slot is busy only when no session is idle: any idle one is evicted for a new session. A
// busy one becomes evictable the moment its last answer is sent or its stream closes, which
// cannot be foreseen, so the client is told to come back soon rather than after an idle timeout;
// at the session cap, request deadlines bound it (busyRetryAfterSeconds, session-slots.ts).
const BUSY_RETRY_AFTER_SECONDS = '1';
/** Evicted session ids remembered, to tell a returning client why its session is gone. */
const EVICTED_REMEMBERED = 1024;
const HELD_MESSAGES = 256;
/** After an early answer, how much more body is read and discarded before the connection is cut, and for how long. */
const LINGER_MIN_BYTES = 4 * 1024 * 1024;
const LINGER_MS = 2000;

// The system clock, its timers unref'd: a pending idle timer or lingering close must not keep
// the process alive on its own.
const UNREF_CLOCK: Clock = {
  now: systemClock.now,
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: systemClock.clearTimeout,
};

/** Starts the Streamable HTTP listener. Rejects (SIDECAR_ERR_CONFIG_INVALID) if the address cannot be bound. */
export async function startHttpNorthbound(options: HttpNorthboundOptions): Promise<HttpNorthbound> {
  const { settings, logger } = options;
  const sessions = new Map<string, HttpSession>();
  const stateless = new Map<string, HttpSession>();
  let closing: Promise<void> | undefined;
  const clock = options.clock ?? UNREF_CLOCK;
  const lingerMs = settings.statelessLingerMs ?? settings.idleTimeoutMs;
  const maxPerCaller = settings.maxSessionsPerIdentity ?? settings.maxSessions;
  const inFlight = new InFlightPerCaller(settings.maxInFlightPerIdentity);
  const evicted = new EvictedSessions(EVICTED_REMEMBERED);
  let evictedCount = 0;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error, method: req.method }, 'an HTTP request failed inside the proxy');
      if (!res.headersSent) res.writeHead(500, { connection: 'close' });
      res.end();
    });
  });
  const address = await listen(server, settings.listen.host, settings.listen.port);
  const guard = createOriginGuard(settings, address.port);
  if (!guard.checksHost) logger.warn({ host: settings.listen.host }, 'HTTP Host headers are not checked on a wildcard address: name the accepted hosts with --http-allowed-host');
  const heldLimit = { messages: HELD_MESSAGES, bytes: Math.max(options.maxFrameBytes, 1 << 20) };

  // An answer before the body is read: the rest is discarded, bounded (lingering close).
  const lingerBytes = Math.max(settings.maxBodyBytes, LINGER_MIN_BYTES);
  const reject = (req: IncomingMessage, res: ServerResponse, refusal: HttpRefusal): void => {
    refuse(res, refusal);
    discardRest(req, lingerBytes, LINGER_MS, clock);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!guard.allowHost(req.headers.host)) {
      return reject(req, res, { status: 403, code: 'SIDECAR_ERR_HTTP_FORBIDDEN', detail: `Host ${JSON.stringify(req.headers.host ?? null)} is not allowed` });
    }
    const origin = headerValue(req.headers, 'origin');
    if (!guard.allowOrigin(origin)) return reject(req, res, { status: 403, code: 'SIDECAR_ERR_HTTP_FORBIDDEN', detail: `Origin ${JSON.stringify(origin)} is not allowed` });
    let identity: Identity | undefined;
    let caller = ANONYMOUS;
    if (options.authenticate !== undefined) {
      const result = await options.authenticate(req.headers);
      if (!result.ok) return reject(req, res, authRefusal(result));
      identity = result.identity;
      caller = result.principal ?? identityKey(identity);
    }
    const path = pathOf(req.url ?? '/');
    if (path !== settings.path) return reject(req, res, { status: 404, code: 'SIDECAR_ERR_HTTP_BAD_REQUEST', detail: `nothing at ${path}: the MCP endpoint is ${settings.path}` });
    if (closing !== undefined) return reject(req, res, { status: 503, code: 'SIDECAR_ERR_SHUTTING_DOWN', detail: 'the proxy is stopping' });
    const version = headerValue(req.headers, 'mcp-protocol-version');
    if (version !== undefined && !KNOWN_PROTOCOL_VERSIONS.includes(version)) {
      return reject(req, res, {
        status: 400, code: 'SIDECAR_ERR_HTTP_UNSUPPORTED_VERSION', detail: `MCP-Protocol-Version ${JSON.stringify(version)}`,
        data: { supported: KNOWN_PROTOCOL_VERSIONS, requested: version },
      });
    }
    switch (req.method) {
      case 'POST':
        return post(req, res, identity, caller, version);
      case 'GET':
        return get(req, res, caller);
      case 'DELETE':
        return remove(req, res, caller);
      default:
        return reject(req, res, { status: 405, code: 'SIDECAR_ERR_HTTP_BAD_REQUEST', detail: `method ${req.method} (allowed: ${ALLOW})`, headers: { allow: ALLOW } });
    }
  }

  async function post(req: IncomingMessage, res: ServerResponse, identity: Identity | undefined, caller: string, version: string | undefined): Promise<void> {
    const contentType = mediaType(headerValue(req.headers, 'content-type'));
    if (contentType !== 'application/json') {
      return reject(req, res, { status: 415, code: 'SIDECAR_ERR_HTTP_BAD_REQUEST', detail: `Content-Type ${JSON.stringify(contentType ?? null)}: a POST body must be application/json` });
    }
    const accept = readAccept(headerValue(req.headers, 'accept'));
    if (!accept.json && !accept.sse) return reject(req, res, { status: 406, code: 'SIDECAR_ERR_HTTP_BAD_REQUEST', detail: 'Accept must admit application/json and text/event-stream' });
    const read = await readBody(req, settings.maxBodyBytes);
    if (read.kind === 'aborted') return void logger.debug('an HTTP client went away while sending its request body');
    if (read.kind === 'too-large') {
      return reject(req, res, { status: 413, code: 'SIDECAR_ERR_HTTP_BODY_TOO_LARGE', detail: `more than ${settings.maxBodyBytes} bytes` });
    }
    const bytes = read.line.length - 1;
    if (bytes > options.maxFrameBytes) {
      const { id } = readFrameEnvelope(read.line.subarray(0, Math.min(bytes, 4096)));
      return refuse(res, { status: 413, code: 'SIDECAR_ERR_FRAME_TOO_LARGE', detail: `${bytes} bytes`, id });
    }
    const parsed = readPostBody(read.line);
    if (parsed.kind === 'invalid') {
      const code = parsed.problem === 'parse' ? 'SIDECAR_ERR_PARSE' : parsed.problem === 'ambiguous' ? 'SIDECAR_ERR_AMBIGUOUS_FRAME' : 'SIDECAR_ERR_INVALID_REQUEST';
      return refuse(res, { status: 400, code, detail: parsed.detail, id: parsed.id, batchIds: parsed.batchIds });
    }
    const body = parsed.body;
    const firstId = body.requests[0]?.rawId;
    const badRequest = (detail: string, status = 400): void => refuse(res, { status, code: 'SIDECAR_ERR_HTTP_BAD_REQUEST', detail, id: firstId });
    if (body.initializeInBatch) return badRequest('initialize must be sent alone, not in a batch');
    const mcpMethod = headerValue(req.headers, 'mcp-method');
    if (mcpMethod !== undefined && body.method !== undefined && mcpMethod !== body.method) {
      return refuse(res, { status: 400, code: 'SIDECAR_ERR_HTTP_HEADER_MISMATCH', detail: `Mcp-Method ${JSON.stringify(mcpMethod)}, body ${JSON.stringify(body.method)}`, id: firstId });
    }
    const sessionId = headerValue(req.headers, 'mcp-session-id');
    if (sessionId !== undefined) {
      const session = sessionFor(sessionId, caller);
      if (session === undefined) return refuse(res, { ...sessionNotFound(sessionId, caller), id: firstId });
      if (body.isInitialize) return badRequest('this session is already initialized; send initialize without Mcp-Session-Id to start another');
      return session.post(body, res, accept);
    }
    if (body.isInitialize) return startSession(body, res, accept, identity, caller);
    const statelessEra = version !== undefined ? isStatelessVersion(version) : body.statelessMeta || body.method === 'server/discover';
    if (!statelessEra) {
      return badRequest('Mcp-Session-Id header required: start a session with initialize (or, in the stateless era, send MCP-Protocol-Version: 2026-07-28)');
    }
    return postStateless(body, res, accept, identity, caller);
  }

  function startSession(body: PostBody, res: ServerResponse, accept: Acceptable, identity: Identity | undefined, caller: string): void {
    const requestId = body.requests[0]?.rawId;
    if (!inFlight.admits(caller, 1)) return refuse(res, inFlightRefusal(caller, requestId));
    // A caller told apart from others (a JWT) at its share gives way to itself first: its own
    // least recently active idle session, else a refusal that names its share.
    if (caller !== ANONYMOUS && countOf(sessions.values(), caller) >= maxPerCaller) {
      const own = leastRecentlyActiveIdle(sessions.values(), caller);
      if (own === undefined) {
        logger.warn({ sessions: sessions.size, perIdentity: maxPerCaller }, 'refused a new HTTP session: the caller holds its share of the sessions, each busy');
        return refuse(res, {
          status: 429, code: 'SIDECAR_ERR_HTTP_IDENTITY_SESSIONS', id: requestId, headers: { 'retry-after': String(busyRetryAfterSeconds(sessions.values(), clock.now(), caller)) },
          detail: `this caller holds ${maxPerCaller} sessions (--http-max-sessions-per-identity), each with a request in flight or a stream open`,
        });
      }
      evict(own);
    }
    if (sessions.size >= settings.maxSessions) {
      const idle = evictionCandidate(sessions.values(), caller);
      if (idle === undefined) {
        logger.warn({ sessions: sessions.size }, 'refused a new HTTP session: every session slot is taken, each busy');
        return refuse(res, {
          status: 503, code: 'SIDECAR_ERR_HTTP_TOO_MANY_SESSIONS', id: requestId, headers: { 'retry-after': String(busyRetryAfterSeconds(sessions.values(), clock.now())) },
          detail: `${settings.maxSessions} sessions are open (--http-max-sessions), each with a request in flight or a stream open`,
        });
      }
      evict(idle);
    }
    const id = randomUUID();
    const session = new HttpSession({
      id, identity, caller, inFlight, logger, idleTimeoutMs: settings.idleTimeoutMs, clock, heldLimit,
      onEnding: () => void (sessions.get(id) === session && sessions.delete(id)),
    });
    sessions.set(id, session);
    logger.info({ session: id, sessions: sessions.size }, 'HTTP session started');
    res.setHeader('mcp-session-id', id);
    session.post(body, res, accept);
    session.open(options.openSession);
  }

  function postStateless(body: PostBody, res: ServerResponse, accept: Acceptable, identity: Identity | undefined, caller: string): void {
    const key = caller;
    let session = stateless.get(key);
    if (session === undefined) {
      if (stateless.size >= settings.maxSessions) {
        const idle = leastRecentlyActiveIdle(stateless.values());
        if (idle === undefined) {
          return refuse(res, {
            status: 503, code: 'SIDECAR_ERR_HTTP_TOO_MANY_SESSIONS', id: body.requests[0]?.rawId, headers: { 'retry-after': String(busyRetryAfterSeconds(stateless.values(), clock.now())) },
            detail: `${settings.maxSessions} stateless backends are open (--http-max-sessions), each with a request in flight`,
          });
        }
        evict(idle);
      }
      const created = new HttpSession({
        // It holds no caller's session, so stopping it soon after its last use loses nothing; a
        // `server/discover` probe's backend would otherwise run for the whole idle timeout.
        id: undefined, identity, caller, inFlight, logger, idleTimeoutMs: lingerMs, clock, heldLimit,
        onEnding: () => void (stateless.get(key) === created && stateless.delete(key)),
      });
      session = created;
      stateless.set(key, created);
      logger.info({ backends: stateless.size, lingerMs }, 'HTTP stateless backend started');
      created.open(options.openSession);
    }
    session.post(body, res, accept);
  }

  function get(req: IncomingMessage, res: ServerResponse, caller: string): void {
    const accept = readAccept(headerValue(req.headers, 'accept'));
    if (!accept.sse) return reject(req, res, { status: 406, code: 'SIDECAR_ERR_HTTP_BAD_REQUEST', detail: 'a GET stream is text/event-stream: Accept must admit it' });
    const sessionId = headerValue(req.headers, 'mcp-session-id');
    if (sessionId === undefined) return reject(req, res, { status: 400, code: 'SIDECAR_ERR_HTTP_BAD_REQUEST', detail: 'Mcp-Session-Id header required for a GET stream' });
    const session = sessionFor(sessionId, caller);
    if (session === undefined) return reject(req, res, sessionNotFound(sessionId, caller));
    // No event ids are sent, so there is nothing to resume from: Last-Event-ID opens a fresh stream.
    if (!session.openStream(res)) return reject(req, res, { status: 409, code: 'SIDECAR_ERR_HTTP_BAD_REQUEST', detail: 'a GET stream is already open for this session' });
  }

  async function remove(req: IncomingMessage, res: ServerResponse, caller: string): Promise<void> {
    const sessionId = headerValue(req.headers, 'mcp-session-id');
    if (sessionId === undefined) return reject(req, res, { status: 400, code: 'SIDECAR_ERR_HTTP_BAD_REQUEST', detail: 'Mcp-Session-Id header required to end a session' });
    const session = sessionFor(sessionId, caller);
    if (session === undefined) return reject(req, res, sessionNotFound(sessionId, caller));
    await session.close('the client ended the session (HTTP DELETE)');
    if (!res.headersSent) res.writeHead(204).end();
  }

  // A session answers only the caller that started it: another caller sees no such session.
  function sessionFor(id: string, caller: string): HttpSession | undefined {
    const session = sessions.get(id);
    return session !== undefined && session.caller === caller ? session : undefined;
  }

  function sessionNotFound(id: string, caller: string): HttpRefusal {
    const idleMs = evicted.idleMsOf(id, caller);
    const why = idleMs === undefined ? '' : `: it was evicted for a newer session after ${idleMs} ms idle (every session slot was taken); start a new one with initialize`;
    return { status: 404, code: 'SIDECAR_ERR_HTTP_SESSION_NOT_FOUND', detail: `Mcp-Session-Id ${JSON.stringify(id)}${why}` };
  }

  function inFlightRefusal(caller: string, id: string | undefined): HttpRefusal {
    return {
      status: 429, code: 'SIDECAR_ERR_HTTP_IDENTITY_IN_FLIGHT', id, headers: { 'retry-after': BUSY_RETRY_AFTER_SECONDS },
      detail: `this caller already has ${inFlight.countOf(caller)} requests in flight (--http-max-in-flight-per-identity ${inFlight.limit})`,
    };
  }

  // An idle session gives its slot to a new one: the normal stop sequence, its id remembered.
  // Its slot is free at once (onEnding forgets it); its server stops in the background.
  function evict(session: HttpSession): void {
    const idleMs = clock.now() - session.lastActiveAt;
    evictedCount++;
    if (session.id !== undefined) evicted.remember(session.id, session.caller, idleMs);
    logger.info({ session: session.id, stateless: session.stateless, idleMs }, 'evicted the least recently active idle HTTP session for a new one');
    void session.close(`evicted for a newer session after ${idleMs} ms idle`);
  }

  return {
    address: { host: address.address, port: address.port },
    get sessionCount() {
      return sessions.size;
    },
    get statelessCount() {
      return stateless.size;
    },
    get busySessionCount() {
      let busy = 0;
      for (const session of sessions.values()) if (!session.idle) busy++;
      return busy;
    },
    get evictedCount() {
      return evictedCount;
    },
    close(reason) {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.all([...sessions.values(), ...stateless.values()].map((session) => session.close(reason)));
        server.closeAllConnections();
        await closed;
        logger.info({ reason }, 'HTTP listener closed');
      })();
      return closing;
    },
  };
}

/** The path of an origin-form (`/mcp?x`) or absolute-form (`http://host/mcp`) request target. */
function pathOf(target: string): string {
  if (target.startsWith('/')) {
    const query = target.indexOf('?');
    return query === -1 ? target : target.slice(0, query);
  }
  try {
    return new URL(target).pathname;
  } catch {
    return target;
  }
}

/** The caller of a request without auth, or with a static token: every such caller is one. */
const ANONYMOUS = '';

// Without a principal from the authenticator (only a JWT's gives one), the identity's fields.
function identityKey(identity: Identity | undefined): string {
  return identity === undefined ? ANONYMOUS : JSON.stringify([identity.tenantId ?? null, identity.userId ?? null, identity.agentId ?? null]);
}

function authRefusal(result: Extract<AuthResult, { ok: false }>): HttpRefusal {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if ('wwwAuthenticate' in result) headers['www-authenticate'] = result.wwwAuthenticate;
  if ('retryAfterSeconds' in result) headers['retry-after'] = String(result.retryAfterSeconds);
  const code = result.status === 503 ? 'SIDECAR_ERR_HTTP_AUTH_UNAVAILABLE' : 'SIDECAR_ERR_HTTP_UNAUTHORIZED';
  return { status: result.status, code, detail: result.message, headers };
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(new SidecarError('SIDECAR_ERR_CONFIG_INVALID', `--http ${host.includes(':') ? `[${host}]` : host}:${port}: cannot listen (${error.code ?? error.message})`, { cause: error }));
    };
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}
