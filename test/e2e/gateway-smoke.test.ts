// The gateway end to end through dist/cli.js: two demo servers behind one proxy (--servers).
// The client sees one server with both namespaces' tools, a call reaches the service its name
// names, and a service that dies past its restarts fails only its own namespace.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ALLOW_REPO_SCRIPTS, CLI, ROOT, commandLine } from '../helpers/paths.js';
import { cleanEnv, ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const DEMO_SERVER = commandLine([process.execPath, join(ROOT, 'demo', 'mcp-middleware-platform', 'simple-mcp-server.js')]);

function startGateway(): ProxyProcess {
  const file = join(tempDir('gateway-smoke'), 'servers.yaml');
  writeFileSync(file, [
    'servers:',
    `  - { name: alpha, command: ${JSON.stringify(DEMO_SERVER)} }`,
    `  - { name: beta, command: ${JSON.stringify(DEMO_SERVER)}, restart: { maxRestarts: 0 } }`,
  ].join('\n'));
  const env = cleanEnv();
  const child = spawn(process.execPath, [CLI, '--servers', file, '--stdio', '--allow', ALLOW_REPO_SCRIPTS, '--log-level', 'debug'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const proxy = new ProxyProcess(child);
  after(() => proxy.dispose());
  return proxy;
}


describe('the gateway end to end', () => {
  it('should merge two servers\' tools by namespace, route calls, and keep one namespace up when the other is down', async () => {
    const proxy = startGateway();
    const init = await proxy.call(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'smoke', version: '1' } });
    assert.ok(init.result?.capabilities?.tools !== undefined, 'the merged capabilities declare tools');
    proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const names = ((await proxy.call(2, 'tools/list')).result.tools as Array<{ name: string }>).map((tool) => tool.name);
    for (const name of ['alpha.echo', 'beta.echo', 'alpha.read_file', 'beta.read_file']) assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
    assert.equal((await proxy.call(3, 'tools/call', { name: 'beta.echo', arguments: { text: 'b' } })).result.content[0].text, 'B');

    const beta = await proxy.waitForLog((record) => record.service === 'beta' && record.msg === 'started the MCP server');
    process.kill(beta.pid as number, 'SIGKILL');
    await proxy.waitForLog((record) => record.service === 'beta' && String(record.msg).startsWith('a service is down'), 10_000);

    assert.equal((await proxy.call(4, 'tools/call', { name: 'alpha.echo', arguments: { text: 'a' } })).result.content[0].text, 'A', 'alpha goes on');
    const down = await proxy.call(5, 'tools/call', { name: 'beta.echo', arguments: { text: 'b' } });
    assert.ok(down.error !== undefined || down.result?.isError === true, `beta answers an error: ${JSON.stringify(down)}`);

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    proxy.assertStdoutClean();
  });
});
