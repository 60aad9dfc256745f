// End-to-end: the official SDK client drives @modelcontextprotocol/server-everything through
// the built proxy, and the same steps run on a direct connection for comparison. Frames are
// also checked on the wire (a tap on the client's stdout pipe), where the SDK's callbacks
// can miss things. Timeouts here only keep a broken proxy from hanging the suite.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMessageRequestSchema, type CreateMessageResult, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { connectEverything, disposeConnection, type Connection } from '../helpers/mcp-client.js';
import { groupPids, killZeroError, waitUntilGone } from '../helpers/proc-table.js';
import type { Frame, LogRecord } from '../helpers/proxy-process.js';
import { waitForValue } from '../helpers/wait.js';

type Message = JSONRPCMessage & { id?: unknown; method?: string; params?: any };

/** The client's messages sent since `mark`. */
function sentSince(c: Connection, mark: number): Message[] {
  return c.transport.sent.slice(mark) as Message[];
}

/** The id of the one tools/call for `tool` the client sent since `mark`. */
function toolCallId(c: Connection, mark: number, tool: string): number {
  const calls = sentSince(c, mark).filter((m) => m.method === 'tools/call' && m.params?.name === tool);
  assert.equal(calls.length, 1, `one ${tool} call sent over the ${c.label} connection`);
  assert.equal(typeof calls[0]!.id, 'number');
  return calls[0]!.id as number;
}

function progressOnWire(c: Connection, token: unknown): Frame[] {
  return c.received().filter((f) => f.method === 'notifications/progress' && f.params?.progressToken === token);
}


/** Both connections, side by side: [proxy, direct]. */
async function both<T>(connections: readonly [Connection, Connection], run: (c: Connection) => Promise<T>): Promise<[T, T]> {
  const [a, b] = await Promise.all(connections.map(run));
  return [a!, b!];
}

/**
 * The proxy finished its own stop sequence (and logged it) and exited 0: the client's close
 * did not have to SIGKILL it, which would have left the server to fend for itself.
 */
async function assertStoppedByItself(c: Connection): Promise<LogRecord> {
  const child = c.transport.child!;
  await waitForValue(() => (child.exitCode !== null || child.signalCode !== null ? true : undefined), 'the proxy to exit', 5000);
  const stopped = await waitForValue(() => c.logs().find((r) => r.msg === 'proxy stopped'), "the proxy's 'proxy stopped' record", 2000);
  assert.deepEqual({ exitCode: child.exitCode, signal: child.signalCode }, { exitCode: 0, signal: null });
  assert.equal(stopped.exitCode, 0);
  return stopped;
}

function answerSampling(c: Connection): void {
  c.client.setRequestHandler(CreateMessageRequestSchema, async (request): Promise<CreateMessageResult> => {
    const first = request.params.messages[0]?.content;
    const text = first && 'text' in first ? String(first.text) : '';
    return { model: 'e2e-model', role: 'assistant', stopReason: 'endTurn', content: { type: 'text', text: `sampled: ${text}` } };
  });
}

