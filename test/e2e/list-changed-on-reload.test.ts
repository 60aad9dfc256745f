// The proxy's own list_changed, end to end through dist/cli.js: a client that listed tools is
// told to list again when a reload (SIGHUP) changes what the policy hides; a rejected reload
// tells it nothing, and it is never told of a list it did not ask for.
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from '../helpers/paths.js';
import { spawnProxy } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const DEMO = [process.execPath, join(ROOT, 'demo/mcp-middleware-platform/simple-mcp-server.js')];

const policyHiding = (revision: number, hidden: string): string => [
  'apiVersion: mcp-sidecar/v1',
  'kind: Policy',
  `metadata: { name: lists, revision: ${revision} }`,
  'rules:',
  '  - id: hide-some',
  `    hide: { tools: ["${hidden}"] }`,
  '',
].join('\n');

describe('list_changed when a reload changes what the client was shown', () => {
  test('SIGHUP with a new hide rule: one tools/list_changed, then the new list; a rejected reload: nothing', async (t) => {
    const file = join(tempDir('list-changed-e2e'), 'live.yaml');
    writeFileSync(file, policyHiding(1, 'delete_*'));
    const proxy = spawnProxy(DEMO, { args: ['--policy', file], logLevel: 'info' });
    t.after(() => proxy.dispose());
    let nextId = 1;
    const listTools = async (): Promise<string[]> => {
      const id = nextId++;
      proxy.send({ jsonrpc: '2.0', id, method: 'tools/list' });
      const { json } = await proxy.nextFrame(5000);
      assert.equal(json.id, id, `the answer to tools/list, not ${JSON.stringify(json)}`);
      return (json.result.tools as Array<{ name: string }>).map((tool) => tool.name).sort();
    };

    assert.deepEqual(await listTools(), ['echo', 'read_file']);

    // A rename-save, then SIGHUP: whichever reload sees it first puts revision 2 in force, the other finds the same digest.
    writeFileSync(`${file}.tmp`, policyHiding(2, 'echo'));
    renameSync(`${file}.tmp`, file);
    proxy.child.kill('SIGHUP');
    const { json: notification } = await proxy.nextFrame(5000);
    assert.deepEqual(notification, { jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    await proxy.waitForLog((r) => r.msg === 'policy reloaded' && r.revision === '2', 5000);
    assert.deepEqual(await listTools(), ['delete_file', 'read_file'], 'the client lists again and sees what revision 2 shows');

    writeFileSync(`${file}.tmp`, 'this: is: not: yaml: [');
    renameSync(`${file}.tmp`, file);
    proxy.child.kill('SIGHUP');
    await proxy.waitForLog((r) => r.msg === 'policy reload rejected: the policy in force stays' && r.why === 'received SIGHUP', 5000);
    assert.deepEqual(await listTools(), ['delete_file', 'read_file'], 'the next frame is the answer: no list_changed for a rejected reload');

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    const told = proxy.logs().filter((r) => r.msg === 'the policy changed: the client is told to list again');
    assert.deepEqual(told.map((r) => r.notifications), [['notifications/tools/list_changed']], 'told once, of tools only (it listed nothing else)');
  });
});
