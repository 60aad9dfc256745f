// End-to-end tests of the built proxy on the wire: raw NDJSON bytes in, raw lines out, with
// a tiny scripted server (test/fixtures/servers/scripted-server.js) behind it.
// Timeouts here only keep a broken proxy from hanging the suite.
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnProxy, type Frame, type ProxyProcess, type SpawnProxyOptions } from '../helpers/proxy-process.js';
import { fixtureServer } from '../helpers/paths.js';
import { isAlive, waitUntilGone } from '../helpers/proc-table.js';

const SCRIPTED = [process.execPath, fixtureServer('scripted-server.js')];

function startProxy(t: TestContext, options?: SpawnProxyOptions, server: readonly string[] | string = SCRIPTED): ProxyProcess {
  const proxy = spawnProxy(server, options);
  t.after(() => proxy.dispose());
  return proxy;
}

/** Closes the client side and checks a clean stop: exit 0, stdout clean, no frame left unread. */
async function closeAndCheck(proxy: ProxyProcess): Promise<void> {
  proxy.endInput();
  const exit = await proxy.waitForExit();
  assert.deepEqual(exit, { code: 0, signal: null }, `clean exit expected; stderr:\n${proxy.stderr.bytes.toString('utf8')}`);
  assertNoLogsOnStdout(proxy);
  assert.deepEqual(proxy.stdout.unread.map((l) => l.toString('utf8')), [], 'no frame the test did not expect');
}

/** Stdout holds only JSON-RPC lines; what the proxy and the server logged went to stderr. */
function assertNoLogsOnStdout(proxy: ProxyProcess): void {
  proxy.assertStdoutClean();
  const stdout = proxy.stdout.bytes.toString('utf8');
  assert.ok(proxy.logs().some((r) => r.msg === 'started the MCP server'), 'the proxy logs on stderr');
  assert.ok(proxy.logs().some((r) => r.source === 'server' && /^scripted-server \d+ ready$/.test(r.msg ?? '')), "the server's stderr is relayed on stderr");
  assert.ok(proxy.logs().every((r) => r.unparsed === undefined), 'every stderr line is a log record');
  assert.ok(!stdout.includes('scripted-server'), "the server's stderr never reaches stdout");
  assert.ok(!stdout.includes('"mcp-sidecar"'), 'no log record on stdout');
}

function assertProxyError(frame: Frame, id: unknown, rpcCode: number, code: string, category: string, retryable: boolean): void {
  assert.equal(frame.jsonrpc, '2.0');
  assert.deepEqual(frame.id, id);
  assert.equal(frame.result, undefined);
  assert.equal(frame.error?.code, rpcCode, `error code; frame: ${JSON.stringify(frame)}`);
  assert.equal(typeof frame.error?.message, 'string');
  assert.deepEqual(frame.error?.data, { category, code, retryable });
}

