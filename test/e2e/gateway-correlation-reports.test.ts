// Correlation ids of fanned-out requests, end to end through dist/cli.js: two services behind one
// gateway, each a server that writes into its answers the id it received; a tools/list's report
// names both services' ids (`correlationIds`), each the one that service received, and so do the
// gateway's debug lines; a call the policy denies (or the gateway cannot route) carries neither
// field, as no service saw it; `report verify` accepts the file.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, ROOT, commandLine } from '../helpers/paths.js';
import { cleanEnv, ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

/** A server that answers with the id it received, as JSON text: in its one tool's description (tools/list) and in a call's text. */
const ECHO_ID_SERVER = [
  "import { createInterface } from 'node:readline';",
  'const out = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\\n`);',
  'createInterface({ input: process.stdin }).on("line", (line) => {',
  '  const { id, method, params } = JSON.parse(line);',
  '  if (id === undefined) return;',
  '  if (method === "initialize") return out({ id, result: { protocolVersion: params.protocolVersion, capabilities: { tools: {}, logging: {} }, serverInfo: { name: "echo-id", version: "1" } } });',
  '  if (method === "tools/list") return out({ id, result: { tools: [{ name: "whoami", description: JSON.stringify(id), inputSchema: { type: "object" } }] } });',
  '  if (method === "tools/call") return out({ id, result: { content: [{ type: "text", text: JSON.stringify(id) }] } });',
  '  if (method === "logging/setLevel") return out({ id, result: {} });',
  '  out({ id, error: { code: -32601, message: method } });',
  '});',
  '',
].join('\n');

const POLICY = `apiVersion: mcp-sidecar/v1
kind: Policy
metadata: { name: correlation, revision: 1 }
rules:
  - id: no-beta-calls
    tools: { deny: ["beta.*"] }
`;

type ReportLine = Record<string, unknown> & { kind: string; method?: string; requestId?: string; outcome?: string; correlationId?: string; correlationIds?: Record<string, string> };


describe('correlation ids of fanned-out requests through the gateway', () => {
  it('should name in a fan-out\'s report each service\'s id as it received it, none on a denied call, and verify', async () => {
    const dir = tempDir('gateway-correlation-reports');
    const script = join(dir, 'echo-id-server.mjs');
    writeFileSync(script, ECHO_ID_SERVER);
    const server = commandLine([process.execPath, script]);
    const servers = join(dir, 'servers.yaml');
    writeFileSync(servers, ['servers:', `  - { name: alpha, command: ${JSON.stringify(server)} }`, `  - { name: beta, command: ${JSON.stringify(server)} }`, ''].join('\n'));
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, POLICY);
    const reports = join(dir, 'reports.ndjson');
    const env = cleanEnv();
    const child = spawn(process.execPath, [
      CLI, '--servers', servers, '--policy', policy, '--report-file', reports, '--log-level', 'debug', '--stdio', '--allow', commandLine([process.execPath, `${dir}/`]),
    ], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const proxy = new ProxyProcess(child);
    after(() => proxy.dispose());

    await proxy.call(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'correlation', version: '1' } });
    proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const tools = (await proxy.call(2, 'tools/list')).result.tools as Array<{ name: string; description: string }>;
    const receivedBy = Object.fromEntries(tools.map((tool) => [tool.name.split('.')[0]!, tool.description]));
    assert.deepEqual(Object.keys(receivedBy).sort(), ['alpha', 'beta']);
    assert.equal((await proxy.call(3, 'logging/setLevel', { level: 'info' })).result !== undefined, true);
    const alphaCall = (await proxy.call(4, 'tools/call', { name: 'alpha.whoami', arguments: {} })).result.content[0].text as string;
    const deniedCall = await proxy.call(5, 'tools/call', { name: 'beta.whoami', arguments: {} });
    assert.ok(deniedCall.error !== undefined || deniedCall.result?.isError === true, 'the policy denies beta\'s tools');
    assert.ok((await proxy.call(6, 'tools/call', { name: 'gamma.whoami', arguments: {} })).error !== undefined, 'no such namespace');
    const logs = proxy.logs();
    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    proxy.assertStdoutClean();

    const byId = new Map(readFileSync(reports, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as ReportLine)
      .filter((line) => line.kind === 'invocation').map((line) => [line.requestId, line]));
    // The list: each service's id, as that service wrote it back; no single id.
    assert.deepEqual(byId.get('2')?.correlationIds, receivedBy);
    assert.equal(byId.get('2')?.correlationId, undefined);
    for (const id of ['1', '3']) {
      const ids = byId.get(id)?.correlationIds;
      assert.deepEqual(Object.keys(ids ?? {}), ['alpha', 'beta'], `request ${id} was sent to both services`);
      assert.ok(Object.values(ids!).every((text) => /^\d+$/.test(text)), 'gateway ids, numbers');
      assert.notEqual(ids!['alpha'], ids!['beta']);
    }
    // The gateway's debug lines name the same ids, part by part.
    const parts = logs.filter((record) => record['msg'] === 'a fan-out part was sent to its service' && record['clientId'] === '2');
    assert.deepEqual(Object.fromEntries(parts.map((record) => [record['service'], String(record['gatewayId'])])), receivedBy);
    // A call to one service keeps its one id.
    assert.deepEqual([byId.get('4')?.correlationId, byId.get('4')?.correlationIds], [alphaCall, undefined]);
    // No service saw the denied call or the unrouted one: neither field.
    for (const id of ['5', '6']) {
      const line = byId.get(id)!;
      assert.ok(!('correlationId' in line) && !('correlationIds' in line), `request ${id}: ${JSON.stringify(line)}`);
    }
    assert.equal(byId.get('5')?.outcome, 'blocked');
    const verified = spawnSync(process.execPath, [CLI, 'report', 'verify', reports], { encoding: 'utf8' });
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  });
});
