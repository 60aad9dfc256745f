// A case's `identity`: the caller's identity the frame is evaluated with (HTTP auth's), and the
// worked example of rules that depend on it, policies/tests/examples/tenants.yaml.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { buildPolicy } from '../../../components/policy/index.js';
import { loadPolicyFile } from '../../../components/policy/document/index.js';
import { parseCasesFile, runPolicyTestCommand } from '../../../components/policy-test/index.js';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (chunk, _e, cb) => { text += chunk; cb(); } }), text: () => text };
}

describe('policy test: identity', () => {
  it('reads an optional identity of tenantId, userId and agentId strings', () => {
    const [withIdentity, without] = parseCasesFile([
      'cases:',
      '  - { name: a, identity: { tenantId: acme, userId: u, agentId: ci }, frame: { jsonrpc: "2.0", id: 1, method: ping }, expect: forward }',
      '  - { name: b, frame: { jsonrpc: "2.0", id: 2, method: ping }, expect: forward }',
    ].join('\n'), 'c.yaml');
    assert.deepEqual(withIdentity!.identity, { tenantId: 'acme', userId: 'u', agentId: 'ci' });
    assert.equal(without!.identity, undefined);
  });

  it('refuses an unknown identity field or a value that is not a string', () => {
    assert.throws(() => parseCasesFile('cases:\n  - { name: a, identity: { tenant: acme }, frame: {}, expect: forward }\n', 'c.yaml'), /c\.yaml: cases\.0\.identity/);
    assert.throws(() => parseCasesFile('cases:\n  - { name: a, identity: { userId: 7 }, frame: {}, expect: forward }\n', 'c.yaml'), /c\.yaml: cases\.0\.identity\.userId/);
  });

  it('passes every case of the worked example, policies/tests/examples/tenants.cases.yaml', async () => {
    const stdout = capture(), stderr = capture();
    const code = await runPolicyTestCommand('policies/tests/examples/tenants.yaml', 'policies/tests/examples/tenants.cases.yaml',
      { stdout: stdout.stream, stderr: stderr.stream }, (path) => buildPolicy(loadPolicyFile(path)));
    assert.equal(code, 0, stdout.text() + stderr.text());
    assert.match(stdout.text(), /12 of 12 cases passed/);
  });
});
