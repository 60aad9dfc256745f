// End to end through the built CLI (dist/cli.js --http --warm-servers 1): a new session's first
// response comes from a server the pool started before the session existed, that server saw the
// client's initialize as the first frame after the pool's ping (whose answer no session saw), its
// replacement starts in the background, and at stop no pooled process survives.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { INITIALIZE, send } from '../helpers/http-raw.js';
import { CLI, ROOT, commandLine } from '../helpers/paths.js';
import { forceKill, groupPids, isAlive, waitUntilGone } from '../helpers/proc-table.js';
import { ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

// Answers initialize with when it started, its pid and the methods it read before initialize.
const FIXTURE = `
import { createInterface } from 'node:readline';
const startedAt = Date.now();
process.stderr.write('warm-fixture ' + process.pid + ' ready\\n');
const readBefore = [];
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === '') return;
  const { id, method, params } = JSON.parse(line);
  if (method !== 'initialize') readBefore.push(method);
  if (id === undefined || method === undefined) return;
  const result = method === 'initialize'
    ? { protocolVersion: params.protocolVersion, capabilities: {}, serverInfo: { name: 'warm-fixture', version: '1.0.0' }, instructions: JSON.stringify({ pid: process.pid, startedAt, readBefore }) }
    : {};
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id, result }) + '\\n');
});
`;

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_')));
}

interface FixtureReport {
  readonly pid: number;
  readonly startedAt: number;
  readonly readBefore: readonly string[];
}

describe('warm servers through the CLI', () => {
  let proxy: ProxyProcess;
  let port: number;
  const warmPids = (): number[] => proxy.logs().filter((r) => r.msg === 'started a warm server' && typeof r.pid === 'number').map((r) => r.pid as number);

  const dir = tempDir('warm-servers');

  before(async () => {
    const script = join(dir, 'warm-fixture.mjs');
    writeFileSync(script, FIXTURE);
    const args = [CLI, '--http', '127.0.0.1:0', '--warm-servers', '1', '--proxy', commandLine([process.execPath, script]), '--allow', commandLine([process.execPath, `${dir}/`]), '--log-level', 'debug'];
    proxy = new ProxyProcess(spawn(process.execPath, args, { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] }));
    port = ((await proxy.waitForLog((r) => r.msg === 'serving MCP over Streamable HTTP', 10_000)).address as { port: number }).port;
    await proxy.waitForLog((r) => r.msg === 'warm servers are waiting for sessions', 10_000);
  });

  after(() => {
    if (proxy.exit === undefined) proxy.child.kill('SIGKILL');
    for (const pid of warmPids()) forceKill(pid, true);
  });

  test('a new session is answered by the server started before it, and stop leaves none behind', async () => {
    const [waitingPid] = warmPids();
    assert.ok(waitingPid !== undefined && isAlive(waitingPid), 'one server waits before any client came');
    // Its stderr is relayed while it waits, under the pool's name.
    await proxy.waitForLog((r) => r.source === 'server' && r.pool === 'warm' && r.msg === `warm-fixture ${waitingPid} ready`, 10_000);
    // Handed out only once it answered the pool's ping.
    await proxy.waitForLog((r) => r.msg === 'a warm server answered its ping: ready' && r.pid === waitingPid, 10_000);
    const sentAt = Date.now();
    const response = await send(port, { body: INITIALIZE });
    assert.equal(response.status, 200);
    const sessionId = response.headers['mcp-session-id'];
    assert.equal(typeof sessionId, 'string');
    const result = (await response.json()).result;
    const report = JSON.parse(result.instructions as string) as FixtureReport;
    assert.equal(report.pid, waitingPid, 'the pooled process answered');
    assert.ok(report.startedAt <= sentAt, 'it was running before the client asked');
    assert.deepEqual(report.readBefore, ['ping'], 'nothing but the pool\'s ping was written to it before the client\'s initialize');
    assert.equal(result.protocolVersion, INITIALIZE.params.protocolVersion, 'the client chose the protocol version');
    const started = proxy.logs().find((r) => r.msg === 'started the MCP server' && r.session === sessionId);
    assert.equal(started?.pid, waitingPid, 'the session\'s governor runs the warm server');

    // Its replacement, in the background.
    const replacement = await proxy.waitForLog((r) => r.msg === 'started a warm server' && r.pid !== waitingPid, 5000);
    assert.ok(isAlive(replacement.pid as number));

    proxy.child.kill('SIGTERM');
    assert.deepEqual(await proxy.waitForExit(15_000), { code: 0, signal: null }, proxy.stderr.bytes.toString('utf8'));
    for (const pid of warmPids()) {
      assert.ok(await waitUntilGone(pid, 3000), `server ${pid} is gone`);
      assert.deepEqual(groupPids(pid), [], `nothing is left of its process group ${pid}`);
    }
    const errors = proxy.logs().filter((r) => (r.level ?? 0) >= 50);
    assert.deepEqual(errors, [], 'no error was logged');
  });
});
