// At the session cap a new session evicts an idle one (never a busy one): the caller's own first,
// else the least recently active of the caller holding the most; only when every session is busy
// is it refused (503, Retry-After 1 without deadlines). A caller's share of the
// sessions, its own idle ones evicted first; its share of requests in flight; sessions bound to
// the authenticator's principal. Time runs on a FakeClock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpSettings } from '../../../components/config/index.js';
import type { Authenticator } from '../../../components/http-auth/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { startFakeNorthbound, type FakeNorthbound } from '../../helpers/http-fake-backend.js';
import { INITIALIZE, send, start } from '../../helpers/http-raw.js';
import { waitForValue } from '../../helpers/wait.js';

/** A bearer token `p:<principal>` authenticates as that principal (no identity claims at all). */
const principalAuth: Authenticator = async (headers) => {
  const principal = /^Bearer p:(\S+)$/.exec(headers.authorization ?? '')?.[1];
  if (principal === undefined) return { ok: false, status: 401, wwwAuthenticate: 'Bearer realm="test"', message: 'no token' };
  return { ok: true, identity: undefined, principal };
};

const as = (principal: string): Record<string, string> => ({ authorization: `Bearer p:${principal}` });

async function initializeAs(h: FakeNorthbound, headers: Record<string, string> = {}): Promise<string> {
  const response = await send(h.port, { body: INITIALIZE, headers });
  await response.done;
  assert.equal(response.status, 200, `initialize answered ${response.status}`);
  return String(response.headers['mcp-session-id']);
}

/** Leaves a request in flight in the session: it is busy until the backend answers. */
async function holdRequest(h: FakeNorthbound, sessionId: string, index: number, headers: Record<string, string> = {}) {
  const held = start(h.port, { body: { jsonrpc: '2.0', id: `held-${index}`, method: 'never' }, headers: { 'mcp-session-id': sessionId, ...headers } });
  await waitForValue(() => h.backend.sessions[index]!.received.some((m) => m.id === `held-${index}`), 'the held request to reach the backend');
  return held;
}

async function start4(clock: FakeClock, settings: Partial<HttpSettings> = {}, authenticated = false): Promise<FakeNorthbound> {
  return startFakeNorthbound({ maxSessions: 4, idleTimeoutMs: 300_000, ...settings }, { clock, ...(authenticated ? { authenticate: principalAuth } : {}) });
}

