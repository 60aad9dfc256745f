// End-to-end over Streamable HTTP: the official SDK clients (v1 and v2) drive
// @modelcontextprotocol/server-everything through the northbound, each session with its own
// pump and governed server (test/helpers/http-backend.ts wires them as the runtime does).
// A tap on the client's fetch records what went over HTTP; a tap on the transport, every
// message the client received.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import type { HttpSettings } from '../../components/config/index.js';
import { startHttpNorthbound, type HttpNorthbound } from '../../components/http-northbound/index.js';
import { createRealBackends, type RealBackends } from '../helpers/http-backend.js';
import { INITIALIZE, send, start } from '../helpers/http-raw.js';
import { captureLogs } from '../helpers/log-capture.js';
import { groupPids, isAlive, waitUntilGone } from '../helpers/proc-table.js';
import { waitForValue } from '../helpers/wait.js';

interface HttpExchange {
  readonly method: string;
  /** The JSON-RPC methods in the body (`response` for a response). */
  readonly rpc: string[];
  readonly status: number;
  readonly contentType: string | null;
}

/** What a client kind needs: one connection with taps. */
interface Connection {
  readonly kind: string;
  readonly http: HttpExchange[];
  readonly received: Array<Record<string, any>>;
  readonly sessionId: string | undefined;
  listTools(): Promise<{ tools: Array<{ name: string }> }>;
  callTool(name: string, args: Record<string, unknown>, options?: { onprogress?: (p: unknown) => void; signal?: AbortSignal }): Promise<any>;
  /** The protocol version the client negotiated. */
  readonly protocolVersion: string | undefined;
  terminate(): Promise<void>;
  close(): Promise<void>;
}

const SAMPLED = { model: 'e2e-model', role: 'assistant' as const, stopReason: 'endTurn', content: { type: 'text' as const, text: 'sampled over http' } };

function tappedFetch(log: HttpExchange[], options: { noGetStream?: boolean } = {}): typeof fetch {
  return async (input, init) => {
    const method = init?.method ?? 'GET';
    // A client that cannot hold a GET stream: server requests must come on the POST's stream.
    if (options.noGetStream && method === 'GET') return new Response(null, { status: 405 });
    const response = await fetch(input, init);
    let body: any;
    try {
      body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    } catch {
      body = undefined;
    }
    const rpc = (Array.isArray(body) ? body : body === undefined ? [] : [body]).map((m: any) => m.method ?? 'response');
    log.push({ method, rpc, status: response.status, contentType: response.headers.get('content-type') });
    return response;
  };
}

function tapMessages(transport: { onmessage?: (message: any, extra?: any) => void }, received: Array<Record<string, any>>): void {
  const original = transport.onmessage;
  assert.ok(original, 'the client set onmessage');
  transport.onmessage = (message, extra) => {
    received.push(message);
    original(message, extra);
  };
}

