// Policy per service on resource reads, end to end through dist/cli.js: two resource servers behind
// one gateway (test/fixtures/gateway-memory-server.mjs as `notes`, gateway-paging-server.mjs as
// `pages`). The gateway routes a read by which service listed its URI, and the rules ask it: a
// `when: { server: [notes] }` rule applies to notes' URIs only; a URI the gateway cannot place is
// undecided, so the rule applies to it (fail closed); each read's report names its service.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT, commandLine } from '../helpers/paths.js';
import { ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { PAGING_FIXTURE, cleanEnv, gatewayArgs } from '../fixtures/gateway-three-servers.js';

const NOTES_SERVER = commandLine([process.execPath, join(ROOT, 'test', 'fixtures', 'gateway-memory-server.mjs')]);
const PAGES_SERVER = commandLine([process.execPath, PAGING_FIXTURE]);


describe('policy per service on resources in gateway mode', () => {
  it('applies a `server:` rule to the reads its service gets, by the URI the gateway routes; an unplaceable URI is undecided', async () => {
    const dir = tempDir('gateway-policy-resources');
    const servers = join(dir, 'servers.yaml');
    writeFileSync(servers, ['servers:', `  - { name: notes, command: ${JSON.stringify(NOTES_SERVER)} }`, `  - { name: pages, command: ${JSON.stringify(PAGES_SERVER)} }`, ''].join('\n'));
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, `apiVersion: mcp-sidecar/v1
kind: Policy
metadata: { name: per-service-resources, revision: 1 }
rules:
  - id: notes-unreadable
    when: { server: [notes] }
    resources: { deny: ["*"] }
`);
    const reports = join(dir, 'reports.ndjson');
    const child = spawn(process.execPath, [...gatewayArgs(servers), '--policy', policy, '--report-file', reports], { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    const proxy = new ProxyProcess(child);
    after(() => proxy.dispose());
    await proxy.call(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'policy-resources', version: '1' } });
    proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const listed = (await proxy.call(2, 'resources/list')).result.resources as Array<{ uri: string }>;
    assert.ok(listed.some((resource) => resource.uri === 'memory://note/1') && listed.some((resource) => resource.uri === 'page://note/1'), JSON.stringify(listed));

    const notes = await proxy.call(3, 'resources/read', { uri: 'memory://note/1' });
    assert.equal(notes.error?.code, -32010, `notes' URI: the rule applies: ${JSON.stringify(notes)}`);
    const pages = await proxy.call(4, 'resources/read', { uri: 'page://note/1' });
    assert.equal(pages.result?.contents?.[0]?.text, 'note number 1', `pages' URI: the rule does not apply: ${JSON.stringify(pages)}`);
    const marked = await proxy.call(5, 'resources/read', { uri: 'pages+page://note/2' });
    assert.equal(marked.result?.contents?.[0]?.uri, 'page://note/2', `a marked URI is its service's: ${JSON.stringify(marked)}`);
    const nowhere = await proxy.call(6, 'resources/read', { uri: 'nowhere://x' });
    assert.equal(nowhere.error?.code, -32010, `a URI no service listed: undecided, so the rule applies (fail closed): ${JSON.stringify(nowhere)}`);
    const subscribe = await proxy.call(7, 'resources/subscribe', { uri: 'memory://note/2' });
    assert.equal(subscribe.error?.code, -32010, 'a subscription is placed as a read is');

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    proxy.assertStdoutClean();
    const servedBy = Object.fromEntries(readFileSync(reports, 'utf8').split('\n').filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { kind: string; requestId?: string; server?: string })
      .filter((line) => line.kind === 'invocation').map((line) => [line.requestId, line.server]));
    assert.deepEqual([servedBy['3'], servedBy['4'], servedBy['5'], servedBy['6'], servedBy['7']], ['notes', 'pages', 'pages', '', 'notes'], JSON.stringify(servedBy));
  });
});
