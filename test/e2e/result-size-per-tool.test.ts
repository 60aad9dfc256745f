// Per-tool result caps end to end (limits.perTool): the built proxy in front of
// @modelcontextprotocol/server-everything, whose `echo` returns what it is sent and
// `get-tiny-image` a text, a base64 image and a text (over 1 KiB counted). The pump must hand the
// rule the tool each tools/call response answers. docs/policy.md, "Result size caps".
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { EVERYTHING_ARGV } from '../helpers/paths.js';
import { spawnProxy, type ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('result-size-per-tool');

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
  await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'result-size-per-tool', version: '1' } });
  proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return { proxy, call: (name, args) => request('tools/call', { name, arguments: args }) };
}

describe('limits.perTool through the built proxy and server-everything', () => {
  test('enforce: the per-tool cap holds get-tiny-image to 1 KiB while echo keeps the section cap of 4 KiB', async (t) => {
    const { proxy, call } = await start(t, policyFile('per-tool', 'enforce', '{ maxResultBytes: 4KiB, perTool: [{ tools: [get-tiny-*], maxResultBytes: 1KiB }] }'));
    const image = await call('get-tiny-image', {});
    assert.equal(image.result.isError, true);
    assert.match(image.result.content[0].text, /^Denied by policy \(rule limits\.maxResultBytes, result_too_large\): the result was \d+ bytes, over the cap of 1024 \(limits\.perTool\[0\] for tool "get-tiny-image"\)$/);

    // 2006 bytes: over the image's cap, under echo's (the section's).
    const echo = await call('echo', { message: 'x'.repeat(2000) });
    assert.equal(echo.result.content[0].text, `Echo: ${'x'.repeat(2000)}`);
    const large = await call('echo', { message: 'x'.repeat(5000) });
    assert.equal(large.result.content[0].text, 'Denied by policy (rule limits.maxResultBytes, result_too_large): the result was 5006 bytes, over the cap of 4096 (limits.maxResultBytes)');

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
  });

  test('per-tool caps alone: echo is cut to its cap, get-tiny-image has none; a cap of 0 exempts a tool', async (t) => {
    const { proxy, call } = await start(t, policyFile('per-tool-only', 'enforce', '{ perTool: [{ tools: [echo], maxResultBytes: 1KiB, onOversize: truncate }, { tools: ["*"], maxResultBytes: 0 }] }'));
    const echo = await call('echo', { message: 'y'.repeat(3000) });
    assert.equal(echo.result.content[0].text, `Echo: ${'y'.repeat(1018)}`);
    assert.match(echo.result.content[1].text, /^\[mcp-sidecar: the result was 3006 bytes, over the cap of 1024 \(limits\.perTool\[0\]\); 1 of 1 content items were cut or dropped, 1982 bytes\]$/);
    const image = await call('get-tiny-image', {});
    assert.deepEqual(image.result.content.map((item: { type: string }) => item.type), ['text', 'image', 'text']);

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    assert.ok(proxy.logs().some((r) => r.msg === 'policy rewrote tools/call' && r.ruleId === 'limits.maxResultBytes'));
  });

  test('observe: the per-tool cap records a would-deny where the section cap would not, and the result passes whole', async (t) => {
    const { proxy, call } = await start(t, policyFile('per-tool-observe', 'observe', '{ maxResultBytes: 4KiB, perTool: [{ tools: [echo], maxResultBytes: 1KiB }] }'));
    const echo = await call('echo', { message: 'z'.repeat(2000) });
    assert.equal(echo.result.content[0].text, `Echo: ${'z'.repeat(2000)}`);
    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    const wouldDeny = proxy.logs().filter((r) => r.msg === 'policy would deny tools/call' && r.ruleId === 'limits.maxResultBytes');
    assert.deepEqual(wouldDeny.map((r) => r.reason), ['result_too_large']);
  });
});