describe('raw NDJSON through the proxy', () => {
  test('a malformed line gets a -32700 error (with its id when read before the fault, else null), and the session still answers', async (t) => {
    const proxy = startProxy(t);
    proxy.write('{"jsonrpc":"2.0","id":1,"method":"ping"\n');
    const truncated = await proxy.nextFrame();
    assertProxyError(truncated.json, 1, -32700, 'SIDECAR_ERR_PARSE', 'user_error', false);
    proxy.write('this is not json\n');
    assertProxyError((await proxy.nextFrame()).json, null, -32700, 'SIDECAR_ERR_PARSE', 'user_error', false);
    proxy.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.deepEqual((await proxy.nextFrame()).json, { jsonrpc: '2.0', id: 2, result: {} });
    assert.ok(proxy.logs().filter((r) => r.msg === 'invalid frame from the client answered with an error').length === 2);
    // The malformed lines stopped at the proxy: the server saw one request, and sent nothing else.
    assert.equal(proxy.logs().filter((r) => r.source === 'server' && r.msg?.startsWith('received ')).length, 1);
    await closeAndCheck(proxy);
  });

  test('a request with extra fields, a string id, odd numbers and unicode escapes reaches the server byte-exact', async (t) => {
    const proxy = startProxy(t);
    const requests = [
      '{"id":"req-\\u00e9-1" , "jsonrpc":"2.0","method":"fixture/echo","params":{"n":1.50,"m":1e3,"z":-0.0,"big":123456789012345678901234567890,'
        + '"esc":"\\u00e9\\u6f22\\ud83d\\ude00\\n\\"\\/","raw":"é漢😀","deep":[1.0,2E-3,{"k":[]}]},"x-extra":{"keep":true},"_ext":null}',
      '{ "jsonrpc" : "2.0",\t"id" : 1e3 , "method":"fixture/echo" }',
      '{"jsonrpc":"2.0","id":"a\\"b","method":"fixture/echo","params":{}}',
    ];
    const expectedIds = ['req-é-1', 1000, 'a"b'];
    for (const [i, line] of requests.entries()) {
      proxy.write(`${line}\n`);
      const { json } = await proxy.nextFrame();
      assert.deepEqual(json.id, expectedIds[i]);
      assert.equal(typeof json.result?.raw, 'string', JSON.stringify(json));
      const received = Buffer.from(json.result.raw as string, 'base64');
      assert.ok(received.equals(Buffer.from(line, 'utf8')), `the server received\n  ${received.toString('utf8')}\ninstead of\n  ${line}`);
    }
    await closeAndCheck(proxy);
  });

  test("the server's reply comes back byte-exact", async (t) => {
    const proxy = startProxy(t);
    const replies = [
      '{"result":{"n":1.50,"e":1E+3,"z":-0.0,"u":"\\u00e9\\ud83d\\ude00","raw":"é漢😀","x":[ ]} , "jsonrpc":"2.0","id":"r-1","x-extra":true}',
      '{"jsonrpc":"2.0","id":"r-2","error":{"code":-32000,"message":"m\\u00e9","data":{"unknown":[1.0]},"extraErrorField":1}}',
    ];
    for (const [i, line] of replies.entries()) {
      proxy.send({ jsonrpc: '2.0', id: `r-${i + 1}`, method: 'fixture/reply', params: { line } });
      const { raw } = await proxy.nextFrame();
      assert.ok(raw.equals(Buffer.from(line, 'utf8')), `got\n  ${raw.toString('utf8')}\ninstead of\n  ${line}`);
    }
    // Server-initiated frames (a request, a notification) pass through untouched as well.
    const fromServer = [
      '{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"\\u00e9 é"}}',
      '{"jsonrpc":"2.0","id":"s-1","method":"sampling/createMessage","params":{"maxTokens":1.0e2}}',
    ];
    proxy.send({ jsonrpc: '2.0', id: 'g-1', method: 'fixture/garbage', params: { lines: fromServer } });
    for (const line of fromServer) assert.ok((await proxy.nextFrame()).raw.equals(Buffer.from(line, 'utf8')));
    assert.deepEqual((await proxy.nextFrame()).json, { jsonrpc: '2.0', id: 'g-1', result: { ok: true } });
    await closeAndCheck(proxy);
  });

  test('CRLF-terminated input works', async (t) => {
    const proxy = startProxy(t);
    proxy.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\r\n{"jsonrpc":"2.0","id":2,"method":"fixture/echo"}\r\n');
    assert.deepEqual((await proxy.nextFrame()).json, { jsonrpc: '2.0', id: 1, result: {} });
    const echoed = (await proxy.nextFrame()).json;
    assert.equal(echoed.id, 2);
    const received = Buffer.from(echoed.result.raw as string, 'base64').toString('utf8');
    // The proxy forwards the original bytes: the `\r` (JSON whitespace) goes along.
    assert.equal(received.replace(/\r$/, ''), '{"jsonrpc":"2.0","id":2,"method":"fixture/echo"}');
    assert.deepEqual(JSON.parse(received), { jsonrpc: '2.0', id: 2, method: 'fixture/echo' });
    proxy.write('not json\r\n');
    assertProxyError((await proxy.nextFrame()).json, null, -32700, 'SIDECAR_ERR_PARSE', 'user_error', false);
    proxy.write('{"jsonrpc":"2.0","id":3,"method":"ping"}\r\n');
    assert.deepEqual((await proxy.nextFrame()).json, { jsonrpc: '2.0', id: 3, result: {} });
    await closeAndCheck(proxy);
  });

  test('garbage lines from the server are dropped, never on stdout, and the next frame arrives', async (t) => {
    const proxy = startProxy(t);
    const garbage = ['not json at all', '{"unterminated": ', '[1,2', '"just a string"', '42', '{}', '{"jsonrpc":"2.0","id":5}', '\u0000\u00ff binary-ish', '   '];
    proxy.send({ jsonrpc: '2.0', id: 'g-1', method: 'fixture/garbage', params: { lines: garbage } });
    const first = await proxy.nextFrame();
    assert.deepEqual(first.json, { jsonrpc: '2.0', id: 'g-1', result: { ok: true } });
    proxy.send({ jsonrpc: '2.0', id: 'g-2', method: 'ping' });
    assert.deepEqual((await proxy.nextFrame()).json, { jsonrpc: '2.0', id: 'g-2', result: {} });
    const dropped = proxy.logs().filter((r) => r.msg === 'dropped a line from the server that is not one reading of a JSON-RPC frame');
    assert.equal(dropped.length, garbage.length - 1, 'every garbage line is logged as dropped; the whitespace-only one is skipped like an empty line');
    for (const line of garbage.filter((l) => l.trim() !== '')) {
      assert.ok(!proxy.stdout.lines.some((out) => out.toString('utf8') === line), `garbage on stdout: ${line}`);
    }
    await closeAndCheck(proxy);
  });

  test('a client frame over --max-frame-bytes gets -32001 for its id; the next request still works', async (t) => {
    const proxy = startProxy(t, { args: ['--max-frame-bytes', '64KiB'] });
    const pad = 'x'.repeat(200 * 1024);
    proxy.write(`{"jsonrpc":"2.0","id":"big-1","method":"fixture/echo","params":{"pad":"${pad}"}}\n`);
    const refused = await proxy.nextFrame();
    assertProxyError(refused.json, 'big-1', -32001, 'SIDECAR_ERR_FRAME_TOO_LARGE', 'user_error', false);
    // The id near the end only (as SDKs write responses): still found.
    proxy.write(`{"jsonrpc":"2.0","method":"fixture/echo","params":{"pad":"${pad}"},"id":77}\n`);
    const refusedTail = await proxy.nextFrame();
    assert.equal(refusedTail.json.error?.code, -32001);
    proxy.send({ jsonrpc: '2.0', id: 2, method: 'fixture/echo', params: { small: true } });
    const small = await proxy.nextFrame();
    assert.equal(small.json.id, 2, 'the next small request is answered, and nothing else came first');
    assert.deepEqual(JSON.parse(Buffer.from(small.json.result.raw as string, 'base64').toString('utf8')).params, { small: true });
    const received = proxy.logs().filter((r) => r.source === 'server' && r.msg === 'received fixture/echo');
    assert.equal(received.length, 1, 'the server never saw the oversized frames');
    await closeAndCheck(proxy);
  });

  test('a server response over --max-frame-bytes fails that request with -32002', async (t) => {
    const proxy = startProxy(t, { args: ['--max-frame-bytes', '64KiB'] });
    proxy.send({ jsonrpc: '2.0', id: 7, method: 'fixture/big', params: { bytes: 200 * 1024 } });
    assertProxyError((await proxy.nextFrame()).json, 7, -32002, 'SIDECAR_ERR_UPSTREAM_FRAME_TOO_LARGE', 'internal_error', false);
    // The id written last, as the SDK's servers do.
    proxy.send({ jsonrpc: '2.0', id: 'tail-8', method: 'fixture/big', params: { bytes: 200 * 1024, idLast: true } });
    assertProxyError((await proxy.nextFrame()).json, 'tail-8', -32002, 'SIDECAR_ERR_UPSTREAM_FRAME_TOO_LARGE', 'internal_error', false);
    // Just under the limit passes.
    proxy.send({ jsonrpc: '2.0', id: 9, method: 'fixture/big', params: { bytes: 60 * 1024 } });
    const fits = await proxy.nextFrame();
    assert.equal(fits.json.id, 9);
    assert.equal((fits.json.result.data as string).length, 60 * 1024);
    await closeAndCheck(proxy);
  });

  test('the server killed mid-call: the pending request gets -32003 within a second and, with no restarts allowed, the proxy exits 70', async (t) => {
    const proxy = startProxy(t, { args: ['--max-restarts', '0'] });
    const serverPid = await proxy.serverPid();
    proxy.send({ jsonrpc: '2.0', id: 42, method: 'tools/call', params: { name: 'never-answered' } });
    await proxy.waitForLog((r) => r.source === 'server' && r.msg === 'received tools/call');
    const killedAt = performance.now();
    process.kill(serverPid, 'SIGKILL');
    const { json } = await proxy.nextFrame(5000);
    const elapsedMs = performance.now() - killedAt;
    assertProxyError(json, 42, -32003, 'SIDECAR_ERR_UPSTREAM_EXITED', 'transient_error', true);
    // The product requirement (a pending request does not hang): the error comes within a second.
    assert.ok(elapsedMs < 1000, `the error came ${Math.round(elapsedMs)} ms after the kill`);
    const exit = await proxy.waitForExit();
    assert.deepEqual(exit, { code: 70, signal: null });
    assert.ok(await waitUntilGone(serverPid, 2000), 'the server is gone');
    assertNoLogsOnStdout(proxy);
    assert.deepEqual(proxy.stdout.unread, []);
  });

  test('the server exiting on its own fails every pending request with -32003 and, with no restarts allowed, the proxy exits 70', async (t) => {
    const proxy = startProxy(t, { args: ['--max-restarts', '0'] });
    proxy.send({ jsonrpc: '2.0', id: 'hang', method: 'tools/call', params: {} });
    proxy.send({ jsonrpc: '2.0', id: 'exit', method: 'fixture/exit', params: { code: 3 } });
    const ids = new Set<unknown>();
    for (let i = 0; i < 2; i++) {
      const { json } = await proxy.nextFrame();
      assertProxyError(json, json.id, -32003, 'SIDECAR_ERR_UPSTREAM_EXITED', 'transient_error', true);
      ids.add(json.id);
    }
    assert.deepEqual([...ids].sort(), ['exit', 'hang']);
    assert.deepEqual(await proxy.waitForExit(), { code: 70, signal: null });
    assert.ok(proxy.logs().some((r) => r.level === 50 && /failed 1 time in a row \(last: exit code 3\); giving up after 0 restarts/.test(r.msg ?? '')));
    assertNoLogsOnStdout(proxy);
    assert.deepEqual(proxy.stdout.unread, []);
  });

  test('stdin EOF with a request in flight: the response arrives before the proxy exits 0', async (t) => {
    const proxy = startProxy(t);
    const serverPid = await proxy.serverPid();
    proxy.send({ jsonrpc: '2.0', id: 'slow-1', method: 'fixture/slow', params: { ms: 300 } });
    await proxy.waitForLog((r) => r.source === 'server' && r.msg === 'received fixture/slow');
    proxy.endInput();
    const { json } = await proxy.nextFrame(8000);
    assert.deepEqual(json, { jsonrpc: '2.0', id: 'slow-1', result: { slept: 300 } });
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    const stopped = proxy.logs().find((r) => r.msg === 'proxy stopped');
    assert.equal(stopped?.stop, 'stdin-closed', 'the server left when its stdin closed (after the drain)');
    assert.ok(await waitUntilGone(serverPid, 2000), 'the server is gone');
    assertNoLogsOnStdout(proxy);
    assert.deepEqual(proxy.stdout.unread, []);
  });

  test('a request the client cancelled is no longer awaited: EOF right after stops at once, with no error for it', async (t) => {
    const proxy = startProxy(t);
    proxy.send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'never-answered' } });
    proxy.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5, reason: 'the user gave up' } });
    proxy.send({ jsonrpc: '2.0', id: 6, method: 'ping' });
    assert.deepEqual((await proxy.nextFrame()).json, { jsonrpc: '2.0', id: 6, result: {} });
    // Had the proxy still counted id 5 as pending, it would drain for it, then answer it with -32003.
    await closeAndCheck(proxy);
    assert.equal(proxy.logs().find((r) => r.msg === 'proxy stopped')?.stop, 'stdin-closed');
  });

  test('SIGTERM while draining after EOF skips the waits: the server is stopped and the pending request answered', async (t) => {
    const proxy = startProxy(t, {}, [...SCRIPTED, '--linger']);
    const serverPid = await proxy.serverPid();
    proxy.send({ jsonrpc: '2.0', id: 'stuck', method: 'tools/call', params: {} });
    await proxy.waitForLog((r) => r.source === 'server' && r.msg === 'received tools/call');
    // EOF then SIGTERM, whichever the proxy sees first: the second request to stop hurries the first.
    proxy.endInput();
    const signalledAt = performance.now();
    proxy.child.kill('SIGTERM');
    const { json } = await proxy.nextFrame(10_000);
    assertProxyError(json, 'stuck', -32003, 'SIDECAR_ERR_UPSTREAM_EXITED', 'transient_error', true);
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    // The drain alone would last 5 s: the second stop request did not wait for it.
    assert.ok(performance.now() - signalledAt < 4000, 'the drain was cut short');
    assert.equal(proxy.logs().find((r) => r.msg === 'proxy stopped')?.stop, 'sigterm');
    assert.ok(await waitUntilGone(serverPid, 2000), 'the server is gone');
    assertNoLogsOnStdout(proxy);
  });

  describe('shell operators in --proxy are refused: exit 2, a clear message, nothing spawned', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-e2e-shell-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const base = `${process.execPath} ${fixtureServer('scripted-server.js')} --pid-file`;
    const cases: Array<[string, (pidFile: string) => string]> = [
      [';', (p) => `${base} ${p} ; echo hi`],
      ['|', (p) => `${base} ${p} | cat`],
      ['&&', (p) => `${base} ${p} && echo hi`],
      ['>', (p) => `${base} ${p} > ${p}.out`],
      ['$(', (p) => `${base} $(echo ${p})`],
      ['`', (p) => `${base} \`echo ${p}\``],
    ];
    for (const [operator, build] of cases) {
      test(`'${operator}'`, async (t) => {
        const pidFile = join(dir, `pid-${cases.findIndex(([op]) => op === operator)}`);
        const command = build(pidFile);
        const proxy = startProxy(t, {}, command);
        const exit = await proxy.waitForExit(10_000);
        const stderr = proxy.stderr.bytes.toString('utf8');
        assert.deepEqual(exit, { code: 2, signal: null }, stderr);
        assert.match(stderr, /^mcp-sidecar: The server command uses shell syntax/);
        assert.ok(stderr.includes(`contains the shell operator '${operator}'`), stderr);
        assert.match(stderr, /hint: .*without a shell/);
        assert.equal(proxy.stdout.bytes.length, 0, 'nothing on stdout');
        assert.ok(!proxy.logs().some((r) => r.msg === 'started the MCP server'), 'no server was started');
        assert.ok(!existsSync(pidFile) && !existsSync(`${pidFile}.out`), 'the server command never ran');
        assert.ok(!isAlive(proxy.pid));
      });
    }
  });
});