describe('http-northbound eviction at the session cap', () => {
  it('should evict the least recently active idle session for a new one, and tell its client why with 404', async () => {
    const clock = new FakeClock();
    const h = await start4(clock);
    try {
      const ids: string[] = [];
      for (let n = 0; n < 4; n++) {
        ids.push(await initializeAs(h));
        clock.advance(1000);
      }
      // Session 0 is used again: session 1 is now the least recently active.
      const used = await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'echo' }, headers: { 'mcp-session-id': ids[0]! } });
      await used.done;
      clock.advance(1000);

      const newest = await initializeAs(h);
      assert.equal(h.northbound.sessionCount, 4);
      assert.equal(h.northbound.evictedCount, 1);
      await waitForValue(() => h.backend.sessions[1]!.closes.length > 0, 'the evicted session to be stopped');
      assert.deepEqual(h.backend.sessions[1]!.closes, ['evicted for a newer session after 4000 ms idle'], 'the normal stop sequence, with why');
      assert.deepEqual([0, 2, 3].map((n) => h.backend.sessions[n]!.closes), [[], [], []], 'no other session was stopped');
      const logged = h.logs.entries.find((r) => r.msg === 'evicted the least recently active idle HTTP session for a new one');
      assert.deepEqual([logged?.level, logged?.session, logged?.idleMs], [30, ids[1], 4000]);

      const gone = await send(h.port, { body: { jsonrpc: '2.0', id: 2, method: 'echo' }, headers: { 'mcp-session-id': ids[1]! } });
      assert.equal(gone.status, 404);
      const body = await gone.json();
      assert.equal(body.error.data.code, 'SIDECAR_ERR_HTTP_SESSION_NOT_FOUND');
      assert.match(body.error.message, /evicted for a newer session after 4000 ms idle/);
      const stream = await send(h.port, { headers: { 'mcp-session-id': ids[1]!, accept: 'text/event-stream' } });
      assert.equal(stream.status, 404);
      assert.match((await stream.json()).error.message, /evicted for a newer session/);
      // A never-known id is only unknown.
      const unknown = await send(h.port, { body: { jsonrpc: '2.0', id: 3, method: 'echo' }, headers: { 'mcp-session-id': 'no-such-session' } });
      assert.doesNotMatch((await unknown.json()).error.message, /evicted/);
      assert.equal((await send(h.port, { body: { jsonrpc: '2.0', id: 4, method: 'echo' }, headers: { 'mcp-session-id': newest } })).status, 200);
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should never evict a session with a request in flight, a GET stream or a POST stream open', async () => {
    const clock = new FakeClock();
    const h = await start4(clock);
    try {
      const ids: string[] = [];
      for (let n = 0; n < 4; n++) ids.push(await initializeAs(h));
      clock.advance(10_000);
      const held = await holdRequest(h, ids[0]!, 0);
      const stream = await send(h.port, { headers: { 'mcp-session-id': ids[1]!, accept: 'text/event-stream' } });
      // A POST answered as an event stream (progress first) and not finished yet.
      const progress = start(h.port, { body: { jsonrpc: '2.0', id: 'p', method: 'never', params: { _meta: { progressToken: 't' } } }, headers: { 'mcp-session-id': ids[2]! } });
      await waitForValue(() => h.backend.sessions[2]!.received.some((m) => m.id === 'p'), 'the streaming POST');
      h.backend.sessions[2]!.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: 1 } });
      clock.advance(10_000);

      // Session 3 is the only idle one though it was active after none of the others' starts.
      await initializeAs(h);
      await waitForValue(() => h.backend.sessions[3]!.closes.length > 0, 'the idle session to be evicted');
      assert.deepEqual([0, 1, 2].map((n) => h.backend.sessions[n]!.closes), [[], [], []], 'no busy session was evicted');

      // Now every session is busy (the newest holds a request too): refused, Retry-After 1.
      await holdRequest(h, String(h.backend.sessions[4]!.info.sessionId), 4);
      const refused = await send(h.port, { body: INITIALIZE });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['retry-after'], '1');
      const body = await refused.json();
      assert.deepEqual([body.id, body.error.code, body.error.data.code, body.error.data.retryable], [0, -32032, 'SIDECAR_ERR_HTTP_TOO_MANY_SESSIONS', true]);
      assert.match(body.error.message, /--http-max-sessions/);
      assert.equal(h.backend.sessions.length, 5, 'no server was started for it');

      // Once a busy session's answer is sent it is idle, and the next new session takes its slot.
      h.backend.sessions[0]!.send({ jsonrpc: '2.0', id: 'held-0', result: {} });
      await (await held.response).done;
      await initializeAs(h);
      await waitForValue(() => h.backend.sessions[0]!.closes.length > 0, 'the session that became idle to be evicted');
      assert.equal(h.northbound.evictedCount, 2);
      stream.destroy();
      progress.abort();
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should evict the least recently active idle stateless backend for a new caller', async () => {
    const clock = new FakeClock();
    const h = await start4(clock, { maxSessions: 2, statelessLingerMs: 60_000 }, true);
    const stateless = (caller: string, id: number) => send(h.port, { body: { jsonrpc: '2.0', id, method: 'echo' }, headers: { 'mcp-protocol-version': '2026-07-28', ...as(caller) } });
    try {
      for (const caller of ['a', 'b']) {
        assert.equal((await stateless(caller, 1)).status, 200);
        clock.advance(1000);
      }
      assert.equal((await stateless('a', 2)).status, 200, 'a is now the more recently active');
      assert.equal((await stateless('c', 1)).status, 200);
      await waitForValue(() => h.backend.sessions[1]!.closes.length > 0, 'b\'s backend to be evicted');
      assert.match(h.backend.sessions[1]!.closes[0]!, /^evicted for a newer session/);
      assert.deepEqual(h.backend.sessions[0]!.closes, []);
      assert.equal(h.northbound.statelessCount, 2);
    } finally {
      await h.northbound.close('test over');
    }
  });
});

