// The worked example of per-tool result caps, policies/tests/examples/result-size-per-tool.yaml,
// through `policy test`, whose cases name the answered tool with `tool:` (docs/policy.md, "Per tool").
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

async function runCases(cases: string): Promise<{ code: number; output: string }> {
  const stdout = capture(), stderr = capture();
  const code = await runPolicyTestCommand('policies/tests/examples/result-size-per-tool.yaml', cases,
    { stdout: stdout.stream, stderr: stderr.stream }, (path) => buildPolicy(loadPolicyFile(path)));
  return { code, output: stdout.text() + stderr.text() };
}

describe('policy test: per-tool result caps', () => {
  it('passes every case of policies/tests/examples/result-size-per-tool.cases.yaml', async () => {
    const { code, output } = await runCases('policies/tests/examples/result-size-per-tool.cases.yaml');
    assert.equal(code, 0, output);
    assert.match(output, /10 of 10 cases passed/);
  });
});
