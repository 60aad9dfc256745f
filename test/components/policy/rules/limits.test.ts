import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Rule } from '../../../../components/policy/engine/types.js';
import { createLimitsRules, jsonDepth, orderBySpecificity } from '../../../../components/policy/rules/limits.js';
import { frameContext, toolCall } from '../../../helpers/frame-context.js';

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

  it('makes one maxFrameBytes and one maxDepth rule per direction, request phase, kind limits', () => {
    assert.deepEqual(
      rules.map((rule) => [rule.id, rule.kind, rule.mode, rule.direction, rule.phase]),
      [
        ['limits.maxFrameBytes', 'limits', 'enforce', 'client-to-server', 'request'],
        ['limits.maxFrameBytes', 'limits', 'enforce', 'server-to-client', 'request'],
        ['limits.maxDepth', 'limits', 'enforce', 'client-to-server', 'request'],
        ['limits.maxDepth', 'limits', 'enforce', 'server-to-client', 'request'],
      ],
    );
    assert.deepEqual(byId('limits.maxFrameBytes', 'client-to-server').methods, ['*', 'tools/*', 'tools/call', 'tools/li*']);
    assert.deepEqual(byId('limits.maxDepth', 'server-to-client').methods, ['*']);
    assert.deepEqual(createLimitsRules({}, { mode: 'observe' }), []);
    assert.deepEqual(createLimitsRules({ maxInFlight: 3 }, { mode: 'observe' }), []);
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

  const invalid: Array<[string, unknown, RegExp]> = [
    ['a zero maxDepth', { maxDepth: 0 }, /limits.maxDepth.*positive integer/],
    ['a fractional maxInFlight', { maxInFlight: 1.5 }, /limits.maxInFlight.*positive integer/],
    ['a bad byte count', { maxFrameBytes: { '*': '1MiB' } }, /"\*" must be a positive number of bytes/],
    ['an unknown key', { maxFrames: 1 }, /unknown key "maxFrames"/],
  ];
  for (const [label, limits, message] of invalid) {
    it(`throws on ${label}`, () => assert.throws(() => createLimitsRules(limits as never, { mode: 'enforce' }), message));
  }
});
