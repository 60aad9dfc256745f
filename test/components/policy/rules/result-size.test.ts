import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LimitsSection } from '../../../../components/policy/document/document.js';
import { compileLoadedPolicy } from '../../../../components/policy/engine/build.js';
import { evaluateFrame } from '../../../../components/policy/engine/evaluate.js';
import type { Rule, Verdict } from '../../../../components/policy/engine/types.js';
import { parsePolicyText } from '../../../../components/policy/document/index.js';
import { createRulesFromSpec } from '../../../../components/policy/rules/index.js';
import { createLimitsRules } from '../../../../components/policy/rules/limits.js';
import { cutToBytes, measureResult } from '../../../../components/policy/rules/result-size.js';
import { frameContext } from '../../../helpers/frame-context.js';
import { assertRejected, policyText } from '../rejections.js';

const resultRule = (limits: LimitsSection, mode: 'enforce' | 'observe' = 'enforce'): Rule => {
  const rule = createLimitsRules(limits, { mode }).find((candidate) => candidate.id === 'limits.maxResultBytes');
  assert.ok(rule, 'a maxResultBytes rule');
  return rule;
};
const toolResult = (result: unknown, id: number | string = 1): unknown => ({ jsonrpc: '2.0', id, result });
const text = (value: string): { type: 'text'; text: string } => ({ type: 'text', text: value });
const evaluate = (rule: Rule, message: unknown, method = 'tools/call'): Verdict => rule.evaluate(frameContext(message, { method }));
const denial = (verdict: Verdict): Extract<Verdict, { effect: 'deny' }> => {
  assert.equal(verdict.effect, 'deny');
  return verdict as Extract<Verdict, { effect: 'deny' }>;
};
const rewritten = (verdict: Verdict): { result: { content: { type: string; text?: string }[]; structuredContent?: unknown; isError?: boolean }; id: unknown } => {
  assert.equal(verdict.effect, 'rewrite');
  return (verdict as Extract<Verdict, { effect: 'rewrite' }>).body as never;
};

describe('measureResult', () => {
  it('counts the UTF-8 of text, the base64 length of data and blobs, serialized structuredContent and other items as JSON', () => {
    const image = { type: 'image', data: 'A'.repeat(400), mimeType: 'image/png' };
    const blob = { type: 'resource', resource: { uri: 'file:///a', blob: 'B'.repeat(300) } };
    const embeddedText = { type: 'resource', resource: { uri: 'file:///b', text: 'é'.repeat(10) } };
    const link = { type: 'resource_link', uri: 'file:///c', name: 'c' };
    const structuredContent = { rows: [1, 2, 3] };
    const measured = measureResult('tools/call', { content: [text('héllo'), image, blob, embeddedText, link], structuredContent, _meta: { big: 'x'.repeat(1000) } });
    assert.equal(measured, 6 + 400 + 300 + 20 + Buffer.byteLength(JSON.stringify(link)) + Buffer.byteLength(JSON.stringify(structuredContent)));
  });

  it('counts any other result as its JSON', () => {
    const result = { contents: [{ uri: 'file:///a', text: 'ü' }] };
    assert.equal(measureResult('resources/read', result), Buffer.byteLength(JSON.stringify(result)));
  });

  it('cannot measure what is not an object, or content that is not a list of objects', () => {
    assert.equal(measureResult('tools/call', 'text'), undefined);
    assert.equal(measureResult('tools/call', [text('a')]), undefined);
    assert.equal(measureResult('tools/call', { content: 'a' }), undefined);
    assert.equal(measureResult('tools/call', { content: ['a'] }), undefined);
    assert.equal(measureResult('resources/read', null), undefined);
  });
});

describe('cutToBytes', () => {
  it('cuts between characters, never inside one', () => {
    assert.equal(cutToBytes('abc', 10), 'abc');
    assert.equal(cutToBytes('abcdef', 3), 'abc');
    assert.equal(cutToBytes('aé', 2), 'a'); // é is 2 bytes: it does not fit in the one left
    assert.equal(cutToBytes('a😀b', 4), 'a');
    assert.equal(cutToBytes('a😀b', 5), 'a😀');
    assert.equal(cutToBytes('é', 0), '');
  });
});

