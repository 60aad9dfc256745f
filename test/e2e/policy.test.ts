// The policy engine end to end: the built proxy, the demo server, the shipped policies.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { CLI, ROOT } from '../helpers/paths.js';
import { spawnProxy, type ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const DEMO = [process.execPath, join(ROOT, 'demo/mcp-middleware-platform/simple-mcp-server.js')];
const SECRET = 'AKIAIOSFODNN7EXAMPLE';

function start(t: TestContext, args: string[]): ProxyProcess {
  const proxy = spawnProxy(DEMO, { args, logLevel: 'info' });
  t.after(() => proxy.dispose());
  return proxy;
}

let nextId = 1;
async function call(proxy: ProxyProcess, method: string, params: object = {}) {
  const id = nextId++;
  proxy.send({ jsonrpc: '2.0', id, method, params });
  const { json } = await proxy.nextFrame(5000);
  assert.equal(json.id, id);
  return json;
}
const tool = (proxy: ProxyProcess, name: string, args: object) => call(proxy, 'tools/call', { name, arguments: args });

describe('the readonly policy, enforced', () => {
  test('hides writers, serves reads, refuses deletes with a tool error, redacts secrets, logs no secret', async (t) => {
    const proxy = start(t, ['--policy', 'policies/readonly.yaml']);
    const listed = await call(proxy, 'tools/list');
    assert.deepEqual(listed.result.tools.map((x: { name: string }) => x.name), ['echo', 'read_file']);

    const read = await tool(proxy, 'read_file', { path: '/workspace/README.md' });
    assert.match(read.result.content[0].text, /Demo workspace/);

    const deleted = await tool(proxy, 'delete_file', { path: '/workspace/README.md' });
    assert.equal(deleted.result.isError, true);
    assert.match(deleted.result.content[0].text, /Denied by policy \(rule read-only-tools, tool_not_allowed\)/);

    const escaped = await tool(proxy, 'read_file', { path: '/workspace/../etc/passwd' });
    assert.equal(escaped.result.isError, true);
    assert.match(escaped.result.content[0].text, /workspace-paths, argument_invalid/);

    const secret = await tool(proxy, 'read_file', { path: '/workspace/config.env' });
    assert.ok(!JSON.stringify(secret).includes(SECRET), 'the key is redacted');
    assert.match(secret.result.content[0].text, /\[REDACTED:aws-access-key\]/);

    const refused = await call(proxy, 'debug/dump');
    assert.deepEqual([refused.error.code, refused.error.data.category, refused.error.data.ruleId, refused.error.data.reason], [-32010, 'forbidden', 'client-methods', 'method_not_allowed']);

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    const stderr = proxy.stderr.bytes.toString('utf8');
    assert.ok(!stderr.includes(SECRET), 'the secret never reaches the logs');
    assert.ok(proxy.logs().some((r) => r.msg === 'policy denied tools/call' && r.ruleId === 'read-only-tools'));
    assert.ok(proxy.logs().some((r) => r.msg === 'policy rewrote tools/call' && r.ruleId === 'secrets' && r.changes === 1));
  });
});

describe('the same policy in observe mode', () => {
  test('changes nothing on the wire and records every would-deny and would-redact', async (t) => {
    const proxy = start(t, ['--policy', 'policies/readonly.yaml', '--mode', 'observe']);
    const listed = await call(proxy, 'tools/list');
    assert.equal(listed.result.tools.length, 3, 'nothing hidden');
    const deleted = await tool(proxy, 'delete_file', { path: '/workspace/README.md' });
    assert.equal(deleted.result.content[0].text, 'deleted /workspace/README.md');
    const secret = await tool(proxy, 'read_file', { path: '/workspace/config.env' });
    assert.ok(JSON.stringify(secret).includes(SECRET), 'observe mode does not redact');
    proxy.endInput();
    await proxy.waitForExit();
    const would = proxy.logs().filter((r) => r.enforced === false).map((r) => `${r.ruleId}:${r.effect}`);
    assert.deepEqual(would, ['hide-writers:rewrite', 'read-only-tools:deny', 'hide-writers:deny', 'secrets:rewrite']);
    assert.ok(!proxy.stderr.bytes.toString('utf8').includes(SECRET), 'the secret never reaches the logs');
  });
});

describe('policy files at start and on reload', () => {
  test('an invalid policy stops the proxy at start with exit 78 and the line and column', () => {
    const dir = tempDir('policy-e2e');
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'apiVersion: mcp-sidecar/v1\nkind: Policy\nmetadata: { name: bad, revision: 1 }\nrules:\n  - id: x\n    tools: { allow: [a] }\n    match: {}\n');
    const result = spawnSync(process.execPath, [CLI, '--proxy', 'node x.js', '--allow', 'node', '--policy', file], { encoding: 'utf8', input: '' });
    assert.equal(result.status, 78, result.stderr);
    assert.match(result.stderr, /bad\.yaml:7:5: rules\[0\]\.match: unknown key "match"/);
  });

  // Once a policy the schema accepted but a rule could not compile; now the one schema refuses it
  // (a refinement: JSON Schema cannot say "matches the empty string"), at its line and column.
  test('a pattern that matches the empty string is refused by validate (exit 1) and at start (exit 78), at its line and column', () => {
    const dir = tempDir('policy-e2e');
    const file = join(dir, 'uncompilable.yaml');
    writeFileSync(file, 'apiVersion: mcp-sidecar/v1\nkind: Policy\nmetadata: { name: p, revision: 1 }\nrules:\n  - { id: r, redact: { detectors: all, patterns: [{ name: empty, pattern: "x*" }] } }\n');
    const validate = spawnSync(process.execPath, [CLI, 'policy', 'validate', file], { encoding: 'utf8' });
    assert.equal(validate.status, 1);
    assert.match(validate.stderr, /:5:\d+: rules\[0\]\.redact\.patterns\[0\]\.pattern: .*matches the empty string/);
    const start = spawnSync(process.execPath, [CLI, '--proxy', 'node x.js', '--allow', 'node', '--policy', file], { encoding: 'utf8', input: '' });
    assert.equal(start.status, 78, start.stderr);
    assert.match(start.stderr, /not a valid policy: [\s\S]*:5:\d+: rules\[0\]\.redact\.patterns\[0\]\.pattern: .*matches the empty string/);
    assert.doesNotMatch(start.stderr, /internal error/);
  });

  test('a changed file takes effect; an invalid change is rejected and the policy in force stays', async (t) => {
    const dir = tempDir('policy-e2e');
    const file = join(dir, 'live.yaml');
    copyFileSync('policies/readonly.yaml', file);
    const proxy = start(t, ['--policy', file]);
    assert.equal((await tool(proxy, 'delete_file', { path: '/workspace/nope' })).result.isError, true);
    assert.match((await tool(proxy, 'delete_file', { path: '/workspace/nope' })).result.content[0].text, /Denied by policy/);

    // Allow deletes: revision 2.
    writeFileSync(file, readFileSync('policies/readonly.yaml', 'utf8').replace('revision: 1', 'revision: 2').replace('"search_*", "echo"]', '"search_*", "echo", "delete_*"]').replace(/  - id: hide-writers[\s\S]*?move_\*"\] }\n/, ''));
    await proxy.waitForLog((r) => r.msg === 'policy reloaded' && r.revision === '2', 5000);
    assert.match((await tool(proxy, 'delete_file', { path: '/workspace/nope' })).result.content[0].text, /no such file/);

    writeFileSync(file, 'this: is: not: yaml: [');
    await proxy.waitForLog((r) => r.msg === 'policy reload rejected: the policy in force stays', 5000);
    assert.match((await tool(proxy, 'delete_file', { path: '/workspace/nope' })).result.content[0].text, /no such file/, 'revision 2 still in force');
    proxy.child.kill('SIGHUP');
    await proxy.waitForLog((r) => r.msg === 'policy reload rejected: the policy in force stays' && r.why === 'received SIGHUP', 5000);

    // An editor's rename-save (write elsewhere, rename over): still seen, and seen again after.
    for (const revision of ['3', '4']) {
      writeFileSync(`${file}.tmp`, readFileSync('policies/readonly.yaml', 'utf8').replace('revision: 1', `revision: ${revision}`));
      renameSync(`${file}.tmp`, file);
      await proxy.waitForLog((r) => r.msg === 'policy reloaded' && r.revision === revision, 5000);
    }
    assert.match((await tool(proxy, 'delete_file', { path: '/workspace/nope' })).result.content[0].text, /Denied by policy/, 'revision 4 denies again');
  });
});