describe('http-northbound fair shares per caller', () => {
  it('should bind sessions to the principal: two callers without identity claims never share one', async () => {
    const clock = new FakeClock();
    const h = await start4(clock, {}, true);
    try {
      const mine = await initializeAs(h, as('alice'));
      for (const method of ['POST', 'GET', 'DELETE'] as const) {
        const headers = { 'mcp-session-id': mine, ...as('bob'), ...(method === 'GET' ? { accept: 'text/event-stream' } : {}) };
        const other = await send(h.port, { method, headers, ...(method === 'POST' ? { body: { jsonrpc: '2.0', id: 1, method: 'echo' } } : {}) });
        assert.equal(other.status, 404, `${method} with another caller's token`);
      }
      const own = await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'echo' }, headers: { 'mcp-session-id': mine, ...as('alice') } });
      assert.equal(own.status, 200);
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should evict a caller\'s own idle session at its share, else refuse 429 naming the share', async () => {
    const clock = new FakeClock();
    const h = await start4(clock, { maxSessionsPerIdentity: 2 }, true);
    try {
      const [a0, a1] = [await initializeAs(h, as('alice')), await initializeAs(h, as('alice'))];
      clock.advance(1000);
      await initializeAs(h, as('bob'));
      clock.advance(1000);
      // Alice at her share: her own least recently active idle session goes, though Bob's is older than her next.
      await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'echo' }, headers: { 'mcp-session-id': a0, ...as('alice') } }).then((r) => r.done);
      clock.advance(1000);
      await initializeAs(h, as('alice'));
      await waitForValue(() => h.backend.sessions[1]!.closes.length > 0, 'alice\'s older idle session to be evicted');
      assert.deepEqual([h.backend.sessions[0]!.closes, h.backend.sessions[2]!.closes], [[], []], 'not bob\'s, not her more recent one');
      assert.equal((await send(h.port, { body: { jsonrpc: '2.0', id: 2, method: 'echo' }, headers: { 'mcp-session-id': a1, ...as('alice') } })).status, 404);

      // Both of hers busy: 429 naming the share, though a slot is free.
      await holdRequest(h, a0, 0, as('alice'));
      await holdRequest(h, String(h.backend.sessions[3]!.info.sessionId), 3, as('alice'));
      assert.equal(h.northbound.sessionCount, 3);
      const refused = await send(h.port, { body: INITIALIZE, headers: as('alice') });
      assert.equal(refused.status, 429);
      assert.equal(refused.headers['retry-after'], '1');
      const body = await refused.json();
      assert.deepEqual([body.error.code, body.error.data.code, body.error.data.retryable], [-32038, 'SIDECAR_ERR_HTTP_IDENTITY_SESSIONS', true]);
      assert.match(body.error.message, /--http-max-sessions-per-identity/);
      // Bob is not held back by Alice's share.
      await initializeAs(h, as('bob'));
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should take a slot at the cap from the caller holding the most sessions, never from one holding fewer', async () => {
    const clock = new FakeClock();
    // Share 3 of a cap of 4: Alice may hold three, so the cap binds before her share does.
    const h = await start4(clock, { maxSessionsPerIdentity: 3 }, true);
    try {
      await initializeAs(h, as('bob')); // session 0: the least recently active of all
      clock.advance(1000);
      for (let i = 0; i < 3; i++) {
        await initializeAs(h, as('alice')); // sessions 1..3
        clock.advance(1000);
      }
      // Carol, new, at the cap: Bob's idle session is the oldest, but Alice holds three to his one.
      await initializeAs(h, as('carol'));
      await waitForValue(() => h.backend.sessions[1]!.closes.length > 0, 'alice\'s least recently active session to be evicted');
      assert.deepEqual(h.backend.sessions[0]!.closes, [], 'bob keeps his only session');
      assert.deepEqual([h.backend.sessions[2]!.closes, h.backend.sessions[3]!.closes], [[], []]);

      // Dave, new: Alice (two) still holds the most; then Bob, Carol and Dave hold one each with
      // Alice's last: plain least recently active among equals.
      await initializeAs(h, as('dave'));
      await waitForValue(() => h.backend.sessions[2]!.closes.length > 0, 'alice\'s next session to be evicted');
      assert.deepEqual(h.backend.sessions[0]!.closes, [], 'bob still keeps his');
      await initializeAs(h, as('erin'));
      await waitForValue(() => h.backend.sessions[0]!.closes.length > 0, 'among equals, the least recently active (bob\'s) goes');
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should give a caller\'s own idle session first when it opens another at the cap', async () => {
    const clock = new FakeClock();
    const h = await start4(clock, { maxSessionsPerIdentity: 4 }, true);
    try {
      for (let i = 0; i < 3; i++) {
        await initializeAs(h, as('alice')); // sessions 0..2, each less recently active than bob's
        clock.advance(1000);
      }
      await initializeAs(h, as('bob')); // session 3
      clock.advance(1000);
      await initializeAs(h, as('bob'));
      await waitForValue(() => h.backend.sessions[3]!.closes.length > 0, 'bob\'s own idle session to give way');
      assert.deepEqual([0, 1, 2].map((i) => h.backend.sessions[i]!.closes), [[], [], []], 'alice loses nothing to bob, though hers are older');
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should not apply the session share to callers not told apart (no auth)', async () => {
    const clock = new FakeClock();
    const h = await start4(clock, { maxSessionsPerIdentity: 1 });
    try {
      for (let n = 0; n < 4; n++) await holdRequest(h, await initializeAs(h), n);
      assert.equal(h.northbound.sessionCount, 4);
      assert.equal(h.northbound.evictedCount, 0);
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should refuse a request past the caller\'s share of requests in flight with 429, and admit it once one is answered', async () => {
    const clock = new FakeClock();
    const h = await start4(clock, { maxInFlightPerIdentity: 2 }, true);
    try {
      const [s0, s1] = [await initializeAs(h, as('alice')), await initializeAs(h, as('alice'))];
      const held = await holdRequest(h, s0, 0, as('alice'));
      await holdRequest(h, s1, 1, as('alice'));
      const refused = await send(h.port, { body: { jsonrpc: '2.0', id: 'x', method: 'echo' }, headers: { 'mcp-session-id': s1, ...as('alice') } });
      assert.equal(refused.status, 429);
      assert.equal(refused.headers['retry-after'], '1');
      const body = await refused.json();
      assert.deepEqual([body.id, body.error.code, body.error.data.code, body.error.data.retryable], ['x', -32039, 'SIDECAR_ERR_HTTP_IDENTITY_IN_FLIGHT', true]);
      assert.match(body.error.message, /--http-max-in-flight-per-identity 2/);
      assert.ok(!h.backend.sessions[1]!.received.some((m) => m.id === 'x'), 'it never reached the server');
      const newSession = await send(h.port, { body: INITIALIZE, headers: as('alice') });
      assert.equal(newSession.status, 429, 'initialize is a request too');
      assert.equal(h.backend.sessions.length, 2, 'no server was started for it');
      // Another caller has its own share.
      const bob = await initializeAs(h, as('bob'));
      assert.equal((await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'echo' }, headers: { 'mcp-session-id': bob, ...as('bob') } })).status, 200);

      h.backend.sessions[0]!.send({ jsonrpc: '2.0', id: 'held-0', result: {} });
      await (await held.response).done;
      const admitted = await send(h.port, { body: { jsonrpc: '2.0', id: 'x', method: 'echo' }, headers: { 'mcp-session-id': s1, ...as('alice') } });
      assert.equal(admitted.status, 200);
      assert.equal((await admitted.json()).id, 'x');
    } finally {
      await h.northbound.close('test over');
    }
  });
});