describe('limits.maxResultBytes', () => {
  it('makes no rule without the cap, and one response rule, server to client, for every method with it', () => {
    assert.equal(createLimitsRules({ maxDepth: 4 }, { mode: 'enforce' }).some((rule) => rule.id === 'limits.maxResultBytes'), false);
    const rule = resultRule({ maxResultBytes: 100 });
    assert.deepEqual([rule.kind, rule.direction, rule.phase, rule.methods], ['limits', 'server-to-client', 'response', ['*']]);
  });

  it('does not parse a frame no longer than the cap', () => {
    const rule = resultRule({ maxResultBytes: 200 });
    const frame = frameContext(toolResult({ content: [text('x'.repeat(100))] }), { method: 'tools/call' });
    assert.ok(frame.line.length <= 200);
    assert.equal(rule.evaluate(frame).effect, 'continue');
    assert.equal(frame.bodyReads, 0);
  });

  it('passes a result under the cap in a frame over it (envelope and metadata are not counted)', () => {
    const rule = resultRule({ maxResultBytes: 100 });
    const message = toolResult({ content: [text('x'.repeat(90))], _meta: { trace: 'y'.repeat(200) } });
    assert.equal(evaluate(rule, message).effect, 'continue');
  });

  it('denies a tools/call result over the cap with a tool error naming the cap', () => {
    const rule = resultRule({ maxResultBytes: 100 });
    const verdict = denial(evaluate(rule, toolResult({ content: [text('x'.repeat(60)), text('y'.repeat(60))] })));
    assert.equal(verdict.reason, 'result_too_large');
    assert.equal(verdict.reply, 'tool-error');
    assert.equal(verdict.category, 'forbidden');
    assert.equal(verdict.message, 'the result was 120 bytes, over the cap of 100 (limits.maxResultBytes)');
  });

  it('counts base64 data at its length on the wire', () => {
    const rule = resultRule({ maxResultBytes: 100 });
    const image = (length: number) => toolResult({ content: [{ type: 'image', mimeType: 'image/png', data: 'A'.repeat(length) }] });
    assert.equal(evaluate(rule, image(100)).effect, 'continue');
    assert.equal(denial(evaluate(rule, image(101))).message, 'the result was 101 bytes, over the cap of 100 (limits.maxResultBytes)');
  });

  it('counts structuredContent', () => {
    const rule = resultRule({ maxResultBytes: 100 });
    const structuredContent = { values: 'v'.repeat(80) };
    const bytes = Buffer.byteLength(JSON.stringify(structuredContent)) + 20;
    assert.equal(denial(evaluate(rule, toolResult({ content: [text('t'.repeat(20))], structuredContent }))).message, `the result was ${bytes} bytes, over the cap of 100 (limits.maxResultBytes)`);
  });

  it('denies another method\'s result over the cap (a JSON-RPC error: the tool-error reply is for tools/call only)', () => {
    const rule = resultRule({ maxResultBytes: 100 });
    const verdict = denial(evaluate(rule, toolResult({ contents: [{ uri: 'file:///a', text: 'z'.repeat(200) }] }), 'resources/read'));
    assert.equal(verdict.reason, 'result_too_large');
    assert.match(verdict.message, /^the result was \d+ bytes, over the cap of 100/);
  });

  it('lets an error response through: it carries no result', () => {
    const rule = resultRule({ maxResultBytes: 100 });
    assert.equal(evaluate(rule, { jsonrpc: '2.0', id: 1, error: { code: -1, message: 'e'.repeat(300) } }).effect, 'continue');
  });

  it('fails closed on a result it cannot measure in a frame over the cap', () => {
    const rule = resultRule({ maxResultBytes: 100 });
    for (const result of ['s'.repeat(200), ['s'.repeat(200)], { content: 's'.repeat(200) }, { content: ['s'.repeat(200)] }]) {
      const verdict = denial(evaluate(rule, toolResult(result)));
      assert.equal(verdict.reason, 'result_unmeasurable');
    }
    assert.equal(denial(evaluate(rule, toolResult(['s'.repeat(200)]), 'resources/read')).reason, 'result_unmeasurable');
  });

  describe('onOversize: truncate', () => {
    const rule = resultRule({ maxResultBytes: 100, onOversize: 'truncate' });

    it('keeps the items that fit, cuts the first text that does not, drops the rest, and says so', () => {
      const image = { type: 'image', mimeType: 'image/png', data: 'A'.repeat(50) };
      const body = rewritten(evaluate(rule, toolResult({ content: [text('a'.repeat(40)), text('b'.repeat(100)), image], isError: false }, 'abc')));
      assert.equal(body.id, 'abc');
      assert.deepEqual(body.result.content.slice(0, 2), [text('a'.repeat(40)), text('b'.repeat(60))]);
      assert.equal(body.result.content.length, 3);
      assert.equal(body.result.content[2]!.text, '[mcp-sidecar: the result was 190 bytes, over the cap of 100 (limits.maxResultBytes); 2 of 3 content items were cut or dropped, 90 bytes]');
      assert.equal(body.result.isError, false);
      const verdict = evaluate(rule, toolResult({ content: [text('a'.repeat(40)), text('b'.repeat(100)), image] }));
      assert.equal((verdict as { reason: string }).reason, 'result_truncated');
      assert.equal((verdict as { changes: number }).changes, 2);
    });

    it('drops a binary item that does not fit whole: base64 cut short is no image', () => {
      const image = { type: 'image', mimeType: 'image/png', data: 'A'.repeat(200) };
      const body = rewritten(evaluate(rule, toolResult({ content: [text('a'.repeat(10)), image, text('after')] })));
      assert.deepEqual(body.result.content.slice(0, 1), [text('a'.repeat(10))]);
      assert.equal(body.result.content.length, 2);
      assert.match(body.result.content[1]!.text!, /2 of 3 content items were cut or dropped, 205 bytes\]$/);
    });

    it('keeps structuredContent whole, its bytes taken from the budget first', () => {
      const structuredContent = { n: 'v'.repeat(42) }; // 50 bytes as JSON: {"n":"…"}
      const body = rewritten(evaluate(rule, toolResult({ content: [text('t'.repeat(200))], structuredContent })));
      assert.deepEqual(body.result.structuredContent, structuredContent);
      assert.deepEqual(body.result.content[0], text('t'.repeat(50)));
    });

    it('denies when structuredContent alone is over the cap: it cannot be cut and still match the outputSchema', () => {
      const verdict = denial(evaluate(rule, toolResult({ content: [text('t')], structuredContent: { n: 'v'.repeat(200) } })));
      assert.equal(verdict.reason, 'result_too_large');
    });

    it('denies another method\'s result: only a tools/call result has items to cut', () => {
      assert.equal(denial(evaluate(rule, toolResult({ contents: [{ uri: 'file:///a', text: 'z'.repeat(200) }] }), 'resources/read')).reason, 'result_too_large');
    });
  });

  it('in observe mode: the result passes and a would-deny is recorded', () => {
    const observeText = policyText({ limits: { maxResultBytes: '1KiB' } }).replace('"rules"', '"mode":"observe","rules"');
    const loaded = parsePolicyText(observeText, 'observe.yaml');
    const policy = compileLoadedPolicy(loaded, createRulesFromSpec);
    const line = Buffer.from(`${JSON.stringify(toolResult({ content: [text('x'.repeat(2000))] }))}\n`);
    const evaluation = evaluateFrame(policy, 'server-to-client', 'response', 'tools/call', line, 0);
    assert.equal(evaluation.action.kind, 'forward');
    assert.deepEqual(evaluation.decisions.map((d) => [d.ruleId, d.effect, d.enforced, d.reason]), [['limits.maxResultBytes', 'deny', false, 'result_too_large']]);
  });

  it('enforced through the engine: a truncated result keeps its id as written', () => {
    const loaded = parsePolicyText(policyText({ limits: { maxResultBytes: '1KiB', onOversize: 'truncate' } }), 'truncate.yaml');
    const policy = compileLoadedPolicy(loaded, createRulesFromSpec);
    const line = Buffer.from(`{"jsonrpc":"2.0","id":7.0,"result":{"content":[{"type":"text","text":"${'x'.repeat(2000)}"}]}}\n`);
    const evaluation = evaluateFrame(policy, 'server-to-client', 'response', 'tools/call', line, 0);
    assert.equal(evaluation.action.kind, 'replace');
    const out = (evaluation.action as { line: Buffer }).line.toString();
    assert.match(out, /^\{"jsonrpc":"2.0","id":7.0,"result":/);
    const parsed = JSON.parse(out) as { result: { content: { text: string }[] } };
    assert.equal(parsed.result.content[0]!.text, 'x'.repeat(1024));
  });

  it('the schema refuses a cap below 1 KiB and an unknown onOversize', () => {
    assertRejected(policyText({ limits: { maxResultBytes: 10 } }), 'limits.maxResultBytes', /expected a size in bytes from 1024/);
    assertRejected(policyText({ limits: { maxResultBytes: '1MiB', onOversize: 'cut' } }), 'limits.onOversize', /deny.*truncate/);
  });
});

