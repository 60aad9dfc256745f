import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Rule } from '../../../../components/policy/engine/types.js';
import { createLimitsRules, jsonDepth, orderBySpecificity } from '../../../../components/policy/rules/limits.js';
import { frameContext, toolCall } from '../../../helpers/frame-context.js';
import { evaluateFrame } from '../../../../components/policy/engine/evaluate.js';
import { compileLoadedPolicy } from '../../../../components/policy/engine/build.js';
import { parsePolicyText } from '../../../../components/policy/document/index.js';
import { createRulesFromSpec } from '../../../../components/policy/rules/index.js';
import { assertRejected, policyText } from '../rejections.js';

const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value };
  return value;
};

describe('jsonDepth', () => {
  const table: Array<[string, number]> = [
    ['1', 0],
    ['{}', 1],
    ['{"a":[1,{"b":2}]}', 3],
    ['[[],[[]],[]]', 3],
    ['{"s":"[[[[{{{{"}', 1],
    ['{"s":"quote \\" then [[[["}', 1],
    ['{"s":"backslash \\\\","t":[[1]]}', 3],
    ['{"s":"\\\\\\"[[[[["}', 1],
    ['{"unterminated":"[[[[', 1],
    ['  [ { "a" : [ ] } ]  ', 3],
    ['{"a":1}]]]][[[[1', 4], // stray closers (not JSON) do not hide the nesting after them
  ];
  for (const [json, depth] of table) it(`${json} → ${depth}`, () => assert.equal(jsonDepth(Buffer.from(json)), depth));

  it('stops as soon as it is over the limit', () => {
    assert.equal(jsonDepth(Buffer.from('['.repeat(1000)), 10), 11);
  });
});

describe('orderBySpecificity', () => {
  it('puts exact names first, then longer globs, then *', () => {
    assert.deepEqual(
      orderBySpecificity(['*', 'tools/*', 'tools/call', 'notifications/*', 't*', 'tools/?all', 'ping']),
      ['tools/call', 'ping', 'notifications/*', 'tools/?all', 'tools/*', 't*', '*'],
    );
  });
});

