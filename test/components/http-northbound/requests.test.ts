// What the northbound refuses before a frame reaches a session: each with its HTTP status and
// a JSON-RPC error body.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { AuthResult } from '../../../components/http-auth/index.js';
import { startFakeNorthbound, type FakeNorthbound } from '../../helpers/http-fake-backend.js';
import { INITIALIZE, send, type RawResponse } from '../../helpers/http-raw.js';

async function assertRefused(response: RawResponse, status: number, rpcCode: number, message?: RegExp, id: unknown = null): Promise<any> {
  assert.equal(response.status, status, `HTTP ${status}`);
  assert.equal(response.headers['content-type'], 'application/json');
  const body = await response.json();
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.id, id);
  assert.equal(body.error.code, rpcCode, body.error.message);
  if (message) assert.match(body.error.message, message);
  return body;
}

describe('http-northbound request checks', () => {
  let h: FakeNorthbound;
  let sessionId: string;
  before(async () => {
    h = await startFakeNorthbound({ maxBodyBytes: 64 * 1024 }, { maxFrameBytes: 32 * 1024 });
    sessionId = await h.initialize();
  });
  after(() => h.northbound.close('test over'));

  it('should answer 404 off the MCP path, 405 with Allow for another method', async () => {
    await assertRefused(await send(h.port, { path: '/other', body: INITIALIZE }), 404, -32030, /the MCP endpoint is \/mcp/);
    const put = await send(h.port, { method: 'PUT', body: INITIALIZE });
    await assertRefused(put, 405, -32030, /method PUT/);
    assert.equal(put.headers.allow, 'GET, POST, DELETE');
  });

  it('should answer 415 for a body that is not application/json, and accept a charset', async () => {
    await assertRefused(await send(h.port, { body: INITIALIZE, headers: { 'content-type': 'text/plain' } }), 415, -32030, /Content-Type "text\/plain"/);
    await assertRefused(await send(h.port, { body: INITIALIZE, headers: { 'content-type': undefined } }), 415, -32030);
    const ok = await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'echo' }, headers: { 'mcp-session-id': sessionId, 'content-type': 'Application/JSON; charset=utf-8' } });
    assert.equal(ok.status, 200);
    await ok.done;
  });

  it('should answer 406 when Accept admits neither JSON nor SSE, and GET without SSE', async () => {
    await assertRefused(await send(h.port, { body: INITIALIZE, headers: { accept: 'text/html' } }), 406, -32030);
    await assertRefused(await send(h.port, { headers: { 'mcp-session-id': sessionId, accept: 'application/json' } }), 406, -32030);
  });

  it('should answer 400 -32700 for a body that is not JSON, and -32600 for JSON that is not JSON-RPC', async () => {
    const headers = { 'mcp-session-id': sessionId };
    await assertRefused(await send(h.port, { body: '{"jsonrpc":"2.0","id":1,', headers }), 400, -32700, /Parse error/, 1);
    await assertRefused(await send(h.port, { body: '{"jsonrpc":"2.0","method":"x","id":', headers }), 400, -32700, /Parse error/);
    await assertRefused(await send(h.port, { body: '', headers }), 400, -32700, /empty/);
    await assertRefused(await send(h.port, { body: '{\n"id": 1,\n"method": [1,,2]\n}', headers }), 400, -32700);
    await assertRefused(await send(h.port, { body: '42', headers }), 400, -32600, /Invalid Request/);
    await assertRefused(await send(h.port, { body: '{"jsonrpc":"2.0","id":"q","method":7}', headers }), 400, -32600, undefined, 'q');
    await assertRefused(await send(h.port, { body: '[]', headers }), 400, -32600);
  });

  it('should answer 404 for an unknown session, 400 for a missing one, with the request\'s id', async () => {
    await assertRefused(await send(h.port, { body: { jsonrpc: '2.0', id: 3, method: 'echo' }, headers: { 'mcp-session-id': 'nope' } }), 404, -32031, /Session not found/, 3);
    await assertRefused(await send(h.port, { headers: { 'mcp-session-id': 'nope', accept: 'text/event-stream' } }), 404, -32031);
    await assertRefused(await send(h.port, { method: 'DELETE', headers: { 'mcp-session-id': 'nope' } }), 404, -32031);
    await assertRefused(await send(h.port, { body: { jsonrpc: '2.0', id: 4, method: 'echo' } }), 400, -32030, /Mcp-Session-Id header required/, 4);
    await assertRefused(await send(h.port, { headers: { accept: 'text/event-stream' } }), 400, -32030, /Mcp-Session-Id/);
    await assertRefused(await send(h.port, { method: 'DELETE' }), 400, -32030);
  });

  it('should answer 400 -32022 for an unknown MCP-Protocol-Version, listing the known ones', async () => {
    const body = await assertRefused(await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'echo' }, headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': '1999-01-01' } }), 400, -32022);
    assert.ok(body.error.data.supported.includes('2025-06-18') && body.error.data.supported.includes('2026-07-28'));
    assert.equal(body.error.data.requested, '1999-01-01');
    const known = await send(h.port, { body: { jsonrpc: '2.0', id: 2, method: 'echo' }, headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-03-26' } });
    assert.equal(known.status, 200);
    await known.done;
  });

  it('should refuse initialize in a batch or on an existing session, and an Mcp-Method that differs from the body', async () => {
    await assertRefused(await send(h.port, { body: [INITIALIZE] }), 400, -32030, /alone/, 0);
    await assertRefused(await send(h.port, { body: INITIALIZE, headers: { 'mcp-session-id': sessionId } }), 400, -32030, /already initialized/, 0);
    await assertRefused(await send(h.port, { body: { jsonrpc: '2.0', id: 9, method: 'tools/call' }, headers: { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' } }), 400, -32020, /Header mismatch/, 9);
  });

  it('should answer 413 for a body over the limit, declared or chunked', async () => {
    const big = Buffer.alloc(200 * 1024, 0x20);
    const declared = await send(h.port, { body: big, headers: { 'mcp-session-id': sessionId } });
    await assertRefused(declared, 413, -32033, /more than 65536 bytes/);
    const chunked = await send(h.port, { body: big, chunked: true, headers: { 'mcp-session-id': sessionId } });
    await assertRefused(chunked, 413, -32033);
    // Between the frame limit and the body limit: the frame limit's own error, for its id.
    const frame = `{"jsonrpc":"2.0","id":"big","method":"echo","params":{"s":"${'x'.repeat(40 * 1024)}"}}`;
    await assertRefused(await send(h.port, { body: frame, headers: { 'mcp-session-id': sessionId } }), 413, -32001, /Frame too large/, 'big');
    const fits = `{"jsonrpc":"2.0","id":"fits","method":"echo","params":{"s":"${'x'.repeat(32 * 1024 - 64)}"}}`;
    const ok = await send(h.port, { body: fits, headers: { 'mcp-session-id': sessionId } });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).result.echo.s.length, 32 * 1024 - 64);
  });

  it('should stop reading a body at the limit: a huge upload is cut short', async () => {
    // A raw socket keeps sending a chunked body: the 413 comes early, and past a bound of
    // discarded bytes the proxy cuts the connection.
    const socket = connect(h.port, '127.0.0.1');
    socket.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nMcp-Session-Id: ${sessionId}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    let answer = '';
    socket.on('data', (data) => (answer += data.toString()));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    const pump = setInterval(() => {
      if (socket.destroyed) return clearInterval(pump);
      socket.write(`${chunk.length.toString(16)}\r\n`);
      socket.write(chunk);
      socket.write('\r\n');
      sent += chunk.length;
    }, 1);
    await closed;
    clearInterval(pump);
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.ok(sent < 64 * 1024 * 1024, `${sent} bytes sent before the close`);
  });
});

describe('http-northbound Host and Origin (DNS-rebinding protection)', () => {
  let h: FakeNorthbound;
  before(async () => {
    h = await startFakeNorthbound();
  });
  after(() => h.northbound.close('test over'));

  it('should accept the loopback names with the bound port and refuse any other Host with 403', async () => {
    for (const host of [`127.0.0.1:${h.port}`, `localhost:${h.port}`, `[::1]:${h.port}`, `LOCALHOST:${h.port}`]) {
      const response = await send(h.port, { body: INITIALIZE, headers: { host } });
      assert.equal(response.status, 200, host);
      await send(h.port, { method: 'DELETE', headers: { 'mcp-session-id': String(response.headers['mcp-session-id']) } });
    }
    for (const host of ['evil.example', `evil.example:${h.port}`, `localhost:${h.port + 1}`, 'localhost']) {
      await assertRefused(await send(h.port, { body: INITIALIZE, headers: { host } }), 403, -32034, /Host/);
    }
    assert.equal(h.backend.sessions.length, 4, 'no session was opened for a refused Host');
  });

  it('should refuse a cross-origin request with 403 and accept the same loopback origin', async () => {
    await assertRefused(await send(h.port, { body: INITIALIZE, headers: { origin: 'http://evil.example' } }), 403, -32034, /Origin/);
    await assertRefused(await send(h.port, { body: INITIALIZE, headers: { origin: 'null' } }), 403, -32034);
    await assertRefused(await send(h.port, { body: INITIALIZE, headers: { origin: `http://localhost:${h.port + 1}` } }), 403, -32034);
    const same = await send(h.port, { body: INITIALIZE, headers: { origin: `http://localhost:${h.port}` } });
    assert.equal(same.status, 200);
    await send(h.port, { method: 'DELETE', headers: { 'mcp-session-id': String(same.headers['mcp-session-id']) } });
  });

  it('should take the allowed hosts and origins from the settings', async () => {
    const custom = await startFakeNorthbound({ allowedHosts: ['mcp.internal', 'proxy:8080'], allowedOrigins: ['https://app.example'] });
    try {
      const ok = await send(custom.port, { body: INITIALIZE, headers: { host: `mcp.internal:${custom.port}`, origin: 'https://app.example' } });
      assert.equal(ok.status, 200);
      await ok.done;
      assert.equal((await send(custom.port, { body: INITIALIZE, headers: { host: 'proxy:8080' } })).status, 200);
      await assertRefused(await send(custom.port, { body: INITIALIZE, headers: { host: 'proxy:8081' } }), 403, -32034);
      await assertRefused(await send(custom.port, { body: INITIALIZE }), 403, -32034, /127\.0\.0\.1/);
      await assertRefused(await send(custom.port, { body: INITIALIZE, headers: { host: 'mcp.internal', origin: `http://localhost:${custom.port}` } }), 403, -32034, /Origin/);
    } finally {
      await custom.northbound.close('test over');
    }
  });
});

describe('http-northbound authentication', () => {
  const alice = { tenantId: 't1', userId: 'alice' };
  const authenticate = async (headers: Record<string, unknown>): Promise<AuthResult> => {
    if (headers.authorization === 'Bearer alice') return { ok: true, identity: alice };
    if (headers.authorization === 'Bearer bob') return { ok: true, identity: { tenantId: 't1', userId: 'bob' } };
    if (headers.authorization === 'Bearer jwks-down') return { ok: false, status: 503, retryAfterSeconds: 7, message: 'authentication unavailable: the JWKS cannot be fetched' } as AuthResult;
    return { ok: false, status: 401, wwwAuthenticate: 'Bearer realm="mcp-sidecar"', message: 'authentication required: send Authorization: Bearer <token>' };
  };
  let h: FakeNorthbound;
  before(async () => {
    h = await startFakeNorthbound({}, { authenticate });
  });
  after(() => h.northbound.close('test over'));

  it('should answer 401 with WWW-Authenticate before anything else, and 503 with Retry-After when it cannot check', async () => {
    const refused = await send(h.port, { body: INITIALIZE });
    await assertRefused(refused, 401, -32035, /authentication required/);
    assert.equal(refused.headers['www-authenticate'], 'Bearer realm="mcp-sidecar"');
    assert.equal((await send(h.port, { path: '/elsewhere', body: INITIALIZE })).status, 401, 'auth comes before the path');
    const unavailable = await send(h.port, { body: INITIALIZE, headers: { authorization: 'Bearer jwks-down' } });
    await assertRefused(unavailable, 503, -32036);
    assert.equal(unavailable.headers['retry-after'], '7');
    assert.equal(h.backend.sessions.length, 0);
  });

  it('should give the identity to the session, and keep the session to that identity', async () => {
    const response = await send(h.port, { body: INITIALIZE, headers: { authorization: 'Bearer alice' } });
    assert.equal(response.status, 200);
    await response.done;
    const sessionId = String(response.headers['mcp-session-id']);
    const session = h.backend.sessions.at(-1)!;
    assert.deepEqual(session.info, { sessionId, identity: alice });
    assert.ok(session.lines.every((line) => !line.toString().includes('Bearer')), 'no credentials in any frame');
    const asBob = await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'echo' }, headers: { authorization: 'Bearer bob', 'mcp-session-id': sessionId } });
    await assertRefused(asBob, 404, -32031, undefined, 1);
    const asAlice = await send(h.port, { body: { jsonrpc: '2.0', id: 2, method: 'echo' }, headers: { authorization: 'Bearer alice', 'mcp-session-id': sessionId } });
    assert.equal(asAlice.status, 200);
    await asAlice.done;
  });

  it('should open one stateless backend per identity', async () => {
    const modern = { 'mcp-protocol-version': '2026-07-28' };
    for (const who of ['alice', 'bob', 'alice']) {
      const response = await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'echo' }, headers: { ...modern, authorization: `Bearer ${who}` } });
      assert.equal(response.status, 200);
      await response.done;
    }
    const stateless = h.backend.sessions.filter((s) => s.info.sessionId === undefined);
    assert.deepEqual(stateless.map((s) => s.info.identity?.userId), ['alice', 'bob']);
    assert.equal(h.northbound.statelessCount, 2);
  });
});