describe('limits.perTool', () => {
  // A response frame as the pump hands it: the tool its request named (undefined: unreadable).
  const forTool = (message: unknown, tool: string | undefined, method = 'tools/call') => Object.assign(frameContext(message, { method }), { tool });
  const bigResult = (bytes: number) => toolResult({ content: [text('x'.repeat(bytes))] });

  it('needs the tool only with a per-tool entry, and makes a tools/call rule when there is no section cap', () => {
    assert.equal(resultRule({ maxResultBytes: 100 }).needsTool, undefined);
    const perToolOnly = resultRule({ perTool: [{ tools: ['fetch'], maxResultBytes: 100 }] });
    assert.equal(perToolOnly.needsTool, true);
    assert.deepEqual(perToolOnly.methods, ['tools/call']);
    assert.deepEqual(resultRule({ maxResultBytes: 100, perTool: [{ tools: ['fetch'], maxResultBytes: 200 }] }).methods, ['*']);
  });

  it('a matching entry replaces the section cap, larger or smaller; other tools keep the section cap', () => {
    const rule = resultRule({ maxResultBytes: 100, perTool: [{ tools: ['read_*'], maxResultBytes: 500 }, { tools: ['fetch'], maxResultBytes: 50 }] });
    assert.equal(rule.evaluate(forTool(bigResult(300), 'read_file')).effect, 'continue');
    assert.equal(denial(rule.evaluate(forTool(bigResult(600), 'read_file'))).message, 'the result was 600 bytes, over the cap of 500 (limits.perTool[0] for tool "read_file")');
    assert.equal(denial(rule.evaluate(forTool(bigResult(80), 'fetch'))).message, 'the result was 80 bytes, over the cap of 50 (limits.perTool[1] for tool "fetch")');
    assert.equal(denial(rule.evaluate(forTool(bigResult(300), 'search'))).message, 'the result was 300 bytes, over the cap of 100 (limits.maxResultBytes)');
    assert.equal(rule.evaluate(forTool(bigResult(80), 'search')).effect, 'continue');
  });

  it('the first matching entry wins, even over a later exact name', () => {
    const rule = resultRule({ perTool: [{ tools: ['*'], maxResultBytes: 100 }, { tools: ['fetch'], maxResultBytes: 1000 }] });
    assert.match(denial(rule.evaluate(forTool(bigResult(300), 'fetch'))).message, /over the cap of 100 \(limits\.perTool\[0\] for tool "fetch"\)$/);
  });

  it('maxResultBytes 0 exempts the tool from the section cap', () => {
    const rule = resultRule({ maxResultBytes: 100, perTool: [{ tools: ['export'], maxResultBytes: 0 }] });
    const frame = forTool(bigResult(5000), 'export');
    assert.equal(rule.evaluate(frame).effect, 'continue');
    assert.equal(frame.bodyReads, 0);
    assert.equal(denial(rule.evaluate(forTool(bigResult(5000), 'other'))).reason, 'result_too_large');
  });

  it('without a section cap, a tool no entry matches has no cap', () => {
    const rule = resultRule({ perTool: [{ tools: ['fetch'], maxResultBytes: 100 }] });
    const frame = forTool(bigResult(5000), 'search');
    assert.equal(rule.evaluate(frame).effect, 'continue');
    assert.equal(frame.bodyReads, 0);
  });

  it('other methods take the section cap: per-tool caps are for tools/call', () => {
    const rule = resultRule({ maxResultBytes: 100, perTool: [{ tools: ['*'], maxResultBytes: 0 }] });
    const read = toolResult({ contents: [{ uri: 'file:///a', text: 'z'.repeat(200) }] });
    assert.equal(denial(rule.evaluate(forTool(read, undefined, 'resources/read'))).message.endsWith('(limits.maxResultBytes)'), true);
  });

  it('a tool whose name could not be read gets the strictest cap of all, with that cap\'s onOversize', () => {
    const rule = resultRule({ maxResultBytes: 300, perTool: [{ tools: ['big'], maxResultBytes: 1000 }, { tools: ['small'], maxResultBytes: 50, onOversize: 'truncate' }, { tools: ['free'], maxResultBytes: 0 }] });
    const verdict = rule.evaluate(forTool(bigResult(80), undefined));
    const body = rewritten(verdict);
    assert.deepEqual(body.result.content[0], text('x'.repeat(50)));
    assert.match(body.result.content[1]!.text!, /over the cap of 50 \(limits\.perTool\[1\], the strictest cap, as the tool's name could not be read\)/);
    // With only a section cap smaller than every entry, the section cap is the strictest.
    const sectionStrictest = resultRule({ maxResultBytes: 100, perTool: [{ tools: ['big'], maxResultBytes: 1000 }] });
    assert.equal(denial(sectionStrictest.evaluate(forTool(bigResult(200), undefined))).message, 'the result was 200 bytes, over the cap of 100 (limits.maxResultBytes, the strictest cap, as the tool\'s name could not be read)');
    // Every entry 0 and no section cap: no cap to apply.
    assert.equal(resultRule({ perTool: [{ tools: ['free'], maxResultBytes: 0 }] }).evaluate(forTool(bigResult(5000), undefined)).effect, 'continue');
  });

  it('an entry\'s onOversize overrides the section\'s, and inherits it when absent', () => {
    const rule = resultRule({ maxResultBytes: 100, onOversize: 'truncate', perTool: [{ tools: ['strict'], maxResultBytes: 200, onOversize: 'deny' }, { tools: ['loose'], maxResultBytes: 200 }] });
    assert.equal(denial(rule.evaluate(forTool(bigResult(300), 'strict'))).reason, 'result_too_large');
    const body = rewritten(rule.evaluate(forTool(bigResult(300), 'loose')));
    assert.deepEqual(body.result.content[0], text('x'.repeat(200)));
    assert.equal(body.result.content[1]!.text, '[mcp-sidecar: the result was 300 bytes, over the cap of 200 (limits.perTool[1]); 1 of 1 content items were cut or dropped, 100 bytes]');
  });

  it('keeps the no-parse shortcut: a frame no longer than the cap in force is not parsed', () => {
    const rule = resultRule({ maxResultBytes: 100, perTool: [{ tools: ['read_*'], maxResultBytes: 5000 }] });
    const frame = forTool(bigResult(1000), 'read_file');
    assert.ok(frame.line.length > 100 && frame.line.length <= 5000);
    assert.equal(rule.evaluate(frame).effect, 'continue');
    assert.equal(frame.bodyReads, 0);
  });

  it('through the engine: enforce denies, observe forwards with a would-deny, and the policy says it needs the tool', () => {
    const limits = { maxResultBytes: '4KiB', perTool: [{ tools: ['fetch'], maxResultBytes: '1KiB' }] };
    const line = Buffer.from(`${JSON.stringify(bigResult(2000))}\n`);
    const enforced = compileLoadedPolicy(parsePolicyText(policyText({ limits }), 'per-tool.yaml'), createRulesFromSpec);
    assert.equal(enforced.responsesNeedTool, true);
    const denied = evaluateFrame(enforced, 'server-to-client', 'response', 'tools/call', line, 0, undefined, false, 0, undefined, undefined, 'fetch');
    assert.equal(denied.action.kind, 'deny');
    assert.equal(evaluateFrame(enforced, 'server-to-client', 'response', 'tools/call', line, 0, undefined, false, 0, undefined, undefined, 'search').action.kind, 'forward');
    const observeText = policyText({ limits }).replace('"rules"', '"mode":"observe","rules"');
    const observed = evaluateFrame(compileLoadedPolicy(parsePolicyText(observeText, 'observe.yaml'), createRulesFromSpec), 'server-to-client', 'response', 'tools/call', line, 0, undefined, false, 0, undefined, undefined, 'fetch');
    assert.equal(observed.action.kind, 'forward');
    assert.deepEqual(observed.decisions.map((d) => [d.ruleId, d.effect, d.enforced, d.reason]), [['limits.maxResultBytes', 'deny', false, 'result_too_large']]);
    const withoutPerTool = compileLoadedPolicy(parsePolicyText(policyText({ limits: { maxResultBytes: '4KiB' } }), 'global.yaml'), createRulesFromSpec);
    assert.equal(withoutPerTool.responsesNeedTool, false);
  });

  it('the schema takes 0 or a size, refuses less than 1 KiB, an empty tools list and an unknown onOversize', () => {
    const loaded = parsePolicyText(policyText({ limits: { perTool: [{ tools: ['a'], maxResultBytes: 0 }, { tools: ['b*'], maxResultBytes: '2KiB', onOversize: 'truncate' }] } }), 'ok.yaml');
    assert.deepEqual(loaded.document.limits.perTool, [{ tools: ['a'], maxResultBytes: 0 }, { tools: ['b*'], maxResultBytes: 2048, onOversize: 'truncate' }]);
    assertRejected(policyText({ limits: { perTool: [{ tools: ['a'], maxResultBytes: 10 }] } }), 'limits.perTool[0].maxResultBytes', /expected 0 \(no cap\) or a size in bytes from 1024/);
    assertRejected(policyText({ limits: { perTool: [{ tools: [], maxResultBytes: 0 }] } }), 'limits.perTool[0].tools', /./);
    assertRejected(policyText({ limits: { perTool: [{ tools: ['a'], maxResultBytes: 0, onOversize: 'cut' }] } }), 'limits.perTool[0].onOversize', /deny.*truncate/);
    assertRejected(policyText({ limits: { perTool: [{ tools: ['a'] }] } }), 'limits.perTool[0].maxResultBytes', /./);
  });
});