describe('limits rules', () => {
  const rules = createLimitsRules({ maxFrameBytes: { '*': 1000, 'tools/*': 300, 'tools/call': 500, 'tools/li*': 100 }, maxDepth: 5, maxInFlight: 8 }, { mode: 'enforce' });
  const byId = (id: string, direction: string): Rule => rules.find((rule) => rule.id === id && rule.direction === direction)!;

  it('makes a maxInFlight rule (client to server, first), and one maxFrameBytes and one maxDepth rule per direction, request phase, kind limits', () => {
    assert.deepEqual(
      rules.map((rule) => [rule.id, rule.kind, rule.mode, rule.direction, rule.phase]),
      [
        ['limits.maxInFlight', 'limits', 'enforce', 'client-to-server', 'request'],
        ['limits.maxFrameBytes', 'limits', 'enforce', 'client-to-server', 'request'],
        ['limits.maxFrameBytes', 'limits', 'enforce', 'server-to-client', 'request'],
        ['limits.maxDepth', 'limits', 'enforce', 'client-to-server', 'request'],
        ['limits.maxDepth', 'limits', 'enforce', 'server-to-client', 'request'],
      ],
    );
    assert.deepEqual(byId('limits.maxFrameBytes', 'client-to-server').methods, ['*', 'tools/*', 'tools/call', 'tools/li*']);
    assert.deepEqual(byId('limits.maxDepth', 'server-to-client').methods, ['*']);
    assert.deepEqual(createLimitsRules({}, { mode: 'observe' }), []);
    assert.deepEqual(createLimitsRules({ maxInFlight: 3 }, { mode: 'observe' }).map((rule) => [rule.id, rule.mode, rule.direction, rule.phase, rule.methods]), [
      ['limits.maxInFlight', 'observe', 'client-to-server', 'request', ['*']],
    ]);
  });

  /** A frame of exactly `bytes` bytes (line included) for `method`. */
  const frameOf = (method: string, bytes: number, direction: 'client-to-server' | 'server-to-client' = 'client-to-server') => {
    const head = `{"jsonrpc":"2.0","id":1,"method":${JSON.stringify(method)},"params":{"pad":"`;
    const tail = '"}}\n';
    const line = head + 'x'.repeat(bytes - head.length - tail.length) + tail;
    assert.equal(Buffer.byteLength(line), bytes);
    return frameContext({ jsonrpc: '2.0', id: 1, method }, { line, direction });
  };

  const sizes: Array<[string, number, string | undefined]> = [
    ['tools/call', 500, undefined], // exact name wins over tools/* (300)
    ['tools/call', 501, 'tools/call'],
    ['tools/list', 100, undefined], // tools/li* is longer than tools/*
    ['tools/list', 101, 'tools/li*'],
    ['tools/other', 300, undefined],
    ['tools/other', 301, 'tools/*'],
    ['ping', 1000, undefined], // * last
    ['ping', 1001, '*'],
    ['sampling/createMessage', 1001, '*'],
  ];
  for (const [method, bytes, glob] of sizes) {
    it(`maxFrameBytes: ${glob ? 'denies' : 'passes'} ${bytes} bytes of ${method}${glob ? ` (limit from ${glob})` : ''}`, () => {
      for (const direction of ['client-to-server', 'server-to-client'] as const) {
        const frame = frameOf(method, bytes, direction);
        const verdict = byId('limits.maxFrameBytes', direction).evaluate(frame);
        assert.equal(frame.bodyReads, 0, 'limits never parse the body');
        if (glob === undefined) {
          assert.deepEqual(verdict, { effect: 'continue' });
          continue;
        }
        assert.ok(verdict.effect === 'deny');
        assert.equal(verdict.reason, 'frame_too_large');
        assert.equal(verdict.category, 'user_error');
        assert.ok(verdict.message.includes(JSON.stringify(glob)), verdict.message);
      }
    });
  }

  it('maxFrameBytes: a method no glob matches is not limited', () => {
    const [rule] = createLimitsRules({ maxFrameBytes: { 'tools/call': 10 } }, { mode: 'enforce' });
    assert.deepEqual(rule!.evaluate(frameOf('ping', 500)), { effect: 'continue' });
  });

  const depths: Array<[string, unknown, boolean]> = [
    ['depth 5 (the limit)', toolCall('x', nested(3)), true], // {} params {} arguments + 3
    ['depth 6', toolCall('x', nested(4)), false],
    ['brackets inside strings', toolCall('x', { s: '[[[[[[[[[[{{{{{{{{{{', t: '\\"[[[[[[' }), true],
  ];
  for (const [label, message, ok] of depths) {
    it(`maxDepth: ${ok ? 'passes' : 'denies'} ${label}, in both directions`, () => {
      for (const direction of ['client-to-server', 'server-to-client'] as const) {
        const frame = frameContext(message, { direction });
        const verdict = byId('limits.maxDepth', direction).evaluate(frame);
        assert.equal(frame.bodyReads, 0);
        if (ok) {
          assert.deepEqual(verdict, { effect: 'continue' });
        } else {
          assert.ok(verdict.effect === 'deny');
          assert.equal(verdict.reason, 'nesting_too_deep');
          assert.equal(verdict.category, 'user_error');
        }
      }
    });
  }

  it('maxDepth: takes the depth the envelope reader measured when the frame carries it, and scans the bytes only without one', () => {
    const flat = toolCall('x', {});
    const deny = byId('limits.maxDepth', 'client-to-server').evaluate({ ...frameContext(flat), depth: 6 });
    assert.ok(deny.effect === 'deny' && deny.reason === 'nesting_too_deep', 'the measured depth decides, not a second scan');
    assert.deepEqual(byId('limits.maxDepth', 'client-to-server').evaluate({ ...frameContext(toolCall('x', nested(4))), depth: 5 }), { effect: 'continue' });
    assert.deepEqual(byId('limits.maxDepth', 'client-to-server').evaluate({ ...frameContext(toolCall('x', nested(4))), depth: undefined }).effect, 'deny', 'no measured depth: the rule scans');
  });

  // Refused by the schema, at load, with the field's path (the factory compiles a validated section).
  const invalid: Array<[string, unknown, string, RegExp]> = [
    ['a zero maxDepth', { maxDepth: 0 }, 'limits.maxDepth', /^expected a whole number ≥ 1, found the number 0$/],
    ['a fractional maxInFlight', { maxInFlight: 1.5 }, 'limits.maxInFlight', /^expected a whole number, found the number 1.5$/],
    ['a bad byte count', { maxFrameBytes: { '*': '1MiB!' } }, 'limits.maxFrameBytes["*"]', /^expected a size in bytes from 1024 to 1073741824 .*, found "1MiB!"$/],
    ['a byte count below the bound', { maxFrameBytes: { '*': 10 } }, 'limits.maxFrameBytes["*"]', /^expected a size in bytes from 1024 to 1073741824 .*, found the number 10$/],
    ['a byte count with a unit above the bound', { maxFrameBytes: { '*': '2GiB' } }, 'limits.maxFrameBytes["*"]', /^expected a size in bytes from 1024 to 1073741824 .*, found "2GiB"$/],
    ['an unknown key', { maxFrames: 1 }, 'limits.maxFrames', /^unknown key "maxFrames"/],
  ];
  for (const [label, limits, path, message] of invalid) {
    it(`refuses ${label} at load`, () => assertRejected(policyText({ limits }), path, message));
  }
});

