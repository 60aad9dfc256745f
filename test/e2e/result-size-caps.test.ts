// Result size caps end to end: the built proxy in front of @modelcontextprotocol/server-everything,
// whose `echo` returns what it is sent (a result of any size) and `get-tiny-image` a text, a
// base64 image and a text. docs/policy.md, "Result size caps".
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { EVERYTHING_ARGV } from '../helpers/paths.js';
import { spawnProxy, type ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('result-size-caps');

function policyFile(name: string, mode: 'enforce' | 'observe', limits: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `apiVersion: mcp-sidecar/v1\nkind: Policy\nmetadata: { name: ${name}, revision: 1 }\nmode: ${mode}\nlimits: ${limits}\n`);
  return file;
}

async function start(t: TestContext, policy: string): Promise<{ proxy: ProxyProcess; call: (name: string, args: object) => Promise<any> }> {
  const proxy = spawnProxy(EVERYTHING_ARGV, { args: ['--policy', policy], logLevel: 'info' });
  t.after(() => proxy.dispose());
  let nextId = 1;
  const request = async (method: string, params: object): Promise<any> => {
    const id = nextId++;
    proxy.send({ jsonrpc: '2.0', id, method, params });
    // server-everything sends notifications of its own (log messages) between answers.
    for (;;) {
      const { json } = await proxy.nextFrame(10_000);
      if (json.id === id) return json;
      assert.equal(json.id, undefined, `an answer to ${String(json.id)} while waiting for ${id}`);
    }
  };
  await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'result-size-caps', version: '1' } });
  proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return { proxy, call: (name, args) => request('tools/call', { name, arguments: args }) };
}

describe('limits.maxResultBytes through the built proxy and server-everything', () => {
  test('enforce: a result under the cap passes whole; one over it becomes a tool error naming the cap', async (t) => {
    const { proxy, call } = await start(t, policyFile('deny', 'enforce', '{ maxResultBytes: 1KiB }'));
    const small = await call('echo', { message: 'x'.repeat(900) });
    assert.equal(small.result.content[0].text, `Echo: ${'x'.repeat(900)}`);

    const large = await call('echo', { message: 'x'.repeat(2000) });
    assert.equal(large.result.isError, true);
    assert.equal(large.result.content[0].text, 'Denied by policy (rule limits.maxResultBytes, result_too_large): the result was 2006 bytes, over the cap of 1024 (limits.maxResultBytes)');

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    assert.ok(proxy.logs().some((r) => r.msg === 'policy denied tools/call' && r.ruleId === 'limits.maxResultBytes'));
  });

  test('onOversize: truncate keeps the text that fits, drops the image whole, and says what was cut', async (t) => {
    const { proxy, call } = await start(t, policyFile('truncate', 'enforce', '{ maxResultBytes: 1KiB, onOversize: truncate }'));
    const image = await call('get-tiny-image', {});
    const content = image.result.content as { type: string; text?: string }[];
    assert.deepEqual(content.map((item) => item.type), ['text', 'text']);
    assert.equal(content[0]!.text, 'Here\'s the image you requested:');
    assert.match(content[1]!.text!, /^\[mcp-sidecar: the result was \d+ bytes, over the cap of 1024 \(limits\.maxResultBytes\); 2 of 3 content items were cut or dropped, \d+ bytes\]$/);

    const echo = await call('echo', { message: 'y'.repeat(3000) });
    assert.equal(echo.result.content[0].text, `Echo: ${'y'.repeat(1018)}`);

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    assert.ok(proxy.logs().some((r) => r.msg === 'policy rewrote tools/call' && r.ruleId === 'limits.maxResultBytes'));
  });

  test('observe: the result passes whole and the would-deny is logged', async (t) => {
    const { proxy, call } = await start(t, policyFile('observe', 'observe', '{ maxResultBytes: 1KiB }'));
    const large = await call('echo', { message: 'z'.repeat(2000) });
    assert.equal(large.result.content[0].text, `Echo: ${'z'.repeat(2000)}`);
    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    assert.ok(proxy.logs().some((r) => r.msg === 'policy would deny tools/call' && r.ruleId === 'limits.maxResultBytes'));
  });

  test('maxResponseFrameBytes: a response frame over the limit is refused with -32010', async (t) => {
    const { call } = await start(t, policyFile('frame', 'enforce', '{ maxResponseFrameBytes: { "tools/call": 2KiB } }'));
    const large = await call('echo', { message: 'w'.repeat(3000) });
    assert.deepEqual([large.error.code, large.error.data.ruleId, large.error.data.reason], [-32010, 'limits.maxResponseFrameBytes', 'response_too_large']);
  });
});
