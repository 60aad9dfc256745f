// `policy test` over CEL conditions: the worked example, policies/tests/examples/cel.yaml, whose
// rules also carry `tests:` that run at load.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { buildPolicy } from '../../../components/policy/index.js';
import { loadPolicyFile } from '../../../components/policy/document/index.js';
import { runPolicyTestCommand } from '../../../components/policy-test/index.js';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (chunk, _e, cb) => { text += chunk; cb(); } }), text: () => text };
}

describe('policy test: CEL conditions', () => {
  it('passes every case of the worked example, policies/tests/examples/cel.cases.yaml', async () => {
    const stdout = capture(), stderr = capture();
    const code = await runPolicyTestCommand('policies/tests/examples/cel.yaml', 'policies/tests/examples/cel.cases.yaml',
      { stdout: stdout.stream, stderr: stderr.stream }, (path) => buildPolicy(loadPolicyFile(path)));
    assert.equal(code, 0, stdout.text() + stderr.text());
    assert.match(stdout.text(), /10 of 10 cases passed/);
  });
});
