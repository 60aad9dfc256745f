// Deadlines and circuit breakers per service, end to end through dist/cli.js: two memory servers
// behind one gateway. A slow service's call passes its own deadline (timeouts.requestMs) while the
// other service, with none, answers a call longer than that; a service crashing under a call opens
// its own breaker (new calls to it fail fast, -32009) while the other is served.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cleanEnv, gatewayArgs, MEMORY_FIXTURE } from '../fixtures/gateway-three-servers.js';
import { ROOT, commandLine } from '../helpers/paths.js';
import { ProxyProcess, type Frame } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const MEMORY = commandLine([process.execPath, MEMORY_FIXTURE]);

/** A servers file of two memory servers, each entry's extra YAML given. */
function serversFile(entries: Record<string, string>): string {
  const file = join(tempDir('gateway-isolation'), 'servers.yaml');
  writeFileSync(file, ['servers:', ...Object.entries(entries).map(([name, extra]) => `  - { name: ${name}, command: ${JSON.stringify(MEMORY)}${extra} }`), ''].join('\n'));
  return file;
}

/** The gateway as a child; answers kept by id. */
class Gateway {
  readonly proxy: ProxyProcess;
  readonly #answers = new Map<unknown, Frame>();
  #nextId = 1;

  constructor(file: string, flags: string[] = []) {
    this.proxy = new ProxyProcess(spawn(process.execPath, [...gatewayArgs(file), ...flags], { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] }));
    void this.#read();
  }

  async #read(): Promise<void> {
    for (;;) {
      const frame = await this.proxy.nextFrame(60_000).catch(() => undefined);
      if (frame === undefined) return;
      if (frame.json.method === undefined) this.#answers.set(frame.json.id, frame.json);
    }
  }

  request(method: string, params?: object): Promise<Frame> {
    const id = this.#nextId++;
    this.proxy.send({ jsonrpc: '2.0', id, method, ...(params && { params }) });
    return this.#answer(id);
  }

  call(name: string, args: object = {}): Promise<Frame> {
    return this.request('tools/call', { name, arguments: args });
  }

  async #answer(id: number): Promise<Frame> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const answer = this.#answers.get(id);
      if (answer !== undefined) return answer;
      if (Date.now() > deadline) assert.fail(`no answer to ${id}; stderr:\n${this.proxy.stderr.bytes.toString('utf8').slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async initialize(): Promise<void> {
    await this.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'gateway-isolation', version: '1' } });
    this.proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  async stop(): Promise<void> {
    this.proxy.endInput();
    assert.deepEqual(await this.proxy.waitForExit(), { code: 0, signal: null });
    this.proxy.assertStdoutClean();
  }
}

const text = (frame: Frame): string => {
  assert.ok(frame.result !== undefined, `a result: ${JSON.stringify(frame)}`);
  return frame.result.content[0].text as string;
};

describe('deadlines and breakers per service', () => {
  test('a slow service\'s call passes its own deadline (-32008, cancelled at it) while another service, without one, answers a longer call', async () => {
    const gateway = new Gateway(serversFile({ slow: ', timeouts: { requestMs: 300 }', steady: '' }));
    after(() => gateway.proxy.dispose());
    await gateway.initialize();
    const [timedOut, steady] = await Promise.all([gateway.call('slow.sleep', { ms: 30_000 }), gateway.call('steady.sleep', { ms: 900 })]);
    assert.equal(timedOut.error?.code, -32008, JSON.stringify(timedOut));
    assert.equal(timedOut.error?.data?.retryable, true);
    assert.match(timedOut.error!.message, /slow/, 'the error names the service');
    assert.equal(text(steady), 'slept 900', 'the other service has no deadline of its own: the slow one\'s does not apply to it');
    // The service was told to cancel: its sleep is no longer running; and one timeout does not open its breaker.
    assert.equal(text(await gateway.call('slow.pending')), '0');
    assert.equal(text(await gateway.call('slow.echo', { message: 'still here' })), 'STILL HERE');
    await gateway.stop();
  });

  test('a service crashing under a call opens its own breaker (-32009 fast), while the other service is served', async () => {
    const gateway = new Gateway(serversFile({ crashy: ', restart: { maxRestarts: 5, backoffMs: 0 }', steady: '' }), ['--circuit-failures', '1', '--circuit-cooldown-ms', '600000']);
    after(() => gateway.proxy.dispose());
    await gateway.initialize();
    const sleeping = gateway.call('crashy.sleep', { ms: 30_000 });
    assert.equal(text(await gateway.call('crashy.pending')), '1');
    const started = await gateway.proxy.waitForLog((r) => r.msg === 'started the MCP server' && (r as { service?: string }).service === 'crashy', 10_000);
    process.kill(started.pid!, 'SIGKILL');
    assert.equal((await sleeping).error?.code, -32003, 'the call under the crash gets the retryable error');
    const refused = await gateway.call('crashy.echo', { message: 'x' });
    assert.equal(refused.error?.code, -32009, JSON.stringify(refused));
    assert.match(refused.error!.message, /crashy/);
    await gateway.proxy.waitForLog((r) => /circuit breaker opened/.test(String(r.msg)) && (r as { service?: string }).service === 'crashy', 5000);
    assert.equal(text(await gateway.call('steady.echo', { message: 'served' })), 'SERVED');
    await gateway.stop();
  });
});
