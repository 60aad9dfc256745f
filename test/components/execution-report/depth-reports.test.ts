// The report's view of a request (issue 19, item 2): the arguments are redacted and digested
// when the request starts, on the frame's path. Arguments nested far deeper than a call per
// level would survive are digested, not a RangeError that ends the proxy.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInvocationReports, sha256Digest, type Reporter } from '../../../components/execution-report/index.js';
import { mayHoldSecretsInJson, redactSecrets } from '../../../components/policy/rules/redact.js';
import type { ObservedFrame } from '../../../components/pump/index.js';

const SECRET_5KB = `password=${'s'.repeat(5_000)}`;

/** A tools/call's bytes with `depth` arrays around a secret as its one argument. */
function deepCall(depth: number): Buffer {
  return Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"a":${'['.repeat(depth)}${JSON.stringify(SECRET_5KB)}${']'.repeat(depth)}}}}\n`);
}

function observed(line: Buffer): ObservedFrame {
  return { direction: 'client-to-server', phase: 'request', kind: 'request', method: 'tools/call', id: '1', line, decisions: [], action: 'forward', at: 0 } as ObservedFrame;
}

describe('invocation reports of deep arguments', () => {
  for (const depth of [509, 4_095, 100_000]) {
    it(`digest and carry redacted arguments ${depth} arrays deep`, async () => {
      const reported: Record<string, unknown>[] = [];
      const reporter = { report: (input: Record<string, unknown>) => { reported.push(input); return Promise.resolve(); } } as unknown as Reporter;
      const observer = createInvocationReports({
        reporter, policy: () => undefined, generation: () => 0, arguments: 'redacted', redactSecrets, mayHoldSecretsInJson,
      });
      const frame = observed(deepCall(depth));
      const trace = observer.onFrame(frame);
      await observer.onRequestEnd({ request: frame, trace, outcome: 'forwarded', at: 1 } as unknown as Parameters<typeof observer.onRequestEnd>[0]);
      assert.equal(reported.length, 1);
      const expected = `{"a":${'['.repeat(depth)}"password=[REDACTED:password-assignment]"${']'.repeat(depth)}}`;
      assert.equal(reported[0]!['argumentsDigest'], sha256Digest(expected));
      let value = (reported[0]!['arguments'] as { a: unknown }).a;
      for (let i = 0; i < depth; i++) value = (value as unknown[])[0];
      assert.equal(value, 'password=[REDACTED:password-assignment]');
    });
  }
});