async function connectV1(url: URL, options: { noGetStream?: boolean } = {}): Promise<Connection> {
  const http: HttpExchange[] = [];
  const received: Array<Record<string, any>> = [];
  const client = new ClientV1({ name: 'e2e-v1', version: '1' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => SAMPLED);
  const transport = new TransportV1(url, { fetch: tappedFetch(http, options) });
  await client.connect(transport);
  tapMessages(transport, received);
  return {
    kind: options.noGetStream ? 'v1 without a GET stream' : 'v1', http, received,
    get sessionId() {
      return transport.sessionId;
    },
    get protocolVersion() {
      return transport.protocolVersion;
    },
    listTools: () => client.listTools(),
    callTool: (name, args, callOptions) => client.callTool({ name, arguments: args }, undefined, callOptions),
    terminate: () => transport.terminateSession(),
    close: () => client.close(),
  };
}

async function connectV2(url: URL, mode: 'legacy' | 'auto'): Promise<Connection> {
  const http: HttpExchange[] = [];
  const received: Array<Record<string, any>> = [];
  const client = new ClientV2({ name: 'e2e-v2', version: '2' }, { capabilities: { sampling: {} }, versionNegotiation: { mode } });
  client.setRequestHandler('sampling/createMessage', async () => SAMPLED);
  const transport = new TransportV2(url, { fetch: tappedFetch(http) });
  await client.connect(transport);
  tapMessages(transport, received);
  return {
    kind: `v2 (${mode})`, http, received,
    get sessionId() {
      return transport.sessionId;
    },
    get protocolVersion() {
      return client.getNegotiatedProtocolVersion();
    },
    listTools: () => client.listTools(),
    callTool: (name, args, callOptions) => client.callTool({ name, arguments: args }, callOptions),
    terminate: () => transport.terminateSession(),
    close: () => client.close(),
  };
}

const SETTINGS: HttpSettings = {
  listen: { host: '127.0.0.1', port: 0 }, path: '/mcp', maxSessions: 6, idleTimeoutMs: 60_000, maxBodyBytes: 16 * 1024 * 1024, allowedHosts: [], allowedOrigins: [],
};


describe('Streamable HTTP: SDK clients through the proxy to server-everything', () => {
  let northbound: HttpNorthbound;
  let backends: RealBackends;
  let url: URL;
  const logs = captureLogs('info');

  before(async () => {
    backends = createRealBackends({ logger: logs.logger });
    northbound = await startHttpNorthbound({ settings: SETTINGS, maxFrameBytes: 16 * 1024 * 1024, logger: logs.logger, openSession: backends.openSession });
    url = new URL(`http://127.0.0.1:${northbound.address.port}/mcp`);
  });

  after(async () => {
    await northbound.close('the tests are over');
    for (const record of backends.records) {
      assert.ok(await waitUntilGone(record.pid, 3000), `server-everything ${record.pid} is gone`);
      assert.deepEqual(groupPids(record.pid), [], `nothing is left of its process group ${record.pid}`);
    }
    const errors = logs.entries.filter((e) => (e.level as number) >= 50);
    assert.deepEqual(errors, [], 'no error was logged');
  });

  const kinds: Array<[string, () => Promise<Connection>]> = [
    ['v1', () => connectV1(url)],
    ['v2 (legacy)', () => connectV2(url, 'legacy')],
    ['v2 (auto: server/discover, then the legacy fallback)', () => connectV2(url, 'auto')],
  ];
  for (const [label, connect] of kinds) {
    describe(`client ${label}`, () => {
      let c: Connection;
      before(async () => {
        c = await connect();
      });
      after(() => c.close());

      test('initialize opens a session with its own server-everything', () => {
        assert.match(c.sessionId ?? '', /^[0-9a-f-]{36}$/);
        assert.equal(c.protocolVersion?.startsWith('2025-'), true, `a legacy version was negotiated: ${c.protocolVersion}`);
        const record = backends.records.find((r) => r.info.sessionId === c.sessionId);
        assert.ok(record && isAlive(record.pid), 'its server runs');
        if (label.includes('auto')) {
          const probe = c.http.find((e) => e.rpc.includes('server/discover'));
          assert.ok(probe, 'the client probed with server/discover');
          assert.equal(probe.status, 200, 'answered by the stateless backend (a legacy server: method not found)');
        }
      });

      test('tools/list and echo, answered as application/json', async () => {
        const { tools } = await c.listTools();
        for (const name of ['echo', 'get-sum', 'trigger-long-running-operation', 'trigger-sampling-request']) assert.ok(tools.some((t) => t.name === name), name);
        const result = await c.callTool('echo', { message: 'héllo 漢字 🚀' });
        assert.deepEqual(result.content, [{ type: 'text', text: 'Echo: héllo 漢字 🚀' }]);
        const calls = c.http.filter((e) => e.rpc.includes('tools/list') || e.rpc.includes('tools/call'));
        assert.ok(calls.length >= 2 && calls.every((e) => e.status === 200 && e.contentType === 'application/json'), JSON.stringify(calls));
      });

      test('progress comes over SSE on the request\'s own POST', async () => {
        const mark = c.received.length;
        let callbacks = 0;
        const result = await c.callTool('trigger-long-running-operation', { duration: 0.3, steps: 3 }, { onprogress: () => callbacks++ });
        assert.match(result.content[0].text, /Long running operation completed/);
        const progress = c.received.slice(mark).filter((m) => m.method === 'notifications/progress');
        assert.deepEqual(progress.map((m) => m.params.progress), [1, 2, 3]);
        assert.equal(callbacks, 3);
        const post = c.http.filter((e) => e.rpc.includes('tools/call')).at(-1)!;
        assert.equal(post.contentType, 'text/event-stream');
      });

      test('sampling: the server asks the client, the client answers through the proxy', async () => {
        const result = await c.callTool('trigger-sampling-request', { prompt: 'dîtes 漢', maxTokens: 7 });
        assert.match(result.content[0].text, /^LLM sampling result:/);
        assert.ok(result.content[0].text.includes('sampled over http'), result.content[0].text);
        const answer = c.http.filter((e) => e.method === 'POST' && e.rpc.length === 1 && e.rpc[0] === 'response').at(-1);
        assert.equal(answer?.status, 202, 'the client\'s answer was accepted');
      });

      test('cancellation: an aborted call ends, and the session goes on', async () => {
        const controller = new AbortController();
        const call = c.callTool('trigger-long-running-operation', { duration: 4, steps: 40 }, { onprogress: () => controller.abort('enough'), signal: controller.signal });
        await assert.rejects(call);
        await waitForValue(() => c.http.some((e) => e.rpc.includes('notifications/cancelled') && e.status === 202), 'the cancellation to be POSTed');
        const result = await c.callTool('echo', { message: 'still here' });
        assert.deepEqual(result.content, [{ type: 'text', text: 'Echo: still here' }]);
      });

      test('DELETE ends the session and stops its server', async () => {
        const sessionId = c.sessionId!;
        const record = backends.records.find((r) => r.info.sessionId === sessionId)!;
        await c.terminate();
        assert.equal(record.closeReason, 'the client ended the session (HTTP DELETE)');
        assert.ok(await waitUntilGone(record.pid, 2000), 'server-everything exited');
        const after = await send(northbound.address.port, { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' }, headers: { 'mcp-session-id': sessionId } });
        assert.equal(after.status, 404);
        await after.done;
      });
    });
  }

  describe('client v1 that cannot hold a GET stream', () => {
    let c: Connection;
    before(async () => {
      c = await connectV1(url, { noGetStream: true });
    });
    after(async () => {
      await c.terminate();
      await c.close();
    });

    test('sampling comes on the tool call\'s own POST stream', async () => {
      const result = await c.callTool('trigger-sampling-request', { prompt: 'no GET', maxTokens: 3 });
      assert.ok(result.content[0].text.includes('sampled over http'));
      const post = c.http.filter((e) => e.rpc.includes('tools/call')).at(-1)!;
      assert.equal(post.contentType, 'text/event-stream');
      assert.ok(c.received.some((m) => m.method === 'sampling/createMessage'));
    });
  });

  test('stateless era: a tools/call without a session goes to the shared stateless backend', async () => {
    const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call' };
    const [a, b] = await Promise.all([1, 1].map(() => send(northbound.address.port, { body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'stateless' } } }, headers })));
    for (const response of [a!, b!]) {
      assert.equal(response.status, 200);
      assert.equal(response.headers['mcp-session-id'], undefined);
      assert.deepEqual(await response.json(), { result: { content: [{ type: 'text', text: 'Echo: stateless' }] }, jsonrpc: '2.0', id: 1 });
    }
    assert.ok(backends.records.some((r) => r.info.sessionId === undefined), 'one shared backend');
    assert.equal(backends.records.filter((r) => r.info.sessionId === undefined).length, 1);
  });
});

