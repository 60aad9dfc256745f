import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Rule, Verdict } from '../../../../components/policy/engine/types.js';
import { createLimitsRules } from '../../../../components/policy/rules/limits.js';
import { frameContext } from '../../../helpers/frame-context.js';
import { assertRejected, policyText } from '../rejections.js';

const result = (text: string): unknown => ({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text }] } });
const nestedResult = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return { jsonrpc: '2.0', id: 1, result: { value } }; // the message and result objects are 2 levels
};
const denial = (verdict: Verdict): Extract<Verdict, { effect: 'deny' }> => {
  assert.equal(verdict.effect, 'deny');
  return verdict as Extract<Verdict, { effect: 'deny' }>;
};

describe('response-side limits', () => {
  const rules = createLimitsRules({ maxDepth: 3, maxFrameBytes: { '*': 10_000 }, maxResponseFrameBytes: { '*': 400, 'tools/call': 200 }, maxResponseDepth: 5, maxResultBytes: 1000 }, { mode: 'enforce' });
  const byId = (id: string): Rule => rules.find((rule) => rule.id === id)!;

  it('are response rules, server to client, after the request-side ones, the result cap last', () => {
    assert.deepEqual(
      rules.map((rule) => [rule.id, rule.direction, rule.phase]),
      [
        ['limits.maxFrameBytes', 'client-to-server', 'request'],
        ['limits.maxFrameBytes', 'server-to-client', 'request'],
        ['limits.maxDepth', 'client-to-server', 'request'],
        ['limits.maxDepth', 'server-to-client', 'request'],
        ['limits.maxResponseFrameBytes', 'server-to-client', 'response'],
        ['limits.maxResponseDepth', 'server-to-client', 'response'],
        ['limits.maxResultBytes', 'server-to-client', 'response'],
      ],
    );
    assert.deepEqual(byId('limits.maxResponseFrameBytes').methods, ['*', 'tools/call']);
  });

  it('maxResponseFrameBytes: the most specific glob of the answered method, the whole line counted', () => {
    const rule = byId('limits.maxResponseFrameBytes');
    const at = (length: number, method: string): Verdict => {
      const message = result('');
      const pad = length - Buffer.byteLength(`${JSON.stringify(message)}\n`);
      return rule.evaluate(frameContext(result('x'.repeat(pad)), { method }));
    };
    assert.equal(at(200, 'tools/call').effect, 'continue');
    const verdict = denial(at(201, 'tools/call'));
    assert.equal(verdict.reason, 'response_too_large');
    assert.equal(verdict.category, 'forbidden');
    assert.equal(verdict.message, 'the response to "tools/call" was a frame of 201 bytes, over the 200-byte limit for "tools/call"');
    assert.equal(at(400, 'resources/read').effect, 'continue');
    assert.match(denial(at(401, 'resources/read')).message, /over the 400-byte limit for "\*"$/);
  });

  it('maxResponseFrameBytes counts error responses too', () => {
    const rule = byId('limits.maxResponseFrameBytes');
    const error = { jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'e'.repeat(300) } };
    assert.equal(denial(rule.evaluate(frameContext(error, { method: 'tools/call' }))).reason, 'response_too_large');
  });

  it('maxResponseDepth: uses the depth the envelope reader measured, scans the bytes without it', () => {
    const rule = byId('limits.maxResponseDepth');
    assert.equal(rule.evaluate(frameContext(nestedResult(3), { method: 'x/y' })).effect, 'continue');
    const verdict = denial(rule.evaluate(frameContext(nestedResult(4), { method: 'x/y' })));
    assert.deepEqual([verdict.reason, verdict.message], ['response_too_deep', 'the response to "x/y" nests deeper than 5 levels']);
    // The envelope's depth wins over the bytes: the rule does not scan again.
    const measured = { ...frameContext(nestedResult(1), { method: 'x/y' }), depth: 6 };
    assert.equal(denial(rule.evaluate(measured)).reason, 'response_too_deep');
  });

  it('make no response rule when not configured', () => {
    const plain = createLimitsRules({ maxDepth: 3, maxFrameBytes: { '*': 2000 } }, { mode: 'enforce' });
    assert.equal(plain.some((rule) => rule.phase === 'response'), false);
  });

  it('the schema bounds them as the request side', () => {
    assertRejected(policyText({ limits: { maxResponseDepth: 0 } }), 'limits.maxResponseDepth', /expected/);
    assertRejected(policyText({ limits: { maxResponseFrameBytes: { '*': 10 } } }), 'limits.maxResponseFrameBytes["*"]', /expected a size in bytes from 1024/);
  });
});
