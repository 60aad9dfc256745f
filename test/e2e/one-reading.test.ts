// One reading (issue 12), end to end through the built proxy (dist/cli.js): every case of the
// corpus (test/fixtures/one-reading/corpus.json) client → proxy over stdio, server → proxy over
// stdio, and client → proxy over --http, one proxy process for each, the cases one after the
// other through it. The server (test/fixtures/servers/one-reading-server.js) records every line
// it receives, so "never forwarded" is checked on what arrived, and a ping after each case
// shows the session goes on. Known proxy bugs run as todo (test/fuzz/known-bugs.ts).
// Timeouts only keep a broken proxy from hanging the suite.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { frameBytes, idText, loadCorpus, type CorpusCase } from '../fuzz/corpus.js';
import { knownBug } from '../fuzz/known-bugs.js';
import { INITIALIZE, messagesOf, send, start } from '../helpers/http-raw.js';
import { ALLOW_REPO_SCRIPTS, CLI, ROOT, commandLine, fixtureServer } from '../helpers/paths.js';
import { ProxyProcess, spawnProxy, type Frame } from '../helpers/proxy-process.js';
import { waitForValue } from '../helpers/wait.js';

const cases = loadCorpus();
const DROPPED = 'dropped a line from the server that is not one reading of a JSON-RPC frame';
const dir = mkdtempSync(join(tmpdir(), 'one-reading-e2e-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function serverArgv(record: string): string[] {
  return [process.execPath, fixtureServer('one-reading-server.js'), '--record', record];
}

/** What the server received, line by line, since the last call. */
/** The warm pool's own readiness ping to a waiting server (never a client's frame). */
const WARM_PING = /^\{"jsonrpc":"2\.0","id":"mcp-sidecar-warm-\d+","method":"ping"\}$/;

// What the fixture servers received, read from their shared record file. Over --http a warm
// server's readiness ping (sent by the pool before any session has it, possibly mid-test when a
// replacement starts) is the proxy's own frame, not a client's: it is left out.
class ServerRecord {
  #seen = 0;
  constructor(readonly file: string) {}
  take(): Buffer[] {
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return [];
    }
    const lines = text.split('\n').filter(Boolean).map((b64) => Buffer.from(b64, 'base64'));
    const fresh = lines.slice(this.#seen);
    this.#seen = lines.length;
    return fresh.filter((line) => !WARM_PING.test(line.toString('utf8')));
  }
}

/** Reads the proxy's stdout until the answer to `pingId`; returns the lines before it. */
async function linesUntilPing(proxy: ProxyProcess, pingId: string): Promise<Buffer[]> {
  const before: Buffer[] = [];
  for (;;) {
    const { raw, json } = await proxy.nextFrame();
    if (!Array.isArray(json) && json.id === pingId) {
      assert.deepEqual(json, { jsonrpc: '2.0', id: pingId, result: {} });
      return before;
    }
    before.push(raw);
  }
}

function assertRefusal(reply: Frame, c: CorpusCase, id: unknown, expected: { code: string; rpcCode: number; reason: string } = { code: c.code!, rpcCode: c.rpcCode!, reason: c.reason! }): void {
  assert.equal(reply.jsonrpc, '2.0');
  assert.equal(idText(reply.id), idText(id), `the error's id; reply ${JSON.stringify(reply)}`);
  assert.equal(reply.error?.code, expected.rpcCode, JSON.stringify(reply));
  assert.equal(reply.error?.data?.code, expected.code, JSON.stringify(reply));
  assert.ok(String(reply.error?.message).includes(expected.reason), `message ${JSON.stringify(reply.error?.message)} names ${JSON.stringify(expected.reason)}`);
}

function assertClientReply(raw: Buffer, c: CorpusCase): void {
  const reply = JSON.parse(raw.toString('utf8')) as Frame | Frame[];
  if (c.batchIds !== undefined) {
    assert.ok(Array.isArray(reply), `an array of errors: ${raw.toString('utf8')}`);
    assert.deepEqual(reply.map((r) => idText(r.id)), c.batchIds.map(idText), 'an error per request id');
    for (const [k, r] of reply.entries()) assertRefusal(r, c, c.batchIds[k]);
  } else {
    assert.ok(!Array.isArray(reply), raw.toString('utf8'));
    assertRefusal(reply, c, c.replyId);
  }
}

const heldId = (c: CorpusCase): string => JSON.stringify(JSON.parse(c.inFlight!).id);

describe('one reading end to end: client → proxy over stdio', () => {
  const record = new ServerRecord(join(dir, 'client-stdio.record'));
  let proxy: ProxyProcess;
  let n = 0;
  before(() => {
    proxy = spawnProxy(serverArgv(record.file));
  });
  after(async () => {
    proxy.endInput();
    const exit = await proxy.waitForExit();
    await proxy.dispose();
    assert.deepEqual(exit, { code: 0, signal: null }, proxy.stderr.bytes.toString('utf8'));
    proxy.assertStdoutClean();
  });

  for (const c of cases.filter((k) => k.directions.includes('client'))) {
    test(c.name, knownBug(c.name, 'stdio:client'), async () => {
      const pingId = `ping-${++n}`;
      const bytes = Buffer.concat([frameBytes(c), Buffer.from('\n')]);
      if (c.inFlight !== undefined) proxy.write(`${c.inFlight}\n`);
      proxy.write(bytes);
      if (c.inFlight !== undefined) proxy.write(`{"jsonrpc":"2.0","id":"release-${n}","method":"fixture/release"}\n`);
      proxy.write(`{"jsonrpc":"2.0","id":"${pingId}","method":"ping"}\n`);
      const lines = await linesUntilPing(proxy, pingId);
      const received = record.take();
      assert.equal(proxy.exit, undefined, 'the proxy runs');
      if (c.expect === 'forward') {
        assert.ok(received.some((r) => r.equals(bytes.subarray(0, -1))), `the server received the frame byte for byte: ${received.map(String).join(' | ')}`);
        assert.equal(lines.length, 1, 'the server\'s answer');
        return;
      }
      assert.ok(!received.some((r) => r.equals(bytes.subarray(0, -1))), 'the frame never reached the server');
      const expectedAtServer = [...(c.inFlight === undefined ? [] : [c.inFlight, `{"jsonrpc":"2.0","id":"release-${n}","method":"fixture/release"}`]), `{"jsonrpc":"2.0","id":"${pingId}","method":"ping"}`];
      assert.deepEqual(received.map(String), expectedAtServer, 'the server received nothing else');
      assert.ok(lines.length >= 1, 'the client got an error');
      assertClientReply(lines[0]!, c);
      if (c.inFlight !== undefined) {
        assert.deepEqual(lines.slice(1).map((l) => JSON.parse(l.toString('utf8'))), [
          { jsonrpc: '2.0', id: JSON.parse(heldId(c)), result: { released: true } },
          { jsonrpc: '2.0', id: `release-${n}`, result: { released: 1 } },
        ], 'the request in flight is still answered');
      } else {
        assert.equal(lines.length, 1, `nothing else: ${lines.map(String).join(' | ')}`);
      }
    });
  }
});

describe('one reading end to end: server → proxy over stdio', () => {
  const record = new ServerRecord(join(dir, 'server-stdio.record'));
  let proxy: ProxyProcess;
  let n = 0;
  before(() => {
    proxy = spawnProxy(serverArgv(record.file));
  });
  after(async () => {
    proxy.endInput();
    const exit = await proxy.waitForExit();
    await proxy.dispose();
    assert.deepEqual(exit, { code: 0, signal: null }, proxy.stderr.bytes.toString('utf8'));
    proxy.assertStdoutClean();
    // Counted as logged: the session's counters, in its last record.
    const stopped = proxy.logs().find((r) => r.msg === 'proxy stopped');
    assert.equal(stopped?.invalidFromServer, proxy.logs().filter((r) => r.msg === DROPPED).length, 'every dropped line counted (invalidFromServer)');
  });

  for (const c of cases.filter((k) => k.directions.includes('server'))) {
    test(c.name, knownBug(c.name, 'stdio:server'), async () => {
      const pingId = `ping-${++n}`;
      const bytes = frameBytes(c);
      const requestId = c.server?.tiedId ?? 101;
      const droppedBefore = proxy.logs().filter((r) => r.msg === DROPPED).length;
      proxy.send({ jsonrpc: '2.0', id: requestId, method: 'fixture/emit', params: { lines: [bytes.toString('base64')] } });
      proxy.send({ jsonrpc: '2.0', id: pingId, method: 'ping' });
      const lines = await linesUntilPing(proxy, pingId);
      const followUp = JSON.stringify({ jsonrpc: '2.0', id: requestId, result: { followed: true } });
      assert.equal(lines.at(-1)?.toString('utf8'), followUp, 'the server\'s next frame arrives');
      const before = lines.slice(0, -1);
      if (c.expect === 'forward') {
        assert.deepEqual(before.map(String), [bytes.toString('utf8')], 'forwarded byte for byte');
        return;
      }
      assert.ok(!proxy.stdout.lines.some((l) => l.equals(bytes)), 'never on the proxy\'s stdout');
      if (c.server!.tiedId !== null) {
        assert.equal(before.length, 1, `the request it answers fails at once: ${before.map(String).join(' | ')}`);
        const reply = JSON.parse(before[0]!.toString('utf8')) as Frame;
        assert.deepEqual([idText(reply.id), reply.error?.code, reply.error?.data?.code], [idText(c.server!.tiedId), -32006, 'SIDECAR_ERR_UPSTREAM_INVALID_FRAME'], JSON.stringify(reply));
        assert.ok(String(reply.error?.message).includes(c.reason!), reply.error?.message);
      } else {
        assert.deepEqual(before.map(String), [], 'nothing else reaches the client');
      }
      const dropped = await waitForValue(() => {
        const records = proxy.logs().filter((r) => r.msg === DROPPED);
        return records.length > droppedBefore && records;
      }, 'the dropped line logged');
      assert.equal(dropped.length, droppedBefore + 1, 'logged once');
      assert.equal(dropped.at(-1)!.problem, c.problem, `the log names why: ${JSON.stringify(dropped.at(-1))}`);
      // The proxy's answer to the server may be recorded after the ping's round trip: wait for it,
      // so it cannot show up in the next case instead.
      const received: Frame[] = [];
      const errors = (): Frame[] => {
        received.push(...record.take().map((r) => JSON.parse(r.toString('utf8')) as Frame));
        return received.filter((r) => r.error !== undefined);
      };
      if (c.server!.toServer !== undefined) {
        const answered = await waitForValue(() => errors().length > 0 && errors(), 'the server hears its request was refused');
        assert.deepEqual(answered.map((r) => [r.id, r.error?.data?.code]), [[c.server!.toServer.id, c.server!.toServer.code]], 'the server hears its request was refused');
      } else {
        assert.deepEqual(errors(), [], 'the server hears nothing else');
      }
    });
  }
});

describe('one reading end to end: client → proxy over --http', () => {
  const record = new ServerRecord(join(dir, 'http.record'));
  let proxy: ProxyProcess;
  let port = 0;
  let session = '';
  let n = 0;
  const headers = (): Record<string, string> => ({ 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' });

  before(async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_')));
    const child = spawn(process.execPath, [CLI, '--http', '127.0.0.1:0', '--proxy', commandLine(serverArgv(record.file)), '--allow', ALLOW_REPO_SCRIPTS, '--log-level', 'info'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    proxy = new ProxyProcess(child);
    const serving = await proxy.waitForLog((r) => r.msg === 'serving MCP over Streamable HTTP', 10_000);
    port = (serving.address as { port: number }).port;
    const initialized = await send(port, { body: INITIALIZE });
    assert.equal(initialized.status, 200, await initialized.done);
    session = String(initialized.headers['mcp-session-id']);
    await initialized.done;
    const notified = await send(port, { body: { jsonrpc: '2.0', method: 'notifications/initialized' }, headers: headers() });
    assert.equal(notified.status, 202);
    await notified.done;
    // A 202 says the proxy took it, not that the server has it yet: the first case must not see it arrive.
    await waitForValue(() => record.take().some((r) => r.toString('utf8').includes('"notifications/initialized"')), 'the server has the initialized notification');
  });
  after(async () => {
    const pids = proxy.logs().filter((r) => r.msg === 'started the MCP server').map((r) => r.pid as number);
    proxy.child.kill('SIGTERM');
    const exit = await proxy.waitForExit(10_000);
    await proxy.dispose();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    assert.deepEqual(exit, { code: 0, signal: null }, proxy.stderr.bytes.toString('utf8'));
  });

  const ping = async (): Promise<void> => {
    const id = `http-ping-${n}`;
    const response = await send(port, { body: { jsonrpc: '2.0', id, method: 'ping' }, headers: headers() });
    assert.equal(response.status, 200, await response.done);
    assert.deepEqual(await messagesOf(response), [{ jsonrpc: '2.0', id, result: {} }]);
  };

  for (const c of cases.filter((k) => k.directions.includes('client'))) {
    test(c.name, knownBug(c.name, 'http'), async () => {
      n++;
      record.take();
      const bytes = frameBytes(c);
      const held = c.inFlight === undefined ? undefined : start(port, { body: c.inFlight, headers: headers() });
      if (held !== undefined) await waitForValue(() => record.take().length > 0, 'the held request at the server');
      const response = await send(port, { body: bytes, headers: headers() });
      const body = await response.done;
      if (held !== undefined) {
        const release = await send(port, { body: { jsonrpc: '2.0', id: `release-${n}`, method: 'fixture/release' }, headers: headers() });
        assert.equal(release.status, 200, await release.done);
        const heldResponse = await held.response;
        assert.deepEqual(await messagesOf(heldResponse), [{ jsonrpc: '2.0', id: JSON.parse(heldId(c)), result: { released: true } }], 'the request in flight is still answered');
      }
      const received = record.take();
      const http = c.http;
      if (c.expect === 'forward' || (http !== undefined && 'expect' in http)) {
        assert.ok(response.status === 200 || response.status === 202, `accepted: ${response.status} ${body}`);
        const normalized = Buffer.from(bytes.toString('latin1').replace(/[\r\n]/g, ' '), 'latin1');
        assert.ok(received.some((r) => r.equals(normalized)), `the server received the frame (line breaks as spaces): ${received.map(String).join(' | ')}`);
      } else {
        assert.equal(response.status, 400, body);
        const normalized = Buffer.from(bytes.toString('latin1').replace(/[\r\n]/g, ' '), 'latin1');
        assert.ok(!received.some((r) => r.equals(bytes) || r.equals(normalized)), 'the frame never reached the server');
        assert.ok(received.every((r) => /"method":"fixture\/release"/.test(r.toString('utf8'))), `nothing else either: ${received.map(String).join(' | ')}`);
        if (http !== undefined && 'code' in http) {
          const reply = JSON.parse(body) as Frame;
          assertRefusal(reply, c, http.replyId, http);
        } else {
          assertClientReply(Buffer.from(body), c);
        }
      }
      await ping();
    });
  }
});
