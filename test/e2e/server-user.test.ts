// --server-user through the built CLI, for real: the server runs as `nobody`, without the
// proxy's supplementary groups, cannot read the proxy's /proc/<pid>/environ nor its signing key,
// cannot signal it, and calls still pass end to end. And the refusals: an unknown user, a key
// others can read, a proxy that may not switch users. Needs root (CI and this sandbox run as
// root); skipped elsewhere, with the reason.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CLI, ROOT, commandLine } from '../helpers/paths.js';
import { ProxyProcess } from '../helpers/proxy-process.js';

const NOBODY = readPasswdEntry('nobody');

function readPasswdEntry(name: string): { uid: number; gid: number } | undefined {
  try {
    const fields = readFileSync('/etc/passwd', 'utf8').split('\n').map((line) => line.split(':')).find((f) => f[0] === name);
    return fields === undefined ? undefined : { uid: Number(fields[2]), gid: Number(fields[3]) };
  } catch {
    return undefined;
  }
}

function skipReason(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux (/proc)';
  if (process.geteuid?.() !== 0) return 'needs root: the proxy must be allowed to start the server as another user';
  const capEff = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  if (capEff === undefined || (BigInt(`0x${capEff}`) & 0xe0n) !== 0xe0n) return 'root here lacks CAP_SETUID, CAP_SETGID or CAP_KILL';
  if (NOBODY === undefined) return 'there is no user "nobody" in /etc/passwd';
  return undefined;
}
const skip = skipReason() ?? false;

// Everything the server as nobody needs is in a folder it may enter (mode 0755); /tmp itself is 1777.
const dir = mkdtempSync(join(tmpdir(), 'server-user-'));
chmodSync(dir, 0o755);
after(() => rmSync(dir, { recursive: true, force: true }));
const reportsDir = join(dir, 'reports');
mkdirSync(reportsDir, { mode: 0o700 });
const key = join(dir, 'report-key.pem');
const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
writeFileSync(key, pem, { mode: 0o400 });
const readableKey = join(dir, 'readable-key.pem');
writeFileSync(readableKey, pem, { mode: 0o644 });
chmodSync(readableKey, 0o644); // whatever the umask

// A raw JSON-RPC server: `probe` says who it runs as and what of the proxy's it can reach.
const server = join(dir, 'server.js');
writeFileSync(server, `const fs = require('node:fs');
const attempt = (what) => { try { what(); return 'ok'; } catch (error) { return error.code; } };
const answer = (id, result) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id, result }) + '\\n');
let buffer = '';
process.stdin.setEncoding('utf8').on('data', (chunk) => {
  buffer += chunk;
  for (let i; (i = buffer.indexOf('\\n')) >= 0; buffer = buffer.slice(i + 1)) {
    const message = JSON.parse(buffer.slice(0, i));
    if (message.method === 'initialize') answer(message.id, { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'probe', version: '1' } });
    else if (message.method === 'tools/call') answer(message.id, {
      uid: process.getuid(), gid: process.getgid(), ppid: process.ppid,
      env: { HOME: process.env.HOME, USER: process.env.USER, LOGNAME: process.env.LOGNAME },
      proxyEnviron: attempt(() => fs.readFileSync('/proc/' + process.ppid + '/environ')),
      proxyCmdline: attempt(() => fs.readFileSync('/proc/' + process.ppid + '/cmdline')),
      signingKey: attempt(() => fs.readFileSync(process.argv[2])),
      signalProxy: attempt(() => process.kill(process.ppid, 0)),
    });
  }
});
`, { mode: 0o644 });

