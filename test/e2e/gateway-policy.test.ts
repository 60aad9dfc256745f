// Policy per service end to end through dist/cli.js: two demo servers behind one gateway, and a
// rule that applies to one namespace only (`when: { server: [...] }`), another that exempts one
// (`unless`), and CEL's `server` reading the service a call goes to.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ALLOW_REPO_SCRIPTS, CLI, ROOT, commandLine } from '../helpers/paths.js';
import { cleanEnv, ProxyProcess, type Frame } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const DEMO_SERVER = commandLine([process.execPath, join(ROOT, 'demo', 'mcp-middleware-platform', 'simple-mcp-server.js')]);

function startGateway(): ProxyProcess {
  const dir = tempDir('gateway-policy');
  const servers = join(dir, 'servers.yaml');
  writeFileSync(servers, [
    'servers:',
    `  - { name: alpha, command: ${JSON.stringify(DEMO_SERVER)} }`,
    `  - { name: beta, command: ${JSON.stringify(DEMO_SERVER)} }`,
  ].join('\n'));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, `apiVersion: mcp-sidecar/v1
kind: Policy
metadata: { name: per-service, revision: 1 }
rules:
  - id: beta-echo-only
    when: { server: [beta] }
    tools: { allow: ["beta.echo"] }
  - id: no-alpha-reads-by-cel
    when: { cel: "server == 'alpha' && tool == 'alpha.read_file'" }
    tools: { deny: ["*"] }
`);
  const env = cleanEnv();
  const child = spawn(process.execPath, [CLI, '--servers', servers, '--policy', policy, '--stdio', '--allow', ALLOW_REPO_SCRIPTS], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const proxy = new ProxyProcess(child);
  after(() => proxy.dispose());
  return proxy;
}


const denied = (answer: Frame): boolean => answer.error !== undefined || answer.result?.isError === true;

describe('policy per service in gateway mode', () => {
  it('should apply a `server:` rule to its namespace only, and give CEL the service a call goes to', async () => {
    const proxy = startGateway();
    await proxy.call(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'policy', version: '1' } });
    proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await proxy.call(2, 'tools/list');

    assert.equal((await proxy.call(3, 'tools/call', { name: 'beta.echo', arguments: { text: 'b' } })).result.content[0].text, 'B');
    const betaRead = await proxy.call(4, 'tools/call', { name: 'beta.read_file', arguments: { path: 'README.md' } });
    assert.ok(denied(betaRead), `beta.read_file is outside beta's allow list: ${JSON.stringify(betaRead)}`);
    assert.equal((await proxy.call(5, 'tools/call', { name: 'alpha.echo', arguments: { text: 'a' } })).result.content[0].text, 'A', 'beta\'s rule does not reach alpha');
    const alphaRead = await proxy.call(6, 'tools/call', { name: 'alpha.read_file', arguments: { path: 'README.md' } });
    assert.ok(denied(alphaRead), `CEL server == 'alpha' denies it: ${JSON.stringify(alphaRead)}`);

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    proxy.assertStdoutClean();
  });
});
