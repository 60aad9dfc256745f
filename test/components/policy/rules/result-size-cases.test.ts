// The worked example of result size caps, policies/tests/examples/result-size.yaml, through
// `policy test`: what docs/policy.md ("Result size caps") says, case by case.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { buildPolicy } from '../../../../components/policy/index.js';
import { loadPolicyFile } from '../../../../components/policy/document/index.js';
import { runPolicyTestCommand } from '../../../../components/policy-test/index.js';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (chunk, _encoding, done) => { text += chunk; done(); } }), text: () => text };
}

describe('policy test: result size caps', () => {
  it('passes every case of policies/tests/examples/result-size.cases.yaml', async () => {
    const stdout = capture(), stderr = capture();
    const code = await runPolicyTestCommand('policies/tests/examples/result-size.yaml', 'policies/tests/examples/result-size.cases.yaml',
      { stdout: stdout.stream, stderr: stderr.stream }, (path) => buildPolicy(loadPolicyFile(path)));
    assert.equal(code, 0, stdout.text() + stderr.text());
    assert.match(stdout.text(), /10 of 10 cases passed/);
  });
});
