import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { loadConfig, type SidecarConfig } from '../../../components/config/index.js';
import { EXIT_CODES, startSidecar } from '../../../components/runtime/index.js';
import { captureLogs } from '../../helpers/log-capture.js';

const DEMO_SERVER = 'node demo/mcp-middleware-platform/simple-mcp-server.js';

function configFor(argv: string[], overrides: Partial<SidecarConfig> = {}): SidecarConfig {
  const { config } = loadConfig(['--proxy', DEMO_SERVER], {}) as { config: SidecarConfig };
  return { ...config, argv, ...overrides };
}

// The whole runtime in-process: the client side is a pair of in-memory streams.
function runInMemory(config: SidecarConfig) {
  const input = new PassThrough();
  const output = new PassThrough();
  const logs = captureLogs('info');
  const handle = startSidecar(config, { input, output }, { logger: logs.logger });
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
    const s = runInMemory(configFor(DEMO_SERVER.split(' ')));
    s.input.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"in memory"}}}\n');
    const reply = await s.nextFrame();
    assert.deepEqual(reply.result.content, [{ type: 'text', text: 'IN MEMORY' }]);
    s.input.end();
    assert.equal(await s.handle.done, EXIT_CODES.OK);
    assert.equal(isAlive(s.handle.upstream.pid!), false);
    const stopped = s.logs.entries.find((e) => e.msg === 'proxy stopped');
    assert.equal(stopped?.stop, 'stdin-closed');
  });

  it('should answer a request still in flight at end of input before it stops', async () => {
    // A server that answers after 300 ms: the drain waits for it.
    const slow = `process.stdin.on('data', (d) => { const id = JSON.parse(d).id; setTimeout(() => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id, result: { late: true } }) + '\\n'), 300); })`;
    const s = runInMemory(configFor(['node', '-e', slow]));
    s.input.end('{"jsonrpc":"2.0","id":"slow","method":"tools/call"}\n');
    assert.equal(await s.handle.done, EXIT_CODES.OK);
    assert.deepEqual(s.frames.map((f) => [f.id, f.result]), [['slow', { late: true }]]);
  });

  it('should answer pending requests with a retryable error and exit 70 when the server dies', async () => {
    const dies = `process.stdin.once('data', () => process.exit(3))`;
    const s = runInMemory(configFor(['node', '-e', dies]));
    s.input.write('{"jsonrpc":"2.0","id":5,"method":"tools/call"}\n');
    const reply = await s.nextFrame();
    assert.equal(reply.id, 5);
    assert.equal(reply.error.code, -32003);
    assert.match(reply.error.message, /exit code 3/);
    assert.deepEqual([reply.error.data.category, reply.error.data.retryable], ['transient_error', true]);
    assert.equal(await s.handle.done, EXIT_CODES.UPSTREAM_EXITED);
  });

  it('should exit 69 when the server command cannot be started', async () => {
    const s = runInMemory(configFor(['/nonexistent/mcp-server']));
    assert.equal(await s.handle.done, EXIT_CODES.UPSTREAM_UNAVAILABLE);
    const entry = s.logs.entries.find((e) => e.code === 'SIDECAR_ERR_UPSTREAM_SPAWN');
    assert.match(String(entry?.msg), /ENOENT/);
  });

  it('should escalate to SIGKILL when the server ignores stdin EOF and SIGTERM', async () => {
    const stubborn = `process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)`;
    const s = runInMemory(configFor(['node', '-e', stubborn], { stdinCloseGraceMs: 100, killTimeoutMs: 200 }));
    await new Promise((resolve) => setTimeout(resolve, 300)); // let it install its handler
    s.input.end();
    assert.equal(await s.handle.done, EXIT_CODES.OK);
    assert.equal(s.logs.entries.find((e) => e.msg === 'proxy stopped')?.stop, 'sigkill');
    assert.equal(isAlive(s.handle.upstream.pid!), false);
  });

  it('should refuse requests that arrive while it is stopping', async () => {
    const s = runInMemory(configFor(DEMO_SERVER.split(' ')));
    void s.handle.stop('received SIGTERM');
    s.input.write('{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    const reply = await s.nextFrame();
    assert.deepEqual([reply.id, reply.error.data.code], [2, 'SIDECAR_ERR_SHUTTING_DOWN']);
    assert.equal(await s.handle.done, EXIT_CODES.OK);
  });
});
