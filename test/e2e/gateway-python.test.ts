// The gateway end to end with the Python SDK client (pip package `mcp`): it starts the built proxy
// over three real servers and a paging fixture (test/fixtures/gateway-three-servers.ts) and lists,
// calls (server-memory's tools too), pages, reads, gets a prompt, receives progress, answers a
// sampling request and cancels
// (test/fixtures/gateway-python-client.py prints what it saw; this test judges it).
// Needs a virtual environment with `mcp`: GATEWAY_PYTHON, else /tmp/pyvenv/bin/python
// (`python3 -m venv /tmp/pyvenv && /tmp/pyvenv/bin/pip install mcp`); skipped, saying so, without one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from '../helpers/paths.js';
import type { LogRecord } from '../helpers/proxy-process.js';
import { cleanEnv, gatewayArgs, threeServers } from '../fixtures/gateway-three-servers.js';

const PYTHON = process.env['GATEWAY_PYTHON'] ?? '/tmp/pyvenv/bin/python';
const CLIENT = join(ROOT, 'test', 'fixtures', 'gateway-python-client.py');

/** Why the test cannot run here, or undefined when it can. */
function missingPython(): string | undefined {
  if (!existsSync(PYTHON)) return `no Python at ${PYTHON} (set GATEWAY_PYTHON, or: python3 -m venv /tmp/pyvenv && /tmp/pyvenv/bin/pip install mcp)`;
  const probe = spawnSync(PYTHON, ['-c', 'import mcp.client.stdio'], { encoding: 'utf8', timeout: 20_000 });
  return probe.status === 0 ? undefined : `${PYTHON} cannot import mcp (pip install mcp): ${probe.stderr.trim().split('\n').at(-1) ?? ''}`;
}

const skip = missingPython();

describe('the gateway over three real servers, with the Python SDK client', () => {
  test('list, call, page, read, prompt, progress, sampling, cancel', { skip }, () => {
    const servers = threeServers({ paging: true });
    // Debug: the gateway's record of the cancellation it forwarded.
    const run = spawnSync(PYTHON, [CLIENT, process.execPath, ...gatewayArgs(servers.serversFile, 'debug')], { cwd: ROOT, env: cleanEnv(), encoding: 'utf8', timeout: 30_000 });
    const lastLine = run.stdout.trim().split('\n').at(-1) ?? '';
    let seen: Record<string, any>;
    try {
      seen = JSON.parse(lastLine) as Record<string, any>;
    } catch {
      assert.fail(`the Python client printed no result (status ${run.status}):\n${run.stdout}\n${run.stderr.slice(-4000)}`);
    }
    assert.equal(seen['error'], undefined, `the Python client failed:\n${seen['error']}\nproxy stderr:\n${run.stderr.slice(-4000)}`);
    assert.equal(run.status, 0);

    assert.equal(seen['serverInfo'], 'mcp-sidecar-gateway');
    assert.match(seen['instructions'], /^\[everything\] /);
    const tools = seen['tools'] as string[];
    for (const name of ['everything.echo', 'fs.read_text_file', 'memory.create_entities', 'memory.read_graph', 'memory.search_nodes']) assert.ok(tools.includes(name), `${name} in ${tools.join(', ')}`);
    assert.ok(tools.every((name) => /^(everything|fs|memory)\./.test(name)), 'every tool is namespaced');
    assert.deepEqual(seen['echo'], ['Echo: héllo 漢']);
    const ada = { name: 'Ada', entityType: 'person', observations: ['wrote the first program 漢'] };
    assert.deepEqual(seen['created'], { entities: [ada] });
    assert.deepEqual(seen['found'], { entities: [ada], relations: [] });

    const uris = seen['resourceUris'] as string[];
    assert.ok(seen['resourcePages'] >= 3, `${seen['resourcePages']} pages: the gateway's cursor pages the paging server's resources`);
    assert.deepEqual(uris.filter((uri) => uri.startsWith('page://')), Array.from({ length: 25 }, (_, i) => `page://note/${i + 1}`));
    assert.ok(uris.includes('memory://knowledge-graph'), 'server-memory\'s graph is listed');
    assert.ok(uris.some((uri) => uri.startsWith('demo://resource/static/document/')), 'server-everything\'s resources are on the first page');
    assert.deepEqual(seen['read'], ['note number 3']);
    assert.deepEqual(seen['graph'], [{ entities: [ada], relations: [] }]);
    assert.deepEqual(seen['prompt'], ['What\'s weather in Zürich?']);

    assert.deepEqual(seen['longRunning'], ['Long running operation completed. Duration: 0.3 seconds, Steps: 3.']);
    assert.deepEqual(seen['progress'], [[1, 3], [2, 3], [3, 3]]);
    const sampled = (seen['sampling'] as string[])[0] ?? '';
    assert.ok(sampled.includes('gateway-python') && sampled.includes('sampled: Resource trigger-sampling-request context: dîtes'), sampled);

    const logs = run.stderr.split('\n').flatMap((line): LogRecord[] => (line.startsWith('{') ? [JSON.parse(line) as LogRecord] : []));
    assert.ok(logs.some((r) => r.msg === 'a call was cancelled by the client' && r['service'] === 'everything'), 'the Python client\'s cancellation was forwarded to server-everything by the gateway');
    assert.deepEqual(seen['afterCancel'], { entities: [ada], relations: [] }, 'the session goes on after the cancellation');
    assert.equal(seen['unknown']?.code, -32602, JSON.stringify(seen['unknown']));
  });
});
