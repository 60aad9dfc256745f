// The `pin` commands in process: listing a governed fixture server (pages joined, an undeclared
// list skipped), the diff as a person reads it, and the usage errors, with their exit codes.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { formatDiff, listServer, PIN_EXIT, runPinCommand } from '../../../components/pin-command/index.js';
import { buildLock, diffLocks, formatLock } from '../../../components/tool-pins/index.js';
import { ALLOW_REPO_SCRIPTS, commandLine, fixtureServer } from '../../helpers/paths.js';
import { tempDir } from '../../helpers/temp-dir.js';

function capture(): { io: { stdout: PassThrough; stderr: PassThrough; env: NodeJS.ProcessEnv }; text: () => { stdout: string; stderr: string } } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString('utf8')));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString('utf8')));
  return { io: { stdout, stderr, env: { PATH: process.env['PATH'] } }, text: () => ({ stdout: out.join(''), stderr: err.join('') }) };
}

describe('the pin commands', () => {
  it('should list a governed server, joining its pages and skipping a list it did not declare', async () => {
    const dir = tempDir('pin-list');
    const spec = join(dir, 'spec.json');
    const tools = Array.from({ length: 7 }, (_, i) => ({ name: `tool-${i}`, description: `tool ${i}` }));
    writeFileSync(spec, JSON.stringify({ capabilities: ['tools', 'resources'], tools, pageSize: 3, resourceTemplates: [{ uriTemplate: 'db://{table}', name: 'tables' }] }));
    const { io } = capture();
    const { listed, skipped } = await listServer(['--proxy', commandLine([process.execPath, fixtureServer('pin-server.js'), spec]), '--allow', ALLOW_REPO_SCRIPTS], io.env, io.stderr);
    assert.deepEqual(listed.tool, tools, 'three pages, in order, as the server wrote them');
    assert.deepEqual(listed.prompt, []);
    assert.deepEqual(listed.resourceTemplate, [{ uriTemplate: 'db://{table}', name: 'tables' }]);
    assert.deepEqual(skipped, ['prompt']);
  });

  it('should print a diff with its pointers and pins, and a one-line verdict when nothing changed', () => {
    const before = buildLock({ tool: [{ name: 'send', description: 'Sends' }, { name: 'old' }], prompt: [], resourceTemplate: [] });
    const after = buildLock({ tool: [{ name: 'send', description: 'Sends, and copies us', inputSchema: { type: 'object' } }, { name: 'new' }], prompt: [], resourceTemplate: [] });
    const text = formatDiff(diffLocks(before, after), 'a.lock', 'b.lock');
    const send = (lock: typeof before) => lock.definitions.find((d) => d.key === 'send')!.pin;
    assert.equal(text, [
      'changed tool "send": /description changed, /inputSchema added',
      `  pinned ${send(before)}`,
      `  now    ${send(after)}`,
      `added   tool "new": ${after.definitions.find((d) => d.key === 'new')!.pin}`,
      `removed tool "old": ${before.definitions.find((d) => d.key === 'old')!.pin}`,
      'list digests changed: tools',
      '1 changed, 1 added, 1 removed (a.lock → b.lock)',
      '',
    ].join('\n'));
    assert.equal(formatDiff(diffLocks(before, before), 'a.lock', 'the server'), 'no changes: the server lists what a.lock pins\n');
  });

  it('should diff two lock files without a server: 0 identical, 1 changed, 2 unreadable', async () => {
    const dir = tempDir('pin-files');
    const a = join(dir, 'a.lock.json');
    const b = join(dir, 'b.lock.json');
    const broken = join(dir, 'broken.lock.json');
    writeFileSync(a, formatLock(buildLock({ tool: [{ name: 'x', description: 'X' }], prompt: [], resourceTemplate: [] })));
    writeFileSync(b, formatLock(buildLock({ tool: [{ name: 'x', description: 'Y' }], prompt: [], resourceTemplate: [] })));
    writeFileSync(broken, '{"format":"mcp-sidecar-pins/1"');
    const same = capture();
    assert.equal(await runPinCommand(['diff', a, a], same.io), PIN_EXIT.OK);
    const changed = capture();
    assert.equal(await runPinCommand(['diff', a, b, '--json'], changed.io), PIN_EXIT.FAILED_OR_CHANGED);
    assert.deepEqual((JSON.parse(changed.text().stdout) as { changed: Array<{ changes: unknown }> }).changed.map((c) => c.changes), [[{ path: '/description', change: 'changed' }]]);
    const unreadable = capture();
    assert.equal(await runPinCommand(['diff', a, broken], unreadable.io), PIN_EXIT.USAGE_OR_TROUBLE);
    assert.match(unreadable.text().stderr, /broken\.lock\.json: not JSON/);
    const mixed = capture();
    assert.equal(await runPinCommand(['diff', a, b, '--proxy', 'node x.js'], mixed.io), PIN_EXIT.USAGE_OR_TROUBLE);
    assert.match(mixed.text().stderr, /two lock files starts no server: --proxy does not apply/);
  });

  it('should refuse what is not a pin command line, with exit 2', async () => {
    for (const args of [[], ['approve', 'only-one'], ['approve', 'a', 'b', 'c'], ['--proxy', 'node x.js', '--out'], ['--proxy', 'node x.js', '--allow', 'node', '--http', '127.0.0.1:0'], ['--allow', 'node']]) {
      const { io } = capture();
      assert.equal(await runPinCommand(args, io), PIN_EXIT.USAGE_OR_TROUBLE, args.join(' '));
    }
  });
});
