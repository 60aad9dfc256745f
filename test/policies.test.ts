// The shipped policies: each validates, and each passes its own test cases.
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from './helpers/temp-dir.js';
import { runCases } from './helpers/policy-test-command.js';

const policies = readdirSync('policies').filter((name) => name.endsWith('.yaml')).map((name) => name.replace(/\.yaml$/, ''));

describe('shipped policies', () => {
  it('should ship default, readonly and locked-down', () => {
    assert.deepEqual(policies.sort(), ['default', 'locked-down', 'readonly']);
  });
  for (const name of policies) {
    it(`should pass every case of policies/tests/${name}.cases.yaml`, async () => {
      const result = await runCases(`policies/${name}.yaml`, `policies/tests/${name}.cases.yaml`);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.doesNotMatch(result.stdout, /FAIL/);
    });
  }
});

// What a client of each protocol era sends to connect and keep its session (docs/policy.md,
// methods): no shipped policy may say a word about any of it, not even in observe mode.
const ERA_FRAMES = [
  { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'c', version: '1' } } },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', id: 2, method: 'ping' },
  { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 2 } },
  { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
  { jsonrpc: '2.0', id: 3, method: 'server/discover', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } },
  { jsonrpc: '2.0', id: 'listen:1', method: 'subscriptions/listen', params: { notifications: { toolsListChanged: true } } },
  { jsonrpc: '2.0', id: 4, method: 'tools/list' },
];

describe('every shipped policy lets every protocol era connect', () => {
  const dir = tempDir('policy-eras');
  const cases = join(dir, 'eras.cases.yaml');
  writeFileSync(cases, `cases:\n${ERA_FRAMES.map((frame) => `  - name: ${frame.method}\n    frame: ${JSON.stringify(frame)}\n    expect: { forward: true, decisions: [] }\n`).join('')}`);
  for (const name of policies) {
    it(`policies/${name}.yaml forwards ${ERA_FRAMES.map((f) => f.method).join(', ')}, with nothing to say`, async () => {
      const result = await runCases(`policies/${name}.yaml`, cases);
      assert.equal(result.code, 0, result.stdout + result.stderr);
    });
  }
});

describe('policy test', () => {
  const dir = tempDir('policy-test');
  it('should fail a case whose expectation the policy does not meet, saying what it got', async () => {
    const cases = join(dir, 'wrong.cases.yaml');
    writeFileSync(cases, `cases:
  - name: delete is said to pass
    frame: { jsonrpc: "2.0", id: 1, method: tools/call, params: { name: delete_file, arguments: { path: /workspace/x } } }
    expect: forward
  - name: read passes
    frame: { jsonrpc: "2.0", id: 2, method: tools/call, params: { name: read_file, arguments: { path: /workspace/x } } }
    expect: forward
`);
    const result = await runCases('policies/readonly.yaml', cases);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /FAIL delete is said to pass\n\s+expected forward, got deny by read-only-tools \(tool_not_allowed\)/);
    assert.match(result.stdout, /PASS read passes/);
    assert.match(result.stdout, /1 of 2 cases passed, 1 failed/);
  });

  it('should refuse a cases file with unknown keys, exit 2', async () => {
    const cases = join(dir, 'bad.cases.yaml');
    writeFileSync(cases, 'cases:\n  - name: x\n    frame: {}\n    expect: forward\n    expcet: typo\n');
    const result = await runCases('policies/readonly.yaml', cases);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /expcet/);
  });
});
