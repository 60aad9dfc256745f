import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { loadConfig, type SidecarConfig } from '../../../components/config/index.js';
import { EXIT_CODES, startSidecar } from '../../../components/runtime/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { waitFor } from '../../helpers/processes.js';

const DEMO_SERVER = 'node demo/mcp-middleware-platform/simple-mcp-server.js';

// Every test server is `node` with an inline script or a script in this repository.
const BASE = (await loadConfig(['--proxy', DEMO_SERVER, '--allow', 'node', '--max-restarts', '0'], {}) as { config: SidecarConfig }).config;
function configFor(argv: string[], overrides: Partial<SidecarConfig> = {}): SidecarConfig {
  return { ...BASE, argv, ...overrides };
}

// The whole runtime in-process: the client side is a pair of in-memory streams.
async function runInMemory(config: SidecarConfig, clock?: FakeClock) {
  const input = new PassThrough();
  const output = new PassThrough();
  const logs = captureLogs('info');
  const handle = await startSidecar(config, { input, output }, { logger: logs.logger, env: process.env, clock });
  const frames: Array<Record<string, any>> = [];
  let buffered = '';
  output.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) frames.push(JSON.parse(part));
  });
  const nextFrame = async (): Promise<Record<string, any>> => {
    while (frames.length === 0) await once(output, 'data');
    return frames.shift()!;
  };
  return { input, output, handle, logs, frames, nextFrame };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startSidecar', () => {
  it('should run a session over in-memory streams and stop the server on end of input', async () => {
    const s = await runInMemory(configFor(DEMO_SERVER.split(' ')));
    s.input.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"in memory"}}}\n');
    const reply = await s.nextFrame();
    assert.deepEqual(reply.result.content, [{ type: 'text', text: 'IN MEMORY' }]);
    const pid = s.handle.governor!.upstream!.pid!;
    s.input.end();
    assert.equal(await s.handle.done, EXIT_CODES.OK);
    assert.equal(isAlive(pid), false);
    const stopped = s.logs.entries.find((e) => e.msg === 'proxy stopped');
    assert.equal(stopped?.stop, 'stdin-closed');
  });

  it('should answer a request still in flight at end of input before it stops', async () => {
    // A server that answers after 300 ms: the drain waits for it.
    const slow = `process.stdin.on('data', (d) => { const id = JSON.parse(d).id; setTimeout(() => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id, result: { late: true } }) + '\\n'), 300); })`;
    const s = await runInMemory(configFor(['node', '-e', slow]));
    s.input.end('{"jsonrpc":"2.0","id":"slow","method":"tools/call"}\n');
    assert.equal(await s.handle.done, EXIT_CODES.OK);
    assert.deepEqual(s.frames.map((f) => [f.id, f.result]), [['slow', { late: true }]]);
  });

  it('should answer pending requests with a retryable error and, with no restarts allowed, exit 70 when the server dies', async () => {
    const dies = `process.stdin.once('data', () => process.exit(3))`;
    const s = await runInMemory(configFor(['node', '-e', dies]));
    s.input.write('{"jsonrpc":"2.0","id":5,"method":"tools/call"}\n');
    const reply = await s.nextFrame();
    assert.equal(reply.id, 5);
    assert.equal(reply.error.code, -32003);
    assert.match(reply.error.message, /exit code 3/);
    assert.deepEqual([reply.error.data.category, reply.error.data.retryable], ['transient_error', true]);
    assert.equal(await s.handle.done, EXIT_CODES.UPSTREAM_FAILED);
  });

  it('should refuse a server command that does not exist, starting nothing', async () => {
    await assert.rejects(() => runInMemory(configFor(['/nonexistent/mcp-server'])), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'SIDECAR_ERR_UPSTREAM_SPAWN');
      assert.match(error.message, /"\/nonexistent\/mcp-server" is not an executable file/);
      return true;
    });
  });

  it('should refuse a command the allowlist does not admit, and everything when the allowlist is empty', async () => {
    const argv = ['node', 'demo/mcp-middleware-platform/simple-mcp-server.js'];
    await assert.rejects(() => runInMemory(configFor(argv, { allow: [{ prefix: 'node test/', source: '--allow #1' }] })), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'SIDECAR_ERR_GOVERNOR_NOT_ALLOWED');
      assert.match(error.message, /refused to start node demo\/mcp-middleware-platform\/simple-mcp-server.js: no allow rule matches: rule "node test\/" \(--allow #1\)/);
      return true;
    });
    await assert.rejects(() => runInMemory(configFor(argv, { allow: [] })), /the allowlist is empty, so nothing may start; to allow it, add its prefix with --allow/);
  });

  it('should keep the session across a server crash: the in-flight call fails retryably, the next one is served', async () => {
    // Exits on its second tools/call; answers everything else.
    const crashy = `let calls = 0; require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => { const m = JSON.parse(l); if (m.id === undefined) return;
      if (m.method === 'tools/call' && ++calls === 2) process.exit(1);
      process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { pid: process.pid, method: m.method } }) + '\\n'); });`;
    const s = await runInMemory(configFor(['node', '-e', crashy], { restart: { ...BASE.restart, maxRestarts: 2, backoffBaseMs: 10 } }));
    s.input.write('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n');
    const first = await s.nextFrame();
    s.input.write('{"jsonrpc":"2.0","id":2,"method":"tools/call"}\n{"jsonrpc":"2.0","id":3,"method":"tools/call"}\n');
    const answered = [await s.nextFrame(), await s.nextFrame()];
    assert.equal(answered[0]!.id, 2);
    assert.deepEqual([answered[1]!.id, answered[1]!.error.data.code, answered[1]!.error.data.retryable], [3, 'SIDECAR_ERR_UPSTREAM_EXITED', true]);
    s.input.write('{"jsonrpc":"2.0","id":4,"method":"tools/call"}\n');
    const fourth = await s.nextFrame();
    assert.equal(fourth.id, 4);
    assert.notEqual(fourth.result.pid, first.result.pid, 'served by the restarted server');
    assert.equal(s.handle.governor!.generation, 1);
    s.input.end();
    assert.equal(await s.handle.done, EXIT_CODES.OK);
  });

  it('should escalate to SIGKILL when the server ignores stdin EOF and SIGTERM', async () => {
    const stubborn = `process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)`;
    // The stop sequence's waits run on the proxy's clock: each one passes when the test says so.
    const clock = new FakeClock();
    const s = await runInMemory(configFor(['node', '-e', stubborn], { stdinCloseGraceMs: 100, killTimeoutMs: 200 }), clock);
    await new Promise((resolve) => setTimeout(resolve, 300)); // let it install its handler
    const pid = s.handle.governor!.upstream!.pid!;
    s.input.end();
    const waitOf = (ms: number) => clock.pending().find((timer) => timer.ms === ms);
    await waitFor(() => waitOf(100) !== undefined, 5000, 'the stdin-close grace');
    clock.advance(100);
    await waitFor(() => waitOf(200) !== undefined, 5000, 'the wait after SIGTERM');
    assert.equal(isAlive(pid), true, 'SIGTERM is ignored');
    clock.advance(200);
    assert.equal(await s.handle.done, EXIT_CODES.OK);
    assert.equal(s.logs.entries.find((e) => e.msg === 'proxy stopped')?.stop, 'sigkill');
    assert.equal(isAlive(pid), false);
  });

  it('should refuse requests that arrive while it is stopping', async () => {
    const s = await runInMemory(configFor(DEMO_SERVER.split(' ')));
    void s.handle.stop('received SIGTERM');
    s.input.write('{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    const reply = await s.nextFrame();
    assert.deepEqual([reply.id, reply.error.data.code], [2, 'SIDECAR_ERR_SHUTTING_DOWN']);
    assert.equal(await s.handle.done, EXIT_CODES.OK);
  });
});