describe('server-everything through the proxy, compared with a direct connection', () => {
  let proxied: Connection;
  let direct: Connection;
  let pair: [Connection, Connection];

  before(async () => {
    [proxied, direct] = await Promise.all([
      connectEverything({ viaProxy: true, capabilities: { sampling: {} } }),
      connectEverything({ viaProxy: false, capabilities: { sampling: {} } }),
    ]);
    pair = [proxied, direct];
    for (const c of pair) answerSampling(c);
  });
  after(async () => {
    await Promise.all([disposeConnection(proxied), disposeConnection(direct)]);
  });

  test('initialize: the same server info and capabilities', () => {
    assert.deepEqual(proxied.client.getServerVersion(), direct.client.getServerVersion());
    assert.equal(proxied.client.getServerVersion()?.name, 'mcp-servers/everything');
    assert.deepEqual(proxied.client.getServerCapabilities(), direct.client.getServerCapabilities());
    assert.equal(proxied.client.getInstructions(), direct.client.getInstructions());
    assert.notEqual(proxied.pid, proxied.serverPid, 'the proxy started server-everything as its child');
  });

  test('tools/list is identical', async () => {
    const [viaProxy, viaDirect] = await both(pair, (c) => c.client.listTools());
    assert.deepEqual(viaProxy, viaDirect);
    const names = viaProxy.tools.map((tool) => tool.name);
    for (const name of ['echo', 'get-sum', 'trigger-long-running-operation', 'trigger-sampling-request']) {
      assert.ok(names.includes(name), `${name} is listed`);
    }
  });

  test('echo', async () => {
    const [viaProxy, viaDirect] = await both(pair, (c) => c.client.callTool({ name: 'echo', arguments: { message: 'héllo 漢字 🚀' } }));
    assert.deepEqual(viaProxy, viaDirect);
    assert.deepEqual(viaProxy.content, [{ type: 'text', text: 'Echo: héllo 漢字 🚀' }]);
  });

  test('get-sum', async () => {
    const [viaProxy, viaDirect] = await both(pair, (c) => c.client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3.5 } }));
    assert.deepEqual(viaProxy, viaDirect);
    assert.deepEqual(viaProxy.content, [{ type: 'text', text: 'The sum of 2 and 3.5 is 5.5.' }]);
  });

  test('trigger-long-running-operation: the same progress notifications on the wire', async () => {
    const steps = 5;
    const [viaProxy, viaDirect] = await both(pair, async (c) => {
      const mark = c.transport.sent.length;
      let callbacks = 0;
      const result = await c.client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 0.5, steps } },
        undefined,
        { onprogress: () => callbacks++ },
      );
      const id = toolCallId(c, mark, 'trigger-long-running-operation');
      const token = sentSince(c, mark).find((m) => m.id === id)?.params?._meta?.progressToken;
      assert.notEqual(token, undefined, 'the SDK asked for progress');
      const progress = progressOnWire(c, token).map((f) => ({ progress: f.params.progress, total: f.params.total }));
      // The SDK's callback may miss the last notification (it can share a read with the response).
      assert.ok(callbacks <= progress.length && callbacks >= steps - 1, `${callbacks} callbacks for ${progress.length} notifications`);
      return { result, progress };
    });
    assert.deepEqual(viaProxy.result, viaDirect.result);
    assert.deepEqual(viaProxy.progress, Array.from({ length: steps }, (_, i) => ({ progress: i + 1, total: steps })));
    assert.deepEqual(viaProxy.progress, viaDirect.progress);
  });

  test('trigger-sampling-request: the server asks the client, the client answers through the proxy', async () => {
    const [viaProxy, viaDirect] = await both(pair, async (c) => {
      const mark = c.transport.sent.length;
      const before = c.received().length;
      const result = await c.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'dîtes 漢', maxTokens: 7 } });
      const request = c.received().slice(before).find((f) => f.method === 'sampling/createMessage');
      assert.ok(request, `the server's sampling/createMessage reached the client (${c.label})`);
      assert.equal(request.params.maxTokens, 7);
      const answer = sentSince(c, mark).find((m) => m.id === request.id && 'result' in m) as { result?: CreateMessageResult } | undefined;
      assert.equal(answer?.result?.model, 'e2e-model', 'the client answered the server');
      return result;
    });
    assert.deepEqual(viaProxy, viaDirect);
    const text = (viaProxy.content as Array<{ text: string }>)[0]!.text;
    assert.match(text, /^LLM sampling result:/);
    assert.ok(text.includes('"model": "e2e-model"') && text.includes('sampled: Resource trigger-sampling-request context: dîtes 漢'), text);
  });

  test('resources/list and resources/read', async () => {
    const [listed, listedDirect] = await both(pair, (c) => c.client.listResources());
    assert.deepEqual(listed, listedDirect);
    const uri = listed.resources.find((r) => r.uri.startsWith('demo://resource/static/document/'))?.uri;
    assert.ok(uri, 'a static document resource is listed');
    const [viaProxy, viaDirect] = await both(pair, (c) => c.client.readResource({ uri }));
    assert.deepEqual(viaProxy, viaDirect);
    const document = viaProxy.contents[0];
    assert.equal(document?.uri, uri);
    assert.ok(document && 'text' in document && document.text.length > 0, 'the document has text');
    // A templated resource carries a timestamp: compare its shape only.
    const dynamic = (await proxied.client.readResource({ uri: 'demo://resource/dynamic/text/1' })).contents[0];
    assert.ok(dynamic && 'text' in dynamic);
    assert.match(dynamic.text, /^Resource 1: This is a plaintext resource/);
  });

  test('prompts/get simple-prompt', async () => {
    const [viaProxy, viaDirect] = await both(pair, (c) => c.client.getPrompt({ name: 'simple-prompt' }));
    assert.deepEqual(viaProxy, viaDirect);
    assert.deepEqual(viaProxy.messages, [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt without arguments.' } }]);
  });

  test('ping', async () => {
    const [viaProxy, viaDirect] = await both(pair, (c) => c.client.ping());
    assert.deepEqual(viaProxy, {});
    assert.deepEqual(viaDirect, {});
  });

  test('an unknown tool gives an error, not a hang', async () => {
    // Settled either way: a rejection or an isError result; the per-request timeout only guards against a hang.
    const [viaProxy, viaDirect] = await both(pair, (c) =>
      c.client.callTool({ name: 'no-such-tool', arguments: {} }, undefined, { timeout: 10_000 }).then(
        (result) => ({ result }),
        (error: Error) => ({ error: error.message }),
      ));
    assert.deepEqual(viaProxy, viaDirect);
    const settled = viaProxy as { result?: { isError?: boolean; content?: Array<{ text: string }> }; error?: string };
    const text = settled.error ?? settled.result?.content?.[0]?.text ?? '';
    assert.ok(settled.error !== undefined || settled.result?.isError === true, JSON.stringify(settled));
    assert.match(text, /no-such-tool/);
  });

  test('a 2 MiB argument with multi-byte characters round-trips byte-exact through echo', async () => {
    const unit = 'é漢😀ab';
    const message = unit.repeat(Math.ceil((2 * 1024 * 1024) / Buffer.byteLength(unit)));
    assert.ok(Buffer.byteLength(message) >= 2 * 1024 * 1024);
    const messageBytes = Buffer.from(message, 'utf8');
    const [viaProxy, viaDirect] = await both(pair, async (c) => {
      const mark = c.transport.sent.length;
      const result = await c.client.callTool({ name: 'echo', arguments: { message } });
      const id = toolCallId(c, mark, 'echo');
      const text = (result.content as Array<{ text: string }>)[0]?.text;
      assert.ok(text === `Echo: ${message}`, `the ${c.label} echo differs (${text?.length} chars instead of ${message.length + 6})`);
      const raw = c.receivedRaw().find((line) => line.length > messageBytes.length && JSON.parse(line.toString('utf8')).id === id);
      assert.ok(raw, 'the response is on the wire');
      assert.ok(raw.includes(messageBytes), 'the UTF-8 bytes of the message are in the response line as sent');
      // The response's id differs between the two connections; everything else must be the same bytes.
      const tail = /"id":\d+\}$/;
      assert.match(raw.toString('latin1', raw.length - 32), tail);
      return Buffer.from(raw.toString('latin1').replace(tail, '"id":0}'), 'latin1');
    });
    assert.ok(viaProxy.equals(viaDirect), 'the proxy delivered the same bytes as the direct connection');
  });

  test('cancellation via AbortSignal reaches the server, and the session still answers ping', async () => {
    const steps = 4;
    const outcomes = await both(pair, async (c) => {
      const mark = c.transport.sent.length;
      const controller = new AbortController();
      const call = c.client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 1.2, steps } },
        undefined,
        { signal: controller.signal, onprogress: () => controller.abort('the e2e test cancels') },
      );
      await assert.rejects(call, /cancels/);
      const id = toolCallId(c, mark, 'trigger-long-running-operation');
      const cancelled = sentSince(c, mark).find((m) => m.method === 'notifications/cancelled');
      assert.equal(cancelled?.params?.requestId, id, 'the client sent notifications/cancelled for the call');
      // The tool ignores the signal and reports every step; its response is written right after
      // the last one, unless the server's SDK saw the cancellation and suppresses it.
      await waitForValue(() => progressOnWire(c, id).find((f) => f.params.progress === steps), 'the last progress notification', 10_000);
      // Anything the server wrote before answering this ping is on the wire once the answer is in.
      assert.deepEqual(await c.client.ping(), {});
      const answers = c.received().filter((f) => f.id === id && f.method === undefined);
      return { answers, progress: progressOnWire(c, id).length };
    });
    for (const outcome of outcomes) {
      assert.deepEqual(outcome.answers, [], 'no response to the cancelled call: the server got notifications/cancelled');
      assert.equal(outcome.progress, steps);
    }
  });

  test('every line the client got through the proxy is a JSON-RPC frame; the proxy logged on stderr', () => {
    const lines = proxied.receivedRaw();
    assert.ok(lines.length > 10);
    for (const line of lines) {
      const frame = JSON.parse(line.toString('utf8')) as Frame;
      assert.equal(frame.jsonrpc, '2.0');
      assert.ok(!('level' in frame) && !('msg' in frame), `a log record on stdout: ${line.toString('utf8').slice(0, 200)}`);
    }
    const logs = proxied.logs();
    assert.ok(logs.length > 0 && logs.every((r) => r.unparsed === undefined), 'stderr holds pino records only');
    assert.ok(logs.some((r) => r.source === 'server' && /Starting default \(STDIO\) server/.test(r.msg ?? '')), "the server's stderr is relayed");
    assert.ok(!logs.some((r) => (r.level ?? 0) >= 40 && r.source !== 'server'), `no warning from the proxy: ${JSON.stringify(logs.filter((r) => (r.level ?? 0) >= 40))}`);
  });

  test('closing the client ends the proxy and the server: no process left', async () => {
    const { pid, serverPid } = proxied;
    await proxied.client.close();
    for (const [what, p] of [['proxy', pid], ['server', serverPid]] as const) {
      await waitUntilGone(p, 5000);
      assert.equal(killZeroError(p)?.code, 'ESRCH', `the ${what} (pid ${p}) is gone`);
    }
    assert.deepEqual(groupPids(serverPid), [], "nothing is left in the server's process group");
    await assertStoppedByItself(proxied);
  });
});

describe('closing the client while a request is in flight', () => {
  let proxied: Connection | undefined;
  after(() => disposeConnection(proxied));

  test('the proxy and the server still end: no process left', async () => {
    proxied = await connectEverything({ viaProxy: true });
    const c = proxied;
    const mark = c.transport.sent.length;
    const call = c.client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 60, steps: 60 } },
      undefined,
      { onprogress: () => {} },
    ).catch((error: Error) => error);
    const id = await waitForValue(() => sentSince(c, mark).find((m) => m.method === 'tools/call')?.id, 'the call to go out', 10_000);
    await waitForValue(() => progressOnWire(c, id)[0], 'the first progress notification: the call is running', 10_000);
    await c.client.close();
    assert.ok((await call) instanceof Error, 'the pending call is rejected');
    for (const [what, p] of [['proxy', c.pid], ['server', c.serverPid]] as const) {
      await waitUntilGone(p, 5000);
      assert.equal(killZeroError(p)?.code, 'ESRCH', `the ${what} (pid ${p}) is gone`);
    }
    assert.deepEqual(groupPids(c.serverPid), [], "nothing is left in the server's process group");
    const stopped = await assertStoppedByItself(c);
    assert.equal(stopped.reason, 'the client closed its input');
  });
});
