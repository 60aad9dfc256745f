// How frames travel between HTTP requests and a session's channel: JSON or SSE answers,
// progress, server requests, held messages, batches, cancellation, the stateless backend.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeNorthbound, type FakeNorthbound } from '../../helpers/http-fake-backend.js';
import { INITIALIZE, messagesOf, send, start } from '../../helpers/http-raw.js';
import { waitForValue } from '../../helpers/wait.js';


describe('http-northbound routing', () => {
  let h: FakeNorthbound;
  let sessionId: string;
  const post = (body: string | object, headers: Record<string, string | undefined> = {}) => send(h.port, { body, headers: { 'mcp-session-id': sessionId, ...headers } });
  const session = () => h.backend.sessions.find((s) => s.info.sessionId === sessionId)!;

  before(async () => {
    h = await startFakeNorthbound();
    sessionId = await h.initialize();
  });
  after(() => h.northbound.close('test over'));

  it('should answer initialize with JSON, a session id, and the server\'s bytes as written', async () => {
    const response = await send(h.port, { body: { ...INITIALIZE, id: 'init-2' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.match(String(response.headers['mcp-session-id']), /^[0-9a-f-]{36}$/);
    const body = await response.done;
    assert.equal(body, '{"jsonrpc":"2.0","id":"init-2","result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"fake","version":"1"}}}');
    const other = h.backend.sessions.find((s) => s.info.sessionId === response.headers['mcp-session-id'])!;
    assert.deepEqual(other.info, { sessionId: response.headers['mcp-session-id'], identity: undefined });
    await send(h.port, { method: 'DELETE', headers: { 'mcp-session-id': String(response.headers['mcp-session-id']) } });
  });

  it('should pass a request\'s body to the server byte for byte, as one line', async () => {
    const raw = '{"id":7,  "jsonrpc":"2.0","method":"echo","params":{"n":1.50,"s":"\\u00e9"}}';
    const response = await post(raw);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { jsonrpc: '2.0', id: 7, result: { echo: { n: 1.5, s: 'é' } } });
    assert.equal(session().lines.at(-1)!.toString(), `${raw}\n`);
  });

  it('should make a pretty-printed body one line, its bytes otherwise unchanged', async () => {
    const response = await post('{\r\n  "jsonrpc": "2.0",\n  "id": 8,\n  "method": "echo"\n}\n');
    assert.deepEqual(await response.json(), { jsonrpc: '2.0', id: 8, result: { echo: null } });
    assert.equal(session().lines.at(-1)!.toString(), '{    "jsonrpc": "2.0",   "id": 8,   "method": "echo" } \n');
  });

  it('should answer a POST of notifications or responses with 202 and pass them on', async () => {
    const response = await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    assert.equal(response.status, 202);
    assert.equal(await response.done, '');
    await waitForValue(() => session().received.some((m) => m.method === 'notifications/initialized'), 'the notification');
  });

  it('should stream progress for the request that asked for it over SSE, then its response', async () => {
    const response = await post({ jsonrpc: '2.0', id: 'p1', method: 'progress', params: { steps: 3, _meta: { progressToken: 'tok-1' } } });
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'text/event-stream');
    const messages = await messagesOf(response);
    assert.deepEqual(messages.map((m) => m.method ?? `response ${m.id}`), ['notifications/progress', 'notifications/progress', 'notifications/progress', 'response p1']);
    assert.deepEqual(messages.slice(0, 3).map((m) => [m.params.progressToken, m.params.progress]), [['tok-1', 1], ['tok-1', 2], ['tok-1', 3]]);
    assert.ok(response.events.every((e) => e.event === 'message' && e.id === undefined), 'message events without ids');
  });

  it('should never use SSE for a client that accepts only JSON: its progress waits for a GET stream', async () => {
    const response = await post({ jsonrpc: '2.0', id: 'p2', method: 'progress', params: { steps: 2, _meta: { progressToken: 7 } } }, { accept: 'application/json' });
    assert.equal(response.headers['content-type'], 'application/json');
    assert.deepEqual(await response.json(), { jsonrpc: '2.0', id: 'p2', result: { done: true } });
    const stream = await send(h.port, { headers: { 'mcp-session-id': sessionId, accept: 'text/event-stream' } });
    assert.equal(stream.status, 200);
    const held = [JSON.parse((await stream.nextEvent()).data), JSON.parse((await stream.nextEvent()).data)];
    assert.deepEqual(held.map((m) => [m.method, m.params.progressToken, m.params.progress]), [['notifications/progress', 7, 1], ['notifications/progress', 7, 2]]);
    stream.destroy();
  });

  it('should answer a client that accepts only SSE with events', async () => {
    const response = await post({ jsonrpc: '2.0', id: 'e1', method: 'echo' }, { accept: 'text/event-stream' });
    assert.equal(response.headers['content-type'], 'text/event-stream');
    assert.deepEqual(await messagesOf(response), [{ jsonrpc: '2.0', id: 'e1', result: { echo: null } }]);
  });

  it('should send a server request on the waiting POST\'s stream when no GET stream is open, and take the answer', async () => {
    const response = await post({ jsonrpc: '2.0', id: 's1', method: 'sample' });
    assert.equal(response.headers['content-type'], 'text/event-stream');
    const request = JSON.parse((await response.nextEvent()).data);
    assert.equal(request.method, 'sampling/createMessage');
    const answer = await post({ jsonrpc: '2.0', id: request.id, result: { model: 'm', role: 'assistant', content: { type: 'text', text: 'hi' } } });
    assert.equal(answer.status, 202);
    const final = JSON.parse((await response.nextEvent()).data);
    assert.deepEqual(final, { jsonrpc: '2.0', id: 's1', result: { sampled: { model: 'm', role: 'assistant', content: { type: 'text', text: 'hi' } } } });
    await response.done;
  });

  it('should send server requests and notifications on the GET stream while one is open, and answer the POST with JSON', async () => {
    const stream = await send(h.port, { headers: { 'mcp-session-id': sessionId, accept: 'text/event-stream' } });
    assert.equal(stream.headers['content-type'], 'text/event-stream');
    const notified = await post({ jsonrpc: '2.0', id: 'n1', method: 'notify' });
    assert.equal(notified.headers['content-type'], 'application/json');
    assert.deepEqual(await notified.json(), { jsonrpc: '2.0', id: 'n1', result: { notified: true } });
    assert.equal(JSON.parse((await stream.nextEvent()).data).method, 'notifications/message');

    // The POST's headers come with its response, after the client answered on the GET stream.
    const sampling = post({ jsonrpc: '2.0', id: 's2', method: 'sample' });
    const request = JSON.parse((await stream.nextEvent()).data);
    assert.equal(request.method, 'sampling/createMessage');
    await post({ jsonrpc: '2.0', id: request.id, result: { ok: 1 } });
    const sampled = await sampling;
    assert.equal(sampled.headers['content-type'], 'application/json');
    assert.deepEqual(await sampled.json(), { jsonrpc: '2.0', id: 's2', result: { sampled: { ok: 1 } } });

    const second = await send(h.port, { headers: { 'mcp-session-id': sessionId, accept: 'text/event-stream' } });
    assert.equal(second.status, 409, 'one GET stream per session');
    stream.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the server sees the stream close
  });

  it('should hold a notification no stream can carry until a GET stream opens', async () => {
    session().send({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'x://1' } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const stream = await send(h.port, { headers: { 'mcp-session-id': sessionId, accept: 'text/event-stream' } });
    assert.deepEqual(JSON.parse((await stream.nextEvent()).data).params, { uri: 'x://1' });
    stream.destroy();
  });

  it('should answer a batch of requests with one JSON array, and a batch of notifications with 202', async () => {
    const response = await post([{ jsonrpc: '2.0', id: 'b1', method: 'echo', params: { a: 1 } }, { jsonrpc: '2.0', method: 'notifications/x' }, { jsonrpc: '2.0', id: 'b2', method: 'echo' }]);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.deepEqual(await response.json(), [{ jsonrpc: '2.0', id: 'b1', result: { echo: { a: 1 } } }, { jsonrpc: '2.0', id: 'b2', result: { echo: null } }]);
    const notes = await post([{ jsonrpc: '2.0', method: 'notifications/a' }, { jsonrpc: '2.0', method: 'notifications/b' }]);
    assert.equal(notes.status, 202);
  });

  it('should join a batch answered member by member into one array', async () => {
    const answered = post([{ jsonrpc: '2.0', id: 'm1', method: 'never' }, { jsonrpc: '2.0', id: 'm2', method: 'never' }]);
    await waitForValue(() => session().received.some((m) => m.id === 'm2'), 'the batch');
    session().send({ jsonrpc: '2.0', id: 'm2', result: 2 });
    session().send({ jsonrpc: '2.0', id: 'm1', result: 1 });
    const response = await answered;
    assert.equal(response.headers['content-type'], 'application/json');
    assert.deepEqual(await response.json(), [{ jsonrpc: '2.0', id: 'm2', result: 2 }, { jsonrpc: '2.0', id: 'm1', result: 1 }]);
  });

  it('should end the waiting POST of a request the client cancels', async () => {
    const sseAnswer = post({ jsonrpc: '2.0', id: 'c1', method: 'never' });
    const jsonAnswer = post({ jsonrpc: '2.0', id: 'c2', method: 'never' }, { accept: 'application/json' });
    await waitForValue(() => session().received.some((m) => m.id === 'c1') && session().received.some((m) => m.id === 'c2'), 'the requests');
    const cancel = await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c1', reason: 'user' } });
    assert.equal(cancel.status, 202);
    const sse = await sseAnswer;
    assert.equal(await sse.done, '');
    assert.equal(sse.headers['content-type'], 'text/event-stream');
    await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c2' } });
    const json = await jsonAnswer;
    assert.equal(await json.done, '');
    assert.equal(json.status, 202);
    assert.ok(session().received.some((m) => m.method === 'notifications/cancelled' && m.params.requestId === 'c1'), 'the server was told');
  });

  it('should drop (and log) the response of a POST whose client went away, and go on', async () => {
    const request = start(h.port, { body: { jsonrpc: '2.0', id: 'gone-1', method: 'never' }, headers: { 'mcp-session-id': sessionId } });
    await waitForValue(() => session().received.some((m) => m.id === 'gone-1'), 'the request');
    request.abort();
    await waitForValue(() => h.logs.entries.some((e) => String(e.msg).includes('closed a POST before its response')), 'the log of the disconnection');
    session().send({ jsonrpc: '2.0', id: 'gone-1', result: {} });
    await waitForValue(() => h.logs.entries.some((e) => e.msg === 'dropped a late response: its HTTP client had cancelled the request or closed the POST'), 'the log of the drop');
    assert.ok(!session().received.some((m) => m.method === 'notifications/cancelled' && m.params.requestId === 'gone-1'), 'legacy era: not a cancellation');
    const next = await post({ jsonrpc: '2.0', id: 'after', method: 'echo' });
    assert.equal((await next.json()).id, 'after');
  });

  it('should refuse an id already in flight in the session, also by an alias of its value (7 and 7.0)', async () => {
    const first = start(h.port, { body: { jsonrpc: '2.0', id: 'dup', method: 'never' }, headers: { 'mcp-session-id': sessionId } });
    await waitForValue(() => session().received.some((m) => m.id === 'dup'), 'the first request');
    const second = await post({ jsonrpc: '2.0', id: 'dup', method: 'echo' });
    assert.equal(second.status, 400);
    const refused = await second.json();
    assert.equal(refused.error.code, -32600);
    assert.equal(refused.error.data.code, 'SIDECAR_ERR_ID_IN_FLIGHT');
    const numbered = start(h.port, { body: { jsonrpc: '2.0', id: 7, method: 'never' }, headers: { 'mcp-session-id': sessionId } });
    await waitForValue(() => session().received.some((m) => m.id === 7), 'the request with id 7');
    const alias = await post('{"jsonrpc":"2.0","id":7.0,"method":"echo"}');
    assert.equal(alias.status, 400);
    assert.equal((await alias.json()).error.data.code, 'SIDECAR_ERR_ID_IN_FLIGHT');
    first.abort();
    numbered.abort();
  });
});

describe('http-northbound stateless backend (2026-07-28)', () => {
  let h: FakeNorthbound;
  const MODERN = { 'mcp-protocol-version': '2026-07-28' };
  before(async () => {
    h = await startFakeNorthbound();
  });
  after(() => h.northbound.close('test over'));

  it('should send requests without a session to one shared backend opened on first use', async () => {
    const first = await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'echo', params: { a: 1 } }, headers: MODERN });
    assert.equal(first.status, 200);
    assert.equal(first.headers['mcp-session-id'], undefined);
    assert.deepEqual(await first.json(), { jsonrpc: '2.0', id: 1, result: { echo: { a: 1 } } });
    const discover = await send(h.port, { body: { jsonrpc: '2.0', id: 2, method: 'server/discover', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } } });
    assert.equal((await discover.json()).error.code, -32601, 'the fake server does not know server/discover (as a legacy server)');
    assert.equal(h.backend.sessions.length, 1);
    assert.deepEqual(h.backend.sessions[0]!.info, { sessionId: undefined, identity: undefined });
    assert.equal(h.northbound.statelessCount, 1);
    assert.equal(h.northbound.sessionCount, 0);
  });

  it('should renumber clashing ids of callers sharing the backend, and restore them', async () => {
    const [a, b, c] = await Promise.all([
      send(h.port, { body: { jsonrpc: '2.0', id: 5, method: 'slow', params: { ms: 150 } }, headers: MODERN }),
      send(h.port, { body: { jsonrpc: '2.0', id: 5, method: 'progress', params: { steps: 2, _meta: { progressToken: 'same' } } }, headers: MODERN }),
      send(h.port, { body: { jsonrpc: '2.0', id: 6, method: 'progress', params: { steps: 2, _meta: { progressToken: 'same' } } }, headers: MODERN }),
    ]);
    assert.deepEqual(await a.json(), { jsonrpc: '2.0', id: 5, result: { slow: true } });
    const fromB = await messagesOf(b);
    const fromC = await messagesOf(c);
    assert.deepEqual(fromB.at(-1), { jsonrpc: '2.0', id: 5, result: { done: true } });
    assert.deepEqual(fromC.at(-1), { jsonrpc: '2.0', id: 6, result: { done: true } });
    assert.deepEqual(fromB.slice(0, -1).map((m) => m.params.progressToken), ['same', 'same']);
    assert.deepEqual(fromC.slice(0, -1).map((m) => m.params.progressToken), ['same', 'same']);
    const ids = h.backend.sessions[0]!.received.filter((m) => m.method === 'slow' || m.method === 'progress').map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, `the server saw distinct ids: ${JSON.stringify(ids)}`);
  });

  it('should tell the server a request is cancelled when its client closes the stream', async () => {
    const request = start(h.port, { body: { jsonrpc: '2.0', id: 'x', method: 'never' }, headers: MODERN });
    const backend = h.backend.sessions[0]!;
    await waitForValue(() => backend.received.some((m) => m.id === 'x'), 'the request');
    request.abort();
    const cancel = await waitForValue(() => backend.received.find((m) => m.method === 'notifications/cancelled'), 'the cancellation');
    assert.equal(cancel.params.requestId, 'x');
  });

  it('should refuse a request without a session in a legacy era', async () => {
    const response = await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' }, headers: { 'mcp-protocol-version': '2025-06-18' } });
    assert.equal(response.status, 400);
    const body = await response.json();
    assert.equal(body.error.code, -32030);
    assert.match(body.error.message, /Mcp-Session-Id header required/);
    const unversioned = await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } });
    assert.equal(unversioned.status, 400, 'no version header: 2025-03-26 is assumed');
  });
});
