// The gateway end to end with two servers that offer the same names: two memory servers
// (test/fixtures/gateway-memory-server.mjs) list the same tools and the same resource URIs. Both
// are visible, tools by namespace and URIs marked `<service>+<uri>`; a bare shared URI is refused
// naming both services, and a marked one reaches the service it names.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ROOT, commandLine } from '../helpers/paths.js';
import { ProxyProcess, type Frame } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { MEMORY_FIXTURE, cleanEnv, gatewayArgs } from '../fixtures/gateway-three-servers.js';

async function call(proxy: ProxyProcess, id: number, method: string, params?: object): Promise<Frame> {
  proxy.send({ jsonrpc: '2.0', id, method, ...(params && { params }) });
  const { json } = await proxy.nextFrame(10_000);
  assert.equal(json.id, id, JSON.stringify(json));
  return json;
}

describe('the gateway over two servers offering the same names', () => {
  test('tools and resource URIs two servers share are both visible, and each reaches its own server', async () => {
    const file = join(tempDir('gateway-collisions'), 'servers.yaml');
    const memory = JSON.stringify(commandLine([process.execPath, MEMORY_FIXTURE]));
    writeFileSync(file, `separator: "_"\nservers:\n  - { name: left, command: ${memory} }\n  - { name: right, command: ${memory} }\n`);
    const proxy = new ProxyProcess(spawn(process.execPath, gatewayArgs(file), { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] }));
    after(() => proxy.dispose());
    await call(proxy, 1, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'collisions', version: '1' } });
    proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });

    const names = ((await call(proxy, 2, 'tools/list')).result.tools as Array<{ name: string }>).map((tool) => tool.name);
    const own = ['create_entities', 'read_graph', 'echo', 'sleep', 'pending'];
    assert.deepEqual(names, [...own.map((name) => `left_${name}`), ...own.map((name) => `right_${name}`)]);

    // State is per server: an entity created on the left is not on the right.
    await call(proxy, 3, 'tools/call', { name: 'left_create_entities', arguments: { entities: [{ name: 'Ada' }] } });
    const left = JSON.parse((await call(proxy, 4, 'tools/call', { name: 'left_read_graph', arguments: {} })).result.content[0].text);
    const right = JSON.parse((await call(proxy, 5, 'tools/call', { name: 'right_read_graph', arguments: {} })).result.content[0].text);
    assert.deepEqual([left.entities.length, right.entities.length], [1, 0]);

    const first = (await call(proxy, 6, 'resources/list')).result;
    const uris = (first.resources as Array<{ uri: string }>).map((resource) => resource.uri);
    assert.deepEqual(uris.slice(0, 2), ['left+memory://note/1', 'left+memory://note/2']);
    assert.ok(uris.includes('right+memory://note/1'), uris.join(', '));
    assert.equal(uris.length, 20, 'ten from each');
    const second = (await call(proxy, 7, 'resources/list', { cursor: first.nextCursor })).result;
    assert.ok((second.resources as Array<{ uri: string }>).some((resource) => resource.uri === 'right+memory://note/15'), 'the second page marks its shared URIs too');

    const bare = await call(proxy, 8, 'resources/read', { uri: 'memory://note/2' });
    assert.equal(bare.error?.code, -32602, JSON.stringify(bare));
    assert.match(bare.error!.message + JSON.stringify(bare.error?.data ?? ''), /left and right/);
    const marked = await call(proxy, 9, 'resources/read', { uri: 'right+memory://note/2' });
    assert.deepEqual(marked.result?.contents, [{ uri: 'memory://note/2', mimeType: 'text/plain', text: 'note number 2' }], JSON.stringify(marked));

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    proxy.assertStdoutClean();
  });
});
