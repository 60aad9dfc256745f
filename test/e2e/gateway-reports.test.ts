// Reports and pins through the gateway, end to end through dist/cli.js: two demo servers behind one
// gateway; each invocation report names its service (`server`) and the file verifies; a --proxy
// report carries no such field; `pin --servers` writes a lock of namespaced names, and
// `--tool-pins` with that lock holds through the gateway (a --proxy lock's bare names do not).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ALLOW_REPO_SCRIPTS, CLI, ROOT, commandLine } from '../helpers/paths.js';
import { cleanEnv, ProxyProcess, type Frame } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const DEMO_SERVER = commandLine([process.execPath, join(ROOT, 'demo', 'mcp-middleware-platform', 'simple-mcp-server.js')]);

function serversFile(dir: string): string {
  const file = join(dir, 'servers.yaml');
  writeFileSync(file, ['servers:', `  - { name: alpha, command: ${JSON.stringify(DEMO_SERVER)} }`, `  - { name: beta, command: ${JSON.stringify(DEMO_SERVER)} }`, ''].join('\n'));
  return file;
}

function startProxy(args: readonly string[]): ProxyProcess {
  const child = spawn(process.execPath, [CLI, ...args, '--stdio', '--allow', ALLOW_REPO_SCRIPTS], { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  const proxy = new ProxyProcess(child);
  after(() => proxy.dispose());
  return proxy;
}


async function initialize(proxy: ProxyProcess): Promise<void> {
  await proxy.call(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'gateway-reports', version: '1' } });
  proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
}

async function stop(proxy: ProxyProcess): Promise<void> {
  proxy.endInput();
  assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
  proxy.assertStdoutClean();
}

type ReportLine = Record<string, unknown> & { kind: string; method?: string; requestId?: string; server?: string; pin?: string; outcome?: string; target?: { name: string } };
const reportLines = (file: string): ReportLine[] => readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as ReportLine);
const invocationsOf = (file: string) => reportLines(file).filter((line) => line.kind === 'invocation');
const verify = (file: string) => spawnSync(process.execPath, [CLI, 'report', 'verify', file], { encoding: 'utf8' });
const denied = (answer: Frame): boolean => answer.error !== undefined || answer.result?.isError === true;

