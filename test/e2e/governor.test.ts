// End-to-end tests of the governor through the built CLI: a crashed server is restarted and
// the client's session survives; what the allowlist refuses never starts, nor does a pinned
// executable changed before a restart; a crash loop ends.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { connectEverything, disposeConnection, type Connection } from '../helpers/mcp-client.js';
import { CLI, ROOT, commandLine } from '../helpers/paths.js';
import { isRunning, waitFor } from '../helpers/processes.js';
import { spawnProxy } from '../helpers/proxy-process.js';

const GOVERNOR_FIXTURE = [process.execPath, `${ROOT}/test/fixtures/governor/mcp-server.js`];

describe('a server-everything session survives the server being killed', () => {
  let connection: Connection | undefined;
  after(() => disposeConnection(connection));

  test('the in-flight call gets a retryable error, the next call is served without the client re-initializing', async () => {
    connection = await connectEverything({ viaProxy: true });
    const { client } = connection;
    const firstServer = connection.serverPid;
    assert.match(JSON.stringify(await client.callTool({ name: 'echo', arguments: { message: 'before' } })), /Echo: before/);

    const inFlight = client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } }, undefined, { onprogress: () => {} });
    inFlight.catch(() => {}); // asserted below
    await waitFor(() => connection!.received().some((f) => f.method === 'notifications/progress'), 5000, 'the long call to be running');
    process.kill(firstServer, 'SIGKILL');
    await assert.rejects(inFlight, (error: Error & { code?: number; data?: any }) => {
      assert.equal(error.code, -32003);
      assert.deepEqual([error.data?.category, error.data?.retryable, error.data?.code], ['transient_error', true, 'SIDECAR_ERR_UPSTREAM_EXITED']);
      return true;
    });

    // No new initialize from the client: the proxy replays the cached one to the new server.
    const initializesSent = connection.transport.sent.filter((m) => 'method' in m && m.method === 'initialize').length;
    const after = await client.callTool({ name: 'echo', arguments: { message: 'after' } });
    assert.match(JSON.stringify(after), /Echo: after/);
    assert.equal(connection.transport.sent.filter((m) => 'method' in m && m.method === 'initialize').length, initializesSent);
    assert.equal(initializesSent, 1);

    const restarted = connection.logs().filter((r) => r.msg === 'started the MCP server');
    assert.equal(restarted.length, 2);
    assert.notEqual(restarted[1]!.pid, firstServer);
    assert.ok(connection.logs().some((r) => r.msg === "session recovered: the client's initialize was replayed to the new server"));
    assert.ok(connection.received().some((f) => f.method === 'notifications/tools/list_changed'), 'told to list tools again');
    assert.ok(!connection.received().some((f) => typeof f.id === 'string' && f.id.startsWith('mcp-sidecar:')), 'the replayed handshake stays inside the proxy');
    assert.equal(isRunning(firstServer), false);

    await client.close();
    await waitFor(() => !isRunning(connection!.pid) && !isRunning(restarted[1]!.pid as number), 10_000, 'proxy and server to end');
  });
});

describe('launch refusals', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', input: '', env: { PATH: process.env.PATH } });

  test('a command outside the allowlist exits 78, names the rule and why, and starts nothing', () => {
    const result = run(['--proxy', 'node demo/../../etc/x.js', '--allow', 'node demo/', '--stdio']);
    assert.equal(result.status, 78);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /refused to start node demo\/..\/..\/etc\/x.js: no allow rule matches: rule "node demo\/" \(--allow #1\): argument 1 "demo\/..\/..\/etc\/x.js" \(\/.*etc\/x.js\) does not match "demo\/"/);
    assert.doesNotMatch(result.stderr, /started the MCP server/);
  });

  test('an empty allowlist exits 78 and says how to allow the command', () => {
    const result = run(['--proxy', 'node demo/mcp-middleware-platform/simple-mcp-server.js', '--stdio']);
    assert.equal(result.status, 78);
    assert.match(result.stderr, /the allowlist is empty, so nothing may start; to allow it, add its prefix with --allow "<prefix>" or MCP_PROXY_ALLOWED_PREFIXES/);
  });

  test('the allowlist from MCP_PROXY_ALLOWED_PREFIXES admits the demo server', () => {
    const request = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"ok"}}}\n';
    const result = spawnSync(process.execPath, [CLI, '--proxy', 'node demo/mcp-middleware-platform/simple-mcp-server.js'], {
      cwd: ROOT, encoding: 'utf8', input: request, env: { PATH: process.env.PATH, MCP_PROXY_ALLOWED_PREFIXES: 'python3 x/, node demo/' },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /"text":"OK"/);
  });

  test('a bad governor setting fails at start naming the variable and the range', () => {
    const result = spawnSync(process.execPath, [CLI, '--proxy', 'node x.js', '--allow', 'node'], { encoding: 'utf8', env: { PATH: process.env.PATH, MCP_PROXY_MAX_RESTARTS: '-1' } });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /MCP_PROXY_MAX_RESTARTS must be a whole number from 0 to 100, got "-1"/);
  });
});

