// Redaction walks a value with a stack of its own: a frame nested far deeper than a call per
// level would survive is redacted, not a RangeError (issue 19: a tools/call whose arguments nest
// an array 2,500 deep around a secret killed the proxy with reports on).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RedactRule } from '../../../../components/policy/document/index.js';
import type { FrameContext } from '../../../../components/policy/engine/types.js';
import { createRedactRules, redactSecrets } from '../../../../components/policy/rules/redact.js';

const PASSWORD = ['hunter2', '-Correct-Horse'].join('');
const SECRET_5KB = `password=${'s'.repeat(5_000)}`; // the shape of issue 19's frame
const DEPTHS = [512, 4_095, 100_000];

/** `depth` arrays around `leaf`. */
function nested(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** What `depth` arrays hold at the bottom, and that each level on the way is an array of one. */
function bottom(value: unknown, depth: number): unknown {
  for (let i = 0; i < depth; i++) {
    assert.ok(Array.isArray(value) && value.length === 1, `level ${i}`);
    value = value[0];
  }
  return value;
}

/** A frame context over a line built as text (JSON.stringify itself stops near 4,000 levels). */
function responseFrame(line: string): FrameContext {
  const bytes = Buffer.from(`${line}\n`);
  let body: unknown;
  return {
    direction: 'server-to-client', phase: 'response', method: 'tools/call', line: bytes, now: 0,
    body: () => (body ??= JSON.parse(line)),
  } as FrameContext;
}

describe('redaction on deep values', () => {
  for (const depth of DEPTHS) {
    it(`redactSecrets finds a secret ${depth} arrays deep and keeps every level`, () => {
      const { value, changes } = redactSecrets(nested(depth, SECRET_5KB));
      assert.equal(changes, 1);
      assert.equal(bottom(value, depth), 'password=[REDACTED:password-assignment]');
    });

    it(`redactSecrets replaces a value under a secret key ${depth} objects deep, leaving the rest shared`, () => {
      const untouched = { note: 'nothing here' };
      let value: unknown = { password: PASSWORD };
      for (let i = 0; i < depth; i++) value = { inner: value, side: untouched };
      const result = redactSecrets(value);
      assert.equal(result.changes, 1);
      let at = result.value as Record<string, unknown>;
      for (let i = 0; i < depth; i++) {
        assert.equal(at['side'], untouched, 'what did not change is the same object');
        at = at['inner'] as Record<string, unknown>;
      }
      assert.deepEqual(at, { password: '[REDACTED:password-assignment]' });
    });
  }

  it('redactSecrets returns the very value when a deep one holds nothing to redact', () => {
    const value = nested(100_000, 'plain text');
    assert.deepEqual(redactSecrets(value), { value, changes: 0 });
  });

  for (const depth of DEPTHS) {
    it(`the redact rule rewrites a tools/call result whose structuredContent nests ${depth} deep`, () => {
      const [rule] = createRedactRules({ id: 'secrets', redact: { detectors: 'all' } } as RedactRule, { mode: 'enforce' });
      const structured = `${'['.repeat(depth)}${JSON.stringify(SECRET_5KB)}${']'.repeat(depth)}`;
      const verdict = rule!.evaluate(responseFrame(`{"jsonrpc":"2.0","id":1,"result":{"content":[],"structuredContent":${structured}}}`));
      assert.ok(verdict.effect === 'rewrite', `effect ${verdict.effect}`);
      assert.equal(verdict.changes, 1);
      const result = (verdict.body as { result: { structuredContent: unknown } }).result;
      assert.equal(bottom(result.structuredContent, depth), 'password=[REDACTED:password-assignment]');
    });
  }
});