describe('Streamable HTTP: the session cap and the idle timeout stop real servers', () => {
  test('one slot: a second session evicts the idle first and stops its server (the busy case: eviction.test.ts); an idle one times out', async () => {
    const logs = captureLogs('info');
    const backends = createRealBackends({ logger: logs.logger });
    const northbound = await startHttpNorthbound({
      settings: { ...SETTINGS, maxSessions: 1, idleTimeoutMs: 400 }, maxFrameBytes: 1 << 20, logger: logs.logger, openSession: backends.openSession,
    });
    const port = northbound.address.port;
    try {
      const first = await send(port, { body: INITIALIZE });
      assert.equal(first.status, 200);
      assert.equal((await first.json()).result.serverInfo.name, 'mcp-servers/everything');
      const second = start(port, { body: INITIALIZE });
      await waitForValue(() => backends.records.length === 2, 'the second session\'s server');
      assert.ok(await waitUntilGone(backends.records[0]!.pid, 5000), 'the evicted session\'s server was stopped');
      assert.match(backends.records[0]!.closeReason ?? '', /^evicted for a newer session after \d+ ms idle$/);
      const secondAnswer = await second.response;
      assert.equal(secondAnswer.status, 200);
      await secondAnswer.done;
      const { pid } = backends.records[1]!;
      assert.ok(await waitUntilGone(pid, 5000), 'the idle session\'s server was stopped');
      assert.match(backends.records[1]!.closeReason ?? '', /^idle for 400 ms$/);
      const third = await send(port, { body: INITIALIZE });
      assert.equal(third.status, 200);
      await third.done;
    } finally {
      await northbound.close('test over');
    }
    for (const record of backends.records) assert.ok(await waitUntilGone(record.pid, 3000), `${record.pid} is gone`);
  });
});