const serverArgs = (args: readonly string[]): string[] => [
  CLI, '--proxy', commandLine([process.execPath, server, key]), '--allow', commandLine([process.execPath, `${dir}/`]), '--stdio', '--log-level', 'debug', ...args,
];
const env = { PATH: process.env.PATH, HOME: '/root', USER: 'root', LOGNAME: 'root' };
const statusField = (pid: number, field: string): string => new RegExp(`^${field}:\\t(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim() ?? '';

describe('--server-user', { skip }, () => {
  test('the server runs as nobody, without root\'s groups, and cannot read or signal what is the proxy\'s; calls pass end to end', async (t) => {
    // The proxy gets supplementary groups first (adm, sudo), to show that the server keeps none of them.
    const child = spawn(process.execPath, ['--import', 'data:text/javascript,process.setgroups([4,27])', ...serverArgs([
      '--server-user', 'nobody', '--report-file', join(reportsDir, 'reports.ndjson'), '--report-signing-key', key,
    ])], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const proxy = new ProxyProcess(child);
    t.after(() => proxy.dispose());

    proxy.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    assert.equal((await proxy.nextFrame()).json.result?.serverInfo?.name, 'probe');
    proxy.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'probe', arguments: {} } });
    const probe = (await proxy.nextFrame()).json.result;

    const serverPid = await proxy.serverPid();
    const started = proxy.logs().find((r) => r.msg === 'started the MCP server');
    assert.deepEqual([started?.uid, started?.gid], [NOBODY!.uid, NOBODY!.gid]);
    // From outside: real, effective, saved and filesystem ids are all nobody's; no supplementary groups.
    assert.equal(statusField(serverPid, 'Uid'), `${NOBODY!.uid}\t${NOBODY!.uid}\t${NOBODY!.uid}\t${NOBODY!.uid}`);
    assert.equal(statusField(serverPid, 'Gid'), `${NOBODY!.gid}\t${NOBODY!.gid}\t${NOBODY!.gid}\t${NOBODY!.gid}`);
    assert.equal(statusField(proxy.pid, 'Groups'), '4 27', 'the proxy has supplementary groups');
    assert.equal(statusField(serverPid, 'Groups'), '', 'libuv called setgroups(0, NULL)');
    assert.equal(statusField(serverPid, 'CapEff'), '0000000000000000');

    assert.deepEqual(probe, {
      uid: NOBODY!.uid, gid: NOBODY!.gid, ppid: proxy.pid,
      env: { HOME: '/nonexistent', USER: 'nobody', LOGNAME: 'nobody' }, // nobody's, not the proxy's root ones
      proxyEnviron: 'EACCES', // the kernel's ptrace access check: another uid may not read it
      proxyCmdline: 'ok', // world-readable on Linux: never put a secret in the proxy's arguments
      signingKey: 'EACCES', // mode 0400, the proxy's
      signalProxy: 'EPERM',
    });

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    const lines = readFileSync(join(reportsDir, 'reports.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const lifecycle = lines.filter((r) => r.kind === 'lifecycle');
    assert.deepEqual(lifecycle.map((r) => r.event), ['spawn', 'exit'], 'reports are written as ever');
    // Signatures live on checkpoints, each covering every line before it: the file ends with a signed closing one.
    const last = lines[lines.length - 1];
    assert.deepEqual([last.kind, last.reason], ['checkpoint', 'close']);
    assert.equal(typeof last.signature?.value, 'string', 'signed with the key the server could not read');
  });

  const run = (args: readonly string[], options: { uid?: number; gid?: number } = {}) =>
    spawnSync(process.execPath, serverArgs(args), { cwd: ROOT, encoding: 'utf8', input: '', env, timeout: 15_000, ...options });

  test('an unknown user name is refused at start: exit 78, nothing started', () => {
    const result = run(['--server-user', 'no-such-mcp-user']);
    assert.equal(result.status, 78);
    assert.match(result.stderr, /mcp-sidecar: The server command is not allowed to start: --server-user no-such-mcp-user: there is no user named "no-such-mcp-user" in \/etc\/passwd\n {2}hint: names are read from \/etc\/passwd only/);
    assert.doesNotMatch(result.stderr, /started the MCP server/);
  });

  test('a signing key others can read is refused, naming the file and the fix', () => {
    const result = run(['--server-user', 'nobody', '--report-file', join(reportsDir, 'refused.ndjson'), '--report-signing-key', readableKey]);
    assert.equal(result.status, 78);
    assert.ok(result.stderr.includes(`--report-signing-key ${readableKey} can be read by users other than the proxy's (mode 0644): the server runs as nobody (uid ${NOBODY!.uid}) and must not read it`), result.stderr);
    assert.ok(result.stderr.includes(`hint: chmod 0400 ${readableKey}`), result.stderr);
    assert.doesNotMatch(result.stderr, /started the MCP server/);
    const refused = readFileSync(join(reportsDir, 'refused.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(refused.filter((r) => r.kind === 'lifecycle').map((r) => [r.event, r.detail.reason]), [['refused', 'server_user']]);
    assert.deepEqual(refused.map((r) => r.kind === 'checkpoint' ? `checkpoint:${r.reason}` : r.kind), ['lifecycle', 'checkpoint:close'], 'the refusal, then the closing checkpoint');
  });

  test('a proxy that may not switch users refuses, and never runs the server as itself', () => {
    // The proxy itself as nobody: no CAP_SETUID, CAP_SETGID, CAP_KILL.
    const result = run(['--server-user', 'daemon'], { uid: NOBODY!.uid, gid: NOBODY!.gid });
    assert.equal(result.status, 78, result.stderr);
    assert.match(result.stderr, new RegExp(`--server-user daemon \\(uid \\d+\\): the proxy \\(uid ${NOBODY!.uid}\\) may not start and stop a process as another user: its effective capabilities lack CAP_SETUID, CAP_SETGID, CAP_KILL`));
    assert.match(result.stderr, /hint: run the proxy as root, or with the capabilities SETUID, SETGID and KILL/);
    assert.doesNotMatch(result.stderr, /started the MCP server/);
  });
});