describe('reports through the gateway', () => {
  it('should name each invocation\'s service in its report, and the file should verify', async () => {
    const dir = tempDir('gateway-reports');
    const reports = join(dir, 'reports.ndjson');
    const proxy = startProxy(['--servers', serversFile(dir), '--report-file', reports]);
    await initialize(proxy);
    await proxy.call(2, 'tools/list');
    assert.equal((await proxy.call(3, 'tools/call', { name: 'alpha.echo', arguments: { text: 'a' } })).result.content[0].text, 'A');
    assert.equal((await proxy.call(4, 'tools/call', { name: 'beta.echo', arguments: { text: 'b' } })).result.content[0].text, 'B');
    assert.ok((await proxy.call(5, 'tools/call', { name: 'gamma.echo', arguments: { text: 'c' } })).error !== undefined, 'no such namespace');
    await stop(proxy);

    const byId = new Map(invocationsOf(reports).map((line) => [line.requestId, line]));
    assert.deepEqual(['1', '2', '3', '4', '5'].map((id) => [id, byId.get(id)?.method, byId.get(id)?.target?.name, byId.get(id)?.server]), [
      ['1', 'initialize', undefined, ''], ['2', 'tools/list', undefined, ''],
      ['3', 'tools/call', 'alpha.echo', 'alpha'], ['4', 'tools/call', 'beta.echo', 'beta'], ['5', 'tools/call', 'gamma.echo', ''],
    ]);
    // Each service's governor events name it: one spawn per service.
    const spawns = reportLines(reports).filter((line) => line.kind === 'lifecycle' && line['event'] === 'spawn').map((line) => line.server).sort();
    assert.deepEqual(spawns, ['alpha', 'beta']);
    const result = verify(reports);
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it('should carry in a forwarded call\'s report the id its service received (correlationId), and log both ids', async () => {
    const dir = tempDir('gateway-correlation');
    // A server that answers each call with the id it received, as JSON text.
    const script = join(dir, 'echo-id-server.mjs');
    writeFileSync(script, [
      "import { createInterface } from 'node:readline';",
      'const out = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\\n`);',
      'createInterface({ input: process.stdin }).on("line", (line) => {',
      '  const { id, method, params } = JSON.parse(line);',
      '  if (id === undefined) return;',
      '  if (method === "initialize") return out({ id, result: { protocolVersion: params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "echo-id", version: "1" } } });',
      '  if (method === "tools/list") return out({ id, result: { tools: [{ name: "whoami", inputSchema: { type: "object" } }] } });',
      '  if (method === "tools/call") return out({ id, result: { content: [{ type: "text", text: JSON.stringify(id) }] } });',
      '  out({ id, error: { code: -32601, message: method } });',
      '});',
      '',
    ].join('\n'));
    const server = commandLine([process.execPath, script]);
    const file = join(dir, 'servers.yaml');
    writeFileSync(file, ['servers:', `  - { name: alpha, command: ${JSON.stringify(server)} }`, `  - { name: beta, command: ${JSON.stringify(server)} }`, ''].join('\n'));
    const reports = join(dir, 'reports.ndjson');
    const child = spawn(process.execPath, [CLI, '--servers', file, '--report-file', reports, '--log-level', 'debug', '--stdio', '--allow', commandLine([process.execPath, `${dir}/`])], { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    const proxy = new ProxyProcess(child);
    after(() => proxy.dispose());
    await initialize(proxy);
    await proxy.call(2, 'tools/list');
    const seenByAlpha = (await proxy.call(3, 'tools/call', { name: 'alpha.whoami', arguments: {} })).result.content[0].text as string;
    proxy.send({ jsonrpc: '2.0', id: 'x', method: 'tools/call', params: { name: 'beta.whoami', arguments: {} } });
    const seenByBeta = (await proxy.nextFrame(10_000)).json.result.content[0].text as string;
    await stop(proxy);

    assert.match(seenByAlpha, /^\d+$/, 'the service received a gateway id, a number');
    assert.match(seenByBeta, /^\d+$/, 'a string id too');
    assert.notEqual(seenByAlpha, seenByBeta);
    const byId = new Map(invocationsOf(reports).map((line) => [line.requestId, line]));
    assert.deepEqual([byId.get('3')?.['correlationId'], byId.get('"x"')?.['correlationId']], [seenByAlpha, seenByBeta]);
    // The gateway's own and fanned-out requests went to no one service under one id.
    assert.deepEqual([byId.get('1')?.['correlationId'], byId.get('2')?.['correlationId']], [undefined, undefined]);
    // The logs link the client's id, the gateway's and the service.
    const forwarded = proxy.logs().filter((record) => record['msg'] === 'a call was forwarded to its service');
    assert.deepEqual(forwarded.map((record) => [record['clientId'], String(record['gatewayId']), record['service']]), [['3', seenByAlpha, 'alpha'], ['"x"', seenByBeta, 'beta']]);
    const result = verify(reports);
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it('should write --proxy reports without a server field', async () => {
    const dir = tempDir('proxy-reports');
    const reports = join(dir, 'reports.ndjson');
    const proxy = startProxy(['--proxy', DEMO_SERVER, '--report-file', reports]);
    await initialize(proxy);
    assert.equal((await proxy.call(2, 'tools/call', { name: 'echo', arguments: { text: 'a' } })).result.content[0].text, 'A');
    await stop(proxy);
    const lines = reportLines(reports);
    assert.ok(lines.some((line) => line.kind === 'invocation' && line.requestId === '2'));
    assert.ok(lines.every((line) => !('server' in line) && !('correlationId' in line)), 'no line carries `server` or `correlationId`');
    assert.equal(verify(reports).status, 0);
  });
});

describe('pins through the gateway', () => {
  const pin = (args: readonly string[]) => spawnSync(process.execPath, [CLI, 'pin', ...args, '--allow', ALLOW_REPO_SCRIPTS, '--out', '-'], { cwd: ROOT, env: cleanEnv(), encoding: 'utf8', timeout: 30_000 });
  const keysOf = (lock: string): string[] => lock.split('\n').slice(1).filter((line) => line.startsWith('{')).map((line) => (JSON.parse(line.replace(/,$/, '')) as { key: string }).key);

  it('should pin namespaced names with `pin --servers`, and hold calls to that lock through the gateway', async () => {
    const dir = tempDir('gateway-pins');
    const servers = serversFile(dir);
    const pinned = pin(['--servers', servers]);
    assert.equal(pinned.status, 0, pinned.stderr);
    assert.deepEqual(keysOf(pinned.stdout), ['alpha.delete_file', 'alpha.echo', 'alpha.read_file', 'beta.delete_file', 'beta.echo', 'beta.read_file']);
    const lockFile = join(dir, 'tools.lock.json');
    writeFileSync(lockFile, pinned.stdout);
    const alphaEchoPin = (pinned.stdout.split('\n').map((line) => line.replace(/,$/, '')).filter((line) => line.startsWith('{"definition"')).map((line) => JSON.parse(line) as { key: string; pin: string })).find((d) => d.key === 'alpha.echo')!.pin;

    const reports = join(dir, 'reports.ndjson');
    const proxy = startProxy(['--servers', servers, '--tool-pins', lockFile, '--report-file', reports]);
    await initialize(proxy);
    const listed = (await proxy.call(2, 'tools/list')).result.tools.map((tool: { name: string }) => tool.name).sort();
    assert.deepEqual(listed, ['alpha.delete_file', 'alpha.echo', 'alpha.read_file', 'beta.delete_file', 'beta.echo', 'beta.read_file']);
    assert.equal((await proxy.call(3, 'tools/call', { name: 'alpha.echo', arguments: { text: 'a' } })).result.content[0].text, 'A');
    await stop(proxy);
    const report = invocationsOf(reports).find((line) => line.requestId === '3')!;
    assert.deepEqual([report.server, report.outcome, report.pin], ['alpha', 'forwarded', alphaEchoPin]);
    assert.equal(verify(reports).status, 0);
  });

  it('should not take a --proxy lock\'s bare names for a gateway\'s namespaced ones', async () => {
    const dir = tempDir('gateway-bare-pins');
    const pinned = pin(['--proxy', DEMO_SERVER]);
    assert.equal(pinned.status, 0, pinned.stderr);
    assert.ok(keysOf(pinned.stdout).includes('echo'));
    const lockFile = join(dir, 'tools.lock.json');
    writeFileSync(lockFile, pinned.stdout);
    const proxy = startProxy(['--servers', serversFile(dir), '--tool-pins', lockFile]);
    await initialize(proxy);
    assert.deepEqual((await proxy.call(2, 'tools/list')).result.tools, [], 'every namespaced tool is unknown to the lock: removed');
    assert.ok(denied(await proxy.call(3, 'tools/call', { name: 'alpha.echo', arguments: { text: 'a' } })));
    await stop(proxy);
  });
});