describe('limits.maxInFlight: a rule over the context\'s count of client requests in flight', () => {
  const [rule] = createLimitsRules({ maxInFlight: 2 }, { mode: 'enforce' });
  const request = (inFlight: number | undefined) => Object.assign(frameContext({ jsonrpc: '2.0', id: 9, method: 'tools/list' }), inFlight === undefined ? {} : { inFlight });

  it('passes a request while fewer than the limit are in flight (absent counts as none)', () => {
    assert.equal(rule!.evaluate(request(undefined)).effect, 'continue');
    assert.equal(rule!.evaluate(request(0)).effect, 'continue');
    assert.equal(rule!.evaluate(request(1)).effect, 'continue');
  });

  it('denies, as a transient error, a request that would be one too many', () => {
    for (const inFlight of [2, 3]) {
      assert.deepEqual(rule!.evaluate(request(inFlight)), {
        effect: 'deny', reason: 'too_many_in_flight', message: '2 requests are already in flight', category: 'transient_error',
      });
    }
  });

  // Client requests of every method, and nothing else: the engine only calls the rule for them.
  const policyOf = (mode: 'enforce' | 'observe', rules = '') => compileLoadedPolicy(parsePolicyText(`apiVersion: mcp-sidecar/v1
kind: Policy
metadata: { name: in-flight, revision: 1 }
mode: ${mode}
limits: { maxInFlight: 1, maxDepth: 1 }
rules:
  - id: no-tools
    tools: { deny: ["*"] }
${rules}`, 'in-flight.yaml'), createRulesFromSpec);
  const call = Buffer.from(`${JSON.stringify(toolCall('echo', { nested: { deep: 1 } }))}\n`);

  it('runs first and stops the chain in enforce: no other rule is asked', () => {
    const evaluation = evaluateFrame(policyOf('enforce'), 'client-to-server', 'request', 'tools/call', call, 0, undefined, false, 1);
    assert.deepEqual(evaluation.action, {
      kind: 'deny', ruleId: 'limits.maxInFlight',
      verdict: { effect: 'deny', reason: 'too_many_in_flight', message: '1 requests are already in flight', category: 'transient_error' },
    });
    assert.deepEqual(evaluation.decisions.map((d) => [d.ruleId, d.kind, d.effect, d.enforced, d.reason]), [['limits.maxInFlight', 'limits', 'deny', true, 'too_many_in_flight']]);
  });

  it('is recorded first, with the other rules\' would-denies, in observe', () => {
    const evaluation = evaluateFrame(policyOf('observe'), 'client-to-server', 'request', 'tools/call', call, 0, undefined, false, 1);
    assert.deepEqual(evaluation.action, { kind: 'forward' });
    assert.deepEqual(evaluation.decisions.map((d) => [d.ruleId, d.effect, d.enforced, d.reason]), [
      ['limits.maxInFlight', 'deny', false, 'too_many_in_flight'],
      ['limits.maxDepth', 'deny', false, 'nesting_too_deep'],
      ['no-tools', 'deny', false, 'tool_not_allowed'],
    ]);
  });

  it('passes a request under the limit on to the other rules', () => {
    const evaluation = evaluateFrame(policyOf('enforce'), 'client-to-server', 'request', 'tools/call', call, 0, undefined, false, 0);
    assert.equal(evaluation.action.kind === 'deny' && evaluation.action.ruleId, 'limits.maxDepth');
  });

  it('never limits what the server sends (its requests, responses) nor frames evaluated without a count', () => {
    const policy = policyOf('enforce');
    const ping = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    assert.equal(evaluateFrame(policy, 'server-to-client', 'request', 'ping', ping, 0, undefined, false, 5).action.kind, 'forward');
    assert.equal(evaluateFrame(policy, 'server-to-client', 'response', 'ping', Buffer.from('{"jsonrpc":"2.0","id":1,"result":{}}\n'), 0, undefined, false, 5).action.kind, 'forward');
    assert.equal(evaluateFrame(policy, 'client-to-server', 'request', 'ping', ping, 0).action.kind, 'forward');
    assert.equal(evaluateFrame(policy, 'client-to-server', 'request', 'ping', ping, 0, undefined, false, 1).action.kind, 'deny');
  });
});