describe('crash loops and slow starts through the CLI', () => {
  test('a server that keeps exiting at start is given up after the bound: pending requests answered, its stderr logged, exit 70', async (t) => {
    const proxy = spawnProxy(GOVERNOR_FIXTURE, { args: ['--max-restarts', '2', '--restart-backoff-ms', '20', '--pass-env', 'EXIT_AT_START'], env: { PATH: process.env.PATH, EXIT_AT_START: '1' } });
    t.after(() => proxy.dispose());
    proxy.send({ jsonrpc: '2.0', id: 'w', method: 'tools/call', params: { name: 'x' } });
    const { json } = await proxy.nextFrame(10_000);
    assert.equal(json.id, 'w');
    assert.equal(json.error?.data?.category, 'transient_error');
    assert.deepEqual(await proxy.waitForExit(), { code: 70, signal: null });
    const fatal = proxy.logs().find((r) => r.level === 50 && /failed 3 times in a row/.test(r.msg ?? ''));
    assert.ok(fatal, 'the fatal reason is logged');
    assert.ok((fatal!.stderrTail as string[]).includes('fixture: exiting at start with 1'));
    assert.equal(proxy.logs().filter((r) => r.msg === 'started the MCP server').length, 3);
  });

  test('a server that exits 78 is not restarted: exit 78', async (t) => {
    const proxy = spawnProxy(GOVERNOR_FIXTURE, { args: ['--set-env', 'EXIT_AT_START=78'], env: { PATH: process.env.PATH } });
    t.after(() => proxy.dispose());
    assert.deepEqual(await proxy.waitForExit(), { code: 78, signal: null });
    assert.equal(proxy.logs().filter((r) => r.msg === 'started the MCP server').length, 1);
  });

  test('requests sent to a server that is slow to start are answered once it reads them', async (t) => {
    const proxy = spawnProxy(GOVERNOR_FIXTURE, { args: ['--pass-env', 'START_*'], env: { PATH: process.env.PATH, START_DELAY_MS: '700' } });
    t.after(() => proxy.dispose());
    proxy.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } });
    proxy.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    const ids = [(await proxy.nextFrame(5000)).json.id, (await proxy.nextFrame(5000)).json.id];
    assert.deepEqual(ids, [1, 2]);
    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
  });
});

describe('a pinned executable is checked at every spawn', () => {
  test('replaced while the server runs: the restart after its crash is refused, exit 78, and the replacement never runs', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'governor-pin-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // The fixture as an executable of its own, so that its bytes are what --executable-sha256 pins.
    const script = join(dir, 'mcp-server.mjs');
    const approved = `#!${process.execPath}\n${readFileSync(GOVERNOR_FIXTURE[1]!, 'utf8').replace(/^#!.*\n/, '')}`;
    writeFileSync(script, approved, { mode: 0o755 });
    const pinned = createHash('sha256').update(approved).digest('hex');
    const reports = join(dir, 'reports.ndjson');
    const proxy = spawnProxy(commandLine([script]), {
      args: ['--allow', script, '--executable-sha256', pinned, '--restart-backoff-ms', '20', '--report-file', reports,
        '--set-env', 'CRASH_ON_CALL=1', '--set-env', `STATE_FILE=${join(dir, 'calls')}`],
      env: { PATH: process.env.PATH },
    });
    t.after(() => proxy.dispose());
    proxy.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal((await proxy.nextFrame()).json.id, 1, 'the approved server runs');

    const marker = join(dir, 'impostor-ran');
    const impostor = `#!${process.execPath}\nimport { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\n`;
    writeFileSync(script, impostor);
    proxy.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x' } }); // the server crashes on it
    const crashed = (await proxy.nextFrame()).json;
    assert.deepEqual([crashed.id, crashed.error?.code], [2, -32003]);

    assert.deepEqual(await proxy.waitForExit(), { code: 78, signal: null });
    const digest = createHash('sha256').update(impostor).digest('hex');
    const refusal = proxy.logs().find((r) => r.level === 50 && r.code === 'SIDECAR_ERR_GOVERNOR_NOT_ALLOWED');
    assert.equal(refusal?.msg, `refused to start ${script}: ${script} has sha256 ${digest}, but ${pinned} is pinned`);
    assert.equal(refusal?.reason, 'digest_mismatch');
    assert.equal(proxy.logs().filter((r) => r.msg === 'started the MCP server').length, 1, 'no second server');
    assert.equal(existsSync(marker), false, 'the replaced script never ran');
    const lifecycle = readFileSync(reports, 'utf8').trim().split('\n').map((line) => JSON.parse(line)).filter((r) => r.kind === 'lifecycle');
    assert.deepEqual(lifecycle.slice(-2).map((r) => [r.event, r.generation, r.detail.reason]), [
      ['refused', 1, 'digest_mismatch'],
      ['fatal', 1, refusal?.msg],
    ]);
  });
});
