/**
 * The Streamable HTTP northbound (`--http`): MCP clients reach the proxy over HTTP at `/mcp`,
 * and every backend behind it is a FrameChannel, so the pump runs unchanged.
 *
 * ## Backends
 * - **Legacy eras (2024-11-05 … 2025-11-25)**: a POST of `initialize` without `Mcp-Session-Id`
 *   opens a session: an id (`crypto.randomUUID()`, returned in `Mcp-Session-Id` on the
 *   initialize response) and a backend of its own (`openSession`: one pump and one governed
 *   server). At most `maxSessions`: one more evicts an idle session (nothing in flight, no
 *   stream open; the caller's own first, else the least recently active of the caller holding
 *   the most; the normal stop sequence; its id later gets 404 saying it was evicted), and only
 *   when every session is busy gets 503 (-32032) with `Retry-After` from the busy sessions'
 *   request deadlines (1 s when none bounds them). A caller told apart by its token (a principal) holds at most
 *   `maxSessionsPerIdentity`: its own idle session is evicted first, else 429 (-32038); its
 *   requests in flight, at most `maxInFlightPerIdentity` (else 429, -32039, each request
 *   answered by the pump's local reply). Sessions answer only their caller: the
 *   authenticator's principal, else the identity's fields (session-slots.ts). A session
 *   whose server refuses `initialize` (an error response) ends at once, without an id.
 * - **Stateless era (2026-07-28)**: a POST without `Mcp-Session-Id` that is not `initialize`,
 *   with `MCP-Protocol-Version` ≥ 2026-07-28 (or, without that header, a 2026-07-28 `_meta`
 *   version or `server/discover`), goes to a shared stateless backend: one per caller identity
 *   (one in all without auth), opened on first use, at most `maxSessions` of them (the least
 *   recently active idle one evicted for a new caller; apart from
 *   the sessions). Callers' ids that clash with ones in flight are renumbered there and
 *   restored in what they get back. Without a session id and a stateless version: 400.
 * - A session ends on DELETE (204 once its server has stopped), or after `idleTimeoutMs` with
 *   no POST in flight and no GET stream open. A stateless backend ends after
 *   `statelessLingerMs` with no POST in flight (undefined: `idleTimeoutMs`; the CLI's default is
 *   5 s): a `server/discover` probe's backend, when the client then opens a legacy session,
 *   stops soon; a request within the linger reuses the backend. Either ends when its server ends
 *   by itself, or at `close()`; it ends through `backend.close(reason)`, the normal stop
 *   sequence, and what the backend left unanswered gets -32003. Later requests with its id: 404.
 *   A session answers only the identity that opened it (another gets 404).
 *
 * ## Checks, in order (each answer has a JSON-RPC error body, `id` when it could be read)
 * Host not allowed → 403 (-32034); Origin present and not allowed → 403; `authenticate` fails →
 * its status (401/403 with `WWW-Authenticate`, 503 with `Retry-After`); path ≠ `/mcp` → 404
 * (-32030); shutting down → 503 (-32004); `MCP-Protocol-Version` unknown → 400 (-32022, with
 * `data.supported`); method not GET/POST/DELETE → 405 with `Allow`. POST: Content-Type not
 * `application/json` → 415; Accept admitting neither JSON nor SSE → 406; body over
 * `maxBodyBytes` → 413 (-32033; nothing more is kept: the rest is read and discarded, up to
 * max(maxBodyBytes, 4 MiB) more or 2 s, then the connection is cut); over `maxFrameBytes` →
 * 413 (-32001); not JSON → 400 (-32700); not JSON-RPC → 400 (-32600); `initialize` in a batch
 * → 400; `Mcp-Method` ≠ the body's method → 400 (-32020; `Mcp-Name` is not compared); unknown
 * session → 404 (-32031); an id already in flight in the session → 400 (its body is the pump's
 * answer: see Local replies). GET: Accept without SSE → 406; no session id
 * → 400; unknown → 404; a second GET stream → 409. DELETE: no session id → 400; unknown → 404.
 * Defaults: on loopback, Host must be `localhost`, `127.0.0.1` or `[::1]` with the bound port,
 * and an Origin the same loopback origin; on another address, Host must be that address (any
 * Host on 0.0.0.0/:: unless `allowedHosts` is given), and no Origin passes unless listed.
 * No CORS headers are sent and OPTIONS is 405: browser pages on other origins are not served.
 * The Authorization header never reaches the server: only frames do; the identity goes to
 * `openSession`.
 *
 * ## Frames and routing
 * A POST body (one message or a batch) becomes one frame: its bytes as sent, line breaks (only
 * whitespace in valid JSON) made spaces, and `\n`. Frames to the client are routed: a response
 * to the POST that carried its request (by id value), a batch of responses to the POST of its
 * first known id; `notifications/progress` to the POST whose request set that
 * `_meta.progressToken`; anything else to the session's GET stream, else to a POST already
 * streaming SSE, else (server requests only, which block the server) to the oldest waiting POST
 * that accepts SSE, else held (256 messages and max(maxFrameBytes, 1 MiB); past that the
 * oldest is dropped with a warning) until a GET stream opens. On a stateless backend there is no GET stream: unroutable messages
 * are dropped with a warning. Nothing is dropped without a log line.
 * A POST with only notifications or responses gets 202 once they are passed on. A POST with
 * requests is answered `application/json` (the response's bytes, or the batch's responses in
 * one array) unless something else must go on it first: then it becomes `text/event-stream`
 * (only if its Accept admits SSE; a JSON-only client never gets SSE) and ends after its last
 * response; a client whose Accept admits only SSE always gets events. SSE events carry no ids:
 * streams are not resumable, and a GET with Last-Event-ID opens a fresh stream.
 * Cancellation: a client `notifications/cancelled` ends the waiting POST of that request (an
 * empty event stream, or 202 for a JSON-only client). A client that closes a POST before its
 * response: in the legacy eras that is not a cancellation (spec), so the late response is
 * dropped and logged; on a stateless backend it is (2026-07-28), so `notifications/cancelled`
 * goes to the server for each request of the POST.
 * Backpressure: the session's channel reports `onCongested` while any of its HTTP responses
 * is over its high-water mark, `onDrained` when none is; `pause()` holds incoming POST bodies
 * in memory (each bounded by `maxBodyBytes`) until `resume()`.
 * Envelopes cross the channel both ways: a POST body is read once (post-body.ts) and handed to
 * the pump with its envelope (a renumbered body with the envelope of its new bytes, built as
 * they are written); a frame from the pump is routed by the envelope the pump passes, and read
 * here only when none came (envelope-reads.ts counts every read, for the tests).
 *
 * ## Local replies
 * An answer to a request that never reaches the pump, once the session's pump runs, is the
 * pump's (`onLocalReply`: encoded, counted, observed once): an id already in flight (the pump's
 * answer comes back through `send` at once and is the 400's body) and requests still queued for
 * the pump (paused) when the session ends (-32003, routed to their POSTs). Refusals before any
 * session exists (400/401/403/404/405/406/413/415/503) and a backend that could not start (502)
 * stay HTTP answers, their bodies from the one encoder (`encodeErrorResponse`); so do requests
 * left after the backend stopped (the pump is gone) and everything when the backend has no
 * `onLocalReply`. Every timer (idle timeout, linger, lingering close) runs on `clock`.
 * The channel never calls `onEnd` or `onWriteError` (an HTTP client's disconnection ends one
 * request, not the session) nor `onOversized` (oversized bodies are answered 413 here).
 */
export { startHttpNorthbound } from './server.js';
export type { HttpNorthbound, HttpNorthboundOptions, HttpSessionInfo, SessionBackend } from './types.js';
// The protocol versions are MCP facts (components/mcp); re-exported for callers of this component.
export { KNOWN_PROTOCOL_VERSIONS } from '../mcp/index.js';
