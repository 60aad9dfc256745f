// The gateway end to end with servers that offer the same names: two real server-memory servers
// (each on its own graph file) list the same tools and the same resource URI, and two paging
// fixtures (test/fixtures/gateway-paging-server.mjs) the same URIs page after page. Both are
// visible, tools by namespace and URIs marked `<service>+<uri>`; a bare shared URI is refused
// naming both services, and a marked one reaches the service it names.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ROOT, commandLine } from '../helpers/paths.js';
import { ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { MEMORY_ENTRY, PAGING_FIXTURE, cleanEnv, gatewayArgs, memoryEnvYaml } from '../fixtures/gateway-three-servers.js';

/** server-memory's tools, in the order it lists them. */
const MEMORY_TOOLS = ['create_entities', 'create_relations', 'add_observations', 'delete_entities', 'delete_observations', 'delete_relations', 'read_graph', 'search_nodes', 'open_nodes'];


/** The gateway over `left` and `right`, both started by `command` with their extra YAML, separator `_`, initialized. */
async function startGateway(command: readonly string[], extra: (name: string, dir: string) => string): Promise<ProxyProcess> {
  const dir = tempDir('gateway-collisions');
  const file = join(dir, 'servers.yaml');
  const entry = (name: string): string => `  - { name: ${name}, command: ${JSON.stringify(commandLine(command))}${extra(name, dir)} }`;
  writeFileSync(file, ['separator: "_"', 'servers:', entry('left'), entry('right'), ''].join('\n'));
  const proxy = new ProxyProcess(spawn(process.execPath, gatewayArgs(file), { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] }));
  after(() => proxy.dispose());
  await proxy.call(1, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'collisions', version: '1' } });
  proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return proxy;
}

async function stop(proxy: ProxyProcess): Promise<void> {
  proxy.endInput();
  assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
  proxy.assertStdoutClean();
}

describe('the gateway over two servers offering the same names', () => {
  test('two server-memory servers: their tools and their resource URI are both visible, and each reaches its own server', async () => {
    const proxy = await startGateway([process.execPath, MEMORY_ENTRY], (name, dir) => `, env: ${memoryEnvYaml(join(dir, `${name}.jsonl`))}`);

    const names = ((await proxy.call(2, 'tools/list')).result.tools as Array<{ name: string }>).map((tool) => tool.name);
    assert.deepEqual(names, [...MEMORY_TOOLS.map((name) => `left_${name}`), ...MEMORY_TOOLS.map((name) => `right_${name}`)]);

    // State is per server: an entity created on the left is not on the right.
    const ada = { name: 'Ada', entityType: 'person', observations: ['wrote the first program'] };
    const created = await proxy.call(3, 'tools/call', { name: 'left_create_entities', arguments: { entities: [ada] } });
    assert.deepEqual(created.result?.structuredContent, { entities: [ada] }, JSON.stringify(created));
    const left = (await proxy.call(4, 'tools/call', { name: 'left_read_graph', arguments: {} })).result.structuredContent;
    const right = (await proxy.call(5, 'tools/call', { name: 'right_read_graph', arguments: {} })).result.structuredContent;
    assert.deepEqual([left, right], [{ entities: [ada], relations: [] }, { entities: [], relations: [] }]);

    const uris = ((await proxy.call(6, 'resources/list')).result.resources as Array<{ uri: string }>).map((resource) => resource.uri);
    assert.deepEqual(uris, ['left+memory://knowledge-graph', 'right+memory://knowledge-graph']);

    const bare = await proxy.call(7, 'resources/read', { uri: 'memory://knowledge-graph' });
    assert.equal(bare.error?.code, -32602, JSON.stringify(bare));
    assert.match(bare.error!.message + JSON.stringify(bare.error?.data ?? ''), /left and right/);
    for (const [id, service, graph] of [[8, 'left', { entities: [ada], relations: [] }], [9, 'right', { entities: [], relations: [] }]] as const) {
      const marked = await proxy.call(id, 'resources/read', { uri: `${service}+memory://knowledge-graph` });
      const contents = marked.result?.contents as Array<{ uri: string; mimeType: string; text: string }> | undefined;
      assert.deepEqual(contents?.map(({ uri, mimeType }) => ({ uri, mimeType })), [{ uri: 'memory://knowledge-graph', mimeType: 'application/json' }], JSON.stringify(marked));
      assert.deepEqual(JSON.parse(contents![0]!.text), graph, `${service}+memory://knowledge-graph is ${service}'s graph`);
    }
    await stop(proxy);
  });

  test('two paging servers: their shared URIs are marked on every page, and a marked one reaches the service it names', async () => {
    const proxy = await startGateway([process.execPath, PAGING_FIXTURE], () => '');
    const first = (await proxy.call(2, 'resources/list')).result;
    const uris = (first.resources as Array<{ uri: string }>).map((resource) => resource.uri);
    assert.deepEqual(uris.slice(0, 2), ['left+page://note/1', 'left+page://note/2']);
    assert.ok(uris.includes('right+page://note/1'), uris.join(', '));
    assert.equal(uris.length, 20, 'ten from each');
    const second = (await proxy.call(3, 'resources/list', { cursor: first.nextCursor })).result;
    assert.ok((second.resources as Array<{ uri: string }>).some((resource) => resource.uri === 'right+page://note/15'), 'the second page marks its shared URIs too');

    const bare = await proxy.call(4, 'resources/read', { uri: 'page://note/2' });
    assert.equal(bare.error?.code, -32602, JSON.stringify(bare));
    const marked = await proxy.call(5, 'resources/read', { uri: 'right+page://note/2' });
    assert.deepEqual(marked.result?.contents, [{ uri: 'page://note/2', mimeType: 'text/plain', text: 'note number 2' }], JSON.stringify(marked));
    await stop(proxy);
  });
});
