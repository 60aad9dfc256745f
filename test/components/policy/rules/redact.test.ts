import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RedactRule } from '../../../../components/policy/document/document.js';
import type { Rule, Verdict } from '../../../../components/policy/engine/types.js';
import { createRedactRules, mayHoldSecretsInJson, redactSecrets } from '../../../../components/policy/rules/redact.js';
import { canonicalJson } from '../../../../components/values/index.js';
import { BUILT_IN_DETECTORS, type SecretMatch } from '../../../../components/policy/rules/redaction-detectors.js';
import { evaluateFrame } from '../../../../components/policy/engine/evaluate.js';
import { frameContext, resultOf } from '../../../helpers/frame-context.js';
import { policyFromRules } from '../../../helpers/test-policy.js';
import { assertRejected, policyWithRule } from '../rejections.js';

// Test secrets, assembled at run time so this file does not itself look like a leak.
const AWS = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');
const AWS_TEMP = ['ASIA', 'Z2X3C4V5B6N7M8Q9'].join('');
const GHP = ['ghp', '_', 'aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA2cE4'].join('');
const GHS = ['ghs', '_', '0123456789abcdefghijABCDEFGHIJ0123456789xyz'].join('');
const GH_PAT = ['github', '_pat_', '11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWX'].join('');
const JWT = ['eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', 'eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ', 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'].join('.');
const BEARER = ['mF_9', '.B5f-4.1JqM'].join('');
const PASSWORD = ['hunter2', '-Correct-Horse'].join('');
const KEY_BODY = 'MIIEowIBAAKCAQEAvX7fQ2k9Zb3m\nQ1w2e3r4t5y6u7i8o9p0aSdFgHjK\nlZxCvBnM1234567890abcdefGHIJ==';
const PEM = ['-----BEGIN RSA ', 'PRIVATE KEY-----\n', KEY_BODY, '\n-----END RSA ', 'PRIVATE KEY-----'].join('');
const OPENSSH = ['-----BEGIN OPENSSH ', 'PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH ', 'PRIVATE KEY-----'].join('');

/** The rules of one redact spec: the response rule, then the notification rule (each when `in` names its methods). */
function rulesOf(redact: Record<string, unknown> = {}, mode: 'enforce' | 'observe' = 'enforce'): Rule[] {
  return createRedactRules({ id: 'secrets', redact: { detectors: 'all', ...redact } } as RedactRule, { mode });
}

/** The response rule. */
function ruleOf(redact: Record<string, unknown> = {}): Rule {
  const rules = rulesOf(redact).filter((rule) => rule.phase === 'response');
  assert.equal(rules.length, 1);
  return rules[0]!;
}

/** The notification rule (server-to-client, request phase). */
function notificationRuleOf(redact: Record<string, unknown> = {}, mode: 'enforce' | 'observe' = 'enforce'): Rule {
  const rules = rulesOf(redact, mode).filter((rule) => rule.phase === 'request');
  assert.equal(rules.length, 1);
  return rules[0]!;
}

const textResult = (...texts: string[]): Record<string, unknown> => resultOf({ content: texts.map((text) => ({ type: 'text', text })) });
const texts = (body: unknown): string[] => (body as { result: { content: Array<{ text: string }> } }).result.content.map((item) => item.text);

function redactTexts(rule: Rule, ...input: string[]): { verdict: Verdict; out: string[] } {
  const verdict = rule.evaluate(frameContext(textResult(...input), { method: 'tools/call' }));
  return { verdict, out: verdict.effect === 'rewrite' ? texts(verdict.body) : input };
}

/** The verdict, serialized whole, must not contain the secret (nor any 8-character piece of it). */
function assertNowhere(verdict: Verdict, secret: string): void {
  const serialized = JSON.stringify(verdict);
  for (let i = 0; i + 8 <= secret.length; i++) {
    const piece = secret.slice(i, i + 8);
    if (/^[\s-]*$/.test(piece) || piece.includes('-----') || /PRIVATE|BEGIN|END/.test(piece)) continue;
    assert.ok(!serialized.includes(piece), `the verdict contains ${JSON.stringify(piece)} of the secret: ${serialized.slice(0, 400)}`);
  }
}

describe('built-in detectors', () => {
  const find = (name: keyof typeof BUILT_IN_DETECTORS, text: string): string[] => {
    const out: SecretMatch[] = [];
    BUILT_IN_DETECTORS[name].find(text, out);
    return out.map((match) => text.slice(match.start, match.end));
  };
  const table: Array<[keyof typeof BUILT_IN_DETECTORS, string, string[]]> = [
    ['private-key', `key:\n${PEM}\ndone`, [PEM]],
    ['private-key', `${OPENSSH}`, [OPENSSH]],
    ['private-key', '-----BEGIN PRIVATE KEY-----\nABC\n-----END PRIVATE KEY-----', ['-----BEGIN PRIVATE KEY-----\nABC\n-----END PRIVATE KEY-----']],
    ['private-key', '-----BEGIN PGP PRIVATE KEY BLOCK-----\nxyz\n-----END PGP PRIVATE KEY BLOCK-----', ['-----BEGIN PGP PRIVATE KEY BLOCK-----\nxyz\n-----END PGP PRIVATE KEY BLOCK-----']],
    ['private-key', 'cut: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB', ['-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB']],
    ['private-key', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----', []],
    ['private-key', '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----', []],
    ['aws-access-key', `id=${AWS} and ${AWS_TEMP}.`, [AWS, AWS_TEMP]],
    ['aws-access-key', `x${AWS}`, []],
    ['aws-access-key', `${AWS}X`, []],
    ['aws-access-key', 'AKIA1234', []],
    ['github-token', `token ${GHP} and ${GHS}`, [GHP, GHS]],
    ['github-token', `pat: ${GH_PAT}`, [GH_PAT]],
    ['github-token', 'ghp_short123', []],
    ['github-token', `x${GHP}`, []],
    ['jwt', `jwt=${JWT};`, [JWT]],
    ['jwt', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.', ['eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.']],
    ['jwt', 'eyJ.only', []],
    ['jwt', `x${JWT}`, []],
    ['bearer-token', `Authorization: Bearer ${BEARER}\n`, [BEARER]],
    ['bearer-token', `authorization: bearer ${BEARER}==`, [`${BEARER}==`]],
    ['bearer-token', 'BEARER abcdefghijklmnopqrstuvwxyz', ['abcdefghijklmnopqrstuvwxyz']],
    ['bearer-token', 'the bearer of this letter', []],
    ['bearer-token', 'Bearer authentication is described in RFC 6750', []],
    ['password-assignment', `password=${PASSWORD} next`, [PASSWORD]],
    ['password-assignment', `DB_PASSWORD="${PASSWORD} with space"`, [`${PASSWORD} with space`]],
    ['password-assignment', `{"api_key": "${PASSWORD}", "x": 1}`, [PASSWORD]],
    ['password-assignment', `passwd: ${PASSWORD}`, [PASSWORD]],
    ['password-assignment', `AWS_SECRET_ACCESS_KEY=${PASSWORD}`, [PASSWORD]],
    ['password-assignment', `?token=${PASSWORD}&page=2`, [PASSWORD]],
    ['password-assignment', `secret := '${PASSWORD}'`, [PASSWORD]],
    ['password-assignment', `x-api-key: ${PASSWORD}`, [PASSWORD]],
    ['password-assignment', 'max_tokens: 1000, passwordless: true, secretary: Bob', []],
    ['password-assignment', 'if password == expected:', []],
    ['password-assignment', 'password=', []],
  ];
  for (const [name, text, expected] of table) {
    it(`${name}: ${JSON.stringify(text.slice(0, 50))}`, () => assert.deepEqual(find(name, text), expected));
  }
});

describe('redact rule', () => {
  const rule = ruleOf();

  it('is a server-to-client response rule on the results, and a request-phase rule on the notifications, of `in`', () => {
    assert.deepEqual([rule.kind, rule.direction, rule.phase, rule.methods], ['redact', 'server-to-client', 'response', ['tools/call', 'resources/read', 'prompts/get']]);
    const notifications = notificationRuleOf();
    assert.deepEqual([notifications.id, notifications.kind, notifications.direction, notifications.phase, notifications.methods], ['secrets', 'redact', 'server-to-client', 'request', ['notifications/message', 'notifications/progress']]);
    assert.deepEqual(rulesOf({ in: ['resources/read'] }).map((r) => [r.phase, r.methods]), [['response', ['resources/read']]]);
    assert.deepEqual(rulesOf({ in: ['notifications/progress'] }).map((r) => [r.phase, r.methods]), [['request', ['notifications/progress']]]);
  });

  const each: Array<[string, string, string, string]> = [
    ['private-key', `here:\n${PEM}\nend`, 'here:\n[REDACTED:private-key]\nend', PEM],
    ['aws-access-key', `AWS_ACCESS_KEY_ID ${AWS} set`, 'AWS_ACCESS_KEY_ID [REDACTED:aws-access-key] set', AWS],
    ['github-token', `clone with ${GHP}`, 'clone with [REDACTED:github-token]', GHP],
    ['jwt', `session ${JWT} ok`, 'session [REDACTED:jwt] ok', JWT],
    ['bearer-token', `curl -H "Authorization: Bearer ${BEARER}"`, 'curl -H "Authorization: Bearer [REDACTED:bearer-token]"', BEARER],
    ['password-assignment', `login with password=${PASSWORD} now`, 'login with password=[REDACTED:password-assignment] now', PASSWORD],
  ];
  for (const [name, input, output, secret] of each) {
    it(`redacts ${name} in a tools/call text item, and the secret is nowhere in the verdict`, () => {
      const { verdict, out } = redactTexts(rule, input);
      assert.ok(verdict.effect === 'rewrite', JSON.stringify(verdict));
      assert.equal(verdict.reason, 'secret_redacted');
      assert.equal(verdict.changes, 1);
      assert.deepEqual(out, [output]);
      assertNowhere(verdict, secret);
    });
  }

  it('with only some detectors, leaves the others alone', () => {
    const { verdict, out } = redactTexts(ruleOf({ detectors: ['jwt'] }), `${AWS} ${JWT}`);
    assert.ok(verdict.effect === 'rewrite');
    assert.deepEqual(out, [`${AWS} [REDACTED:jwt]`]);
  });

  const split: Array<[string, string, number]> = [
    ['a GitHub token', GHP, 10],
    ['an AWS key', AWS, 7],
    ['a JWT cut at a dot', JWT, JWT.indexOf('.') + 1],
    ['a private key', PEM, 40],
    ['a password value', `password=${PASSWORD}`, 12],
  ];
  for (const [label, secret, cut] of split) {
    it(`catches ${label} split across two adjacent text items`, () => {
      const first = `before ${secret.slice(0, cut)}`;
      const second = `${secret.slice(cut)} after`;
      const { verdict, out } = redactTexts(rule, first, second);
      assert.ok(verdict.effect === 'rewrite', `not caught: ${JSON.stringify(out)}`);
      assert.equal(verdict.changes, 1, 'one secret, one change');
      assert.match(out[0]!, /^before (password=)?\[REDACTED:[a-z-]+\]$/);
      assert.match(out[1]!, /^\[REDACTED:[a-z-]+\] after$/);
      assertNowhere(verdict, secret.replace(/^password=/, ''));
    });
  }

  it('catches a secret spread over three items, and one across a text and a resource item', () => {
    const three = redactTexts(rule, `x ${GHP.slice(0, 5)}`, GHP.slice(5, 20), `${GHP.slice(20)} y`);
    assert.deepEqual(three.out, ['x [REDACTED:github-token]', '[REDACTED:github-token]', '[REDACTED:github-token] y']);
    const mixed = resultOf({ content: [
      { type: 'text', text: `token: ${JWT.slice(0, 30)}` },
      { type: 'image', data: 'AAAA', mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'file:///x', text: `${JWT.slice(30)} end`, mimeType: 'text/plain' } },
    ] });
    const verdict = rule.evaluate(frameContext(mixed, { method: 'tools/call' }));
    assert.ok(verdict.effect === 'rewrite');
    const content = (verdict.body as { result: { content: Array<Record<string, any>> } }).result.content;
    // The password-assignment value and the JWT are the same range; the JWT names the marker.
    assert.equal(content[0]!['text'], 'token: [REDACTED:jwt]');
    assert.deepEqual(content[1], { type: 'image', data: 'AAAA', mimeType: 'image/png' });
    assert.equal(content[2]!['resource'].text, '[REDACTED:jwt] end');
    assert.equal(content[2]!['resource'].uri, 'file:///x');
    assertNowhere(verdict, JWT);
  });

  it('keeps a secret whole in one item even when the next item runs on without a space', () => {
    const { out } = redactTexts(rule, `key ${AWS}`, 'XYZ more text');
    assert.deepEqual(out, ['key [REDACTED:aws-access-key]', 'XYZ more text']);
  });

  it('redacts with a custom RE2 pattern, named in the marker', () => {
    const custom = ruleOf({ detectors: ['private-key'], patterns: [{ name: 'employee-id', pattern: 'EMP-[0-9]{6}' }, { name: 'Case Number', pattern: 'CASE#[0-9]+' }] });
    assert.deepEqual(redactTexts(custom, 'see CASE#42').out, ['see [REDACTED:Case Number]']);
    const { verdict, out } = redactTexts(custom, 'ids: EMP-123456, EMP-654321 and EMP-12');
    assert.ok(verdict.effect === 'rewrite');
    assert.equal(verdict.changes, 2);
    assert.deepEqual(out, ['ids: [REDACTED:employee-id], [REDACTED:employee-id] and EMP-12']);
    const split = redactTexts(custom, 'EMP-12', '3456');
    assert.deepEqual(split.out, ['[REDACTED:employee-id]', '[REDACTED:employee-id]']);
  });

  it('redacts every string of structuredContent, recursively, sharing what did not change', () => {
    const structured = { ok: true, count: 3, nested: { deep: [{ env: `GITHUB_TOKEN=${GHP}` }, 'plain', 7] }, untouched: { a: 'b' } };
    const message = resultOf({ content: [{ type: 'text', text: 'see structured' }], structuredContent: structured });
    const frame = frameContext(message, { method: 'tools/call' });
    const verdict = rule.evaluate(frame);
    assert.ok(verdict.effect === 'rewrite');
    const original = (frame.body() as any).result;
    const rewritten = (verdict.body as any).result;
    assert.equal(rewritten.structuredContent.nested.deep[0].env, 'GITHUB_TOKEN=[REDACTED:github-token]');
    assert.equal(rewritten.structuredContent.nested.deep[1], 'plain');
    assert.equal(rewritten.structuredContent.untouched, original.structuredContent.untouched, 'unchanged objects are shared');
    assert.equal(rewritten.content, original.content, 'unchanged content is shared');
    assertNowhere(verdict, GHP);
  });

  // Issue 12: a secret cut across the objects of a list in structuredContent reached the client.
  const structuredSplits: Array<[string, (parts: string[]) => unknown, (body: any) => string[]]> = [
    ['objects of a list', (parts) => ({ items: parts.map((part) => ({ part })) }), (body) => body.items.map((item: any) => item.part)],
    ['objects with other strings between the parts', (parts) => ({ items: parts.map((text, n) => ({ type: 'text', id: `row-${n}`, text })) }), (body) => body.items.map((item: any) => item.text)],
    ['nested objects of a list', (parts) => ({ rows: parts.map((text) => ({ meta: { text }, size: 3 })) }), (body) => body.rows.map((row: any) => row.meta.text)],
    ['strings of a list with objects between', (parts) => ({ lines: [parts[0], { skip: 'x' }, parts[1]] }), (body) => [body.lines[0], body.lines[2]]],
  ];
  for (const [label, shape, read] of structuredSplits) {
    it(`catches a secret cut across the ${label} in structuredContent`, () => {
      for (const [secret, cut] of [[AWS, 4], [AWS, 2], [GHP, 10], [JWT, JWT.indexOf('.') + 1]] as const) {
        const message = resultOf({ content: [{ type: 'text', text: 'see structured' }], structuredContent: shape([`x ${secret.slice(0, cut)}`, `${secret.slice(cut)} y`]) });
        const verdict = rule.evaluate(frameContext(message, { method: 'tools/call' }));
        assert.ok(verdict.effect === 'rewrite', `${label}: not caught`);
        assert.equal(verdict.changes, 1, 'one secret, one change');
        const parts = read((verdict.body as any).result.structuredContent);
        assert.match(parts[0]!, /^x \[REDACTED:[a-z-]+\]$/);
        assert.match(parts[1]!, /^\[REDACTED:[a-z-]+\] y$/);
        assertNowhere(verdict, secret);
      }
    });
  }

  it('does not join the strings of different members of one object (a secret at the end of one would take the next value with it)', () => {
    const structured = { token: `${GHP}`, user: 'bob', items: [{ a: 'x', b: 'y' }] };
    const verdict = rule.evaluate(frameContext(resultOf({ content: [], structuredContent: structured }), { method: 'tools/call' }));
    assert.ok(verdict.effect === 'rewrite');
    assert.deepEqual((verdict.body as any).result.structuredContent, { token: '[REDACTED:github-token]', user: 'bob', items: [{ a: 'x', b: 'y' }] });
  });

  it('redacts resources/read contents[].text and leaves blobs alone', () => {
    const message = resultOf({ contents: [
      { uri: 'file:///app/.env', mimeType: 'text/plain', text: `API_KEY=${PASSWORD}\nDEBUG=1\n` },
      { uri: 'file:///app/logo.png', blob: 'iVBORw0KGgo=' },
    ] });
    const verdict = rule.evaluate(frameContext(message, { method: 'resources/read' }));
    assert.ok(verdict.effect === 'rewrite');
    const contents = (verdict.body as any).result.contents;
    assert.equal(contents[0].text, 'API_KEY=[REDACTED:password-assignment]\nDEBUG=1\n');
    assert.deepEqual(contents[1], { uri: 'file:///app/logo.png', blob: 'iVBORw0KGgo=' });
    assertNowhere(verdict, PASSWORD);
  });

  it('redacts prompts/get messages[].content.text', () => {
    const message = resultOf({ description: 'd', messages: [
      { role: 'user', content: { type: 'text', text: `Use ${AWS}` } },
      { role: 'assistant', content: { type: 'text', text: 'Sure.' } },
    ] });
    const frame = frameContext(message, { method: 'prompts/get' });
    const verdict = rule.evaluate(frame);
    assert.ok(verdict.effect === 'rewrite');
    const messages = (verdict.body as any).result.messages;
    assert.equal(messages[1], (frame.body() as any).result.messages[1], 'the clean message is shared');
    assert.equal(messages[0].content.text, 'Use [REDACTED:aws-access-key]');
    assert.equal(messages[0].role, 'user');
    assert.deepEqual(messages[1], { role: 'assistant', content: { type: 'text', text: 'Sure.' } });
    assertNowhere(verdict, AWS);
  });

  it('redacts the message and data of an error response', () => {
    const message = { jsonrpc: '2.0', id: 1, error: { code: -32603, message: `failed with Bearer ${BEARER}`, data: { env: [`password=${PASSWORD}`] } } };
    const verdict = rule.evaluate(frameContext(message, { method: 'tools/call' }));
    assert.ok(verdict.effect === 'rewrite');
    assert.equal(verdict.changes, 2);
    assert.deepEqual((verdict.body as any).error, { code: -32603, message: 'failed with Bearer [REDACTED:bearer-token]', data: { env: ['password=[REDACTED:password-assignment]'] } });
  });

  it('redacts every string of a log notification\'s data, a secret cut across its items included', () => {
    const notifications = notificationRuleOf();
    const message = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'error', logger: 'db', data: { error: `connect with password=${PASSWORD}`, lines: [{ line: `key ${AWS.slice(0, 6)}` }, { line: `${AWS.slice(6)} loaded` }] } } };
    const verdict = notifications.evaluate(frameContext(message, { direction: 'server-to-client' }));
    assert.ok(verdict.effect === 'rewrite');
    assert.equal(verdict.reason, 'secret_redacted');
    assert.equal(verdict.changes, 2);
    assert.deepEqual((verdict.body as any).params, {
      level: 'error', logger: 'db',
      data: { error: 'connect with password=[REDACTED:password-assignment]', lines: [{ line: 'key [REDACTED:aws-access-key]' }, { line: '[REDACTED:aws-access-key] loaded' }] },
    });
    assertNowhere(verdict, AWS);
    assertNowhere(verdict, PASSWORD);
    const plain = notificationRuleOf().evaluate(frameContext({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'all good' } }, { direction: 'server-to-client' }));
    assert.deepEqual(plain, { effect: 'continue' });
  });

  it('redacts a progress notification\'s message, and leaves its token alone', () => {
    const notifications = notificationRuleOf();
    const token = `tok-${GHP}`; // the client's own token: it matches the progress to its request
    const message = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: 3, total: 10, message: `cloning with ${GHP}` } };
    const verdict = notifications.evaluate(frameContext(message, { direction: 'server-to-client' }));
    assert.ok(verdict.effect === 'rewrite');
    assert.deepEqual((verdict.body as any).params, { progressToken: token, progress: 3, total: 10, message: 'cloning with [REDACTED:github-token]' });
    assert.deepEqual(notifications.evaluate(frameContext({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } }, { direction: 'server-to-client' })), { effect: 'continue' });
  });

  it('reaches the server\'s notifications through the compiled policy: enforced, a rewrite; observed, a would-rewrite and the original bytes', () => {
    const message = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: [{ t: AWS.slice(0, 4) }, { t: AWS.slice(4) }] } };
    const line = Buffer.from(`${JSON.stringify(message)}\n`);
    const enforced = evaluateFrame(policyFromRules(rulesOf()), 'server-to-client', 'request', 'notifications/message', line, 0);
    assert.equal(enforced.action.kind, 'replace');
    const sent = (enforced.action as { line: Buffer }).line.toString();
    assert.ok(!sent.includes(AWS.slice(4)), sent);
    assert.deepEqual(JSON.parse(sent).params.data, [{ t: '[REDACTED:aws-access-key]' }, { t: '[REDACTED:aws-access-key]' }]);
    assert.deepEqual(enforced.decisions.map((d) => [d.ruleId, d.kind, d.phase, d.effect, d.enforced, d.changes]), [['secrets', 'redact', 'request', 'rewrite', true, 1]]);

    const observed = evaluateFrame(policyFromRules(rulesOf({}, 'observe'), { mode: 'observe' }), 'server-to-client', 'request', 'notifications/message', line, 0);
    assert.equal(observed.action.kind, 'forward');
    assert.deepEqual(observed.decisions.map((d) => [d.ruleId, d.effect, d.enforced, d.changes]), [['secrets', 'rewrite', false, 1]]);
    // A rule whose `in` leaves the notifications out does not see them.
    assert.equal(evaluateFrame(policyFromRules(rulesOf({ in: ['tools/call'] })), 'server-to-client', 'request', 'notifications/message', line, 0).action.kind, 'forward');
    // The client's notifications are not the server's.
    assert.equal(evaluateFrame(policyFromRules(rulesOf()), 'client-to-server', 'request', 'notifications/message', line, 0).action.kind, 'forward');
  });

  it('records a would-rewrite of a structuredContent split in observe mode, and forwards the original', () => {
    const message = resultOf({ content: [], structuredContent: { items: [{ part: 'AKIA' }, { part: AWS.slice(4) }] } });
    const line = Buffer.from(`${JSON.stringify(message)}\n`);
    const observed = evaluateFrame(policyFromRules(rulesOf({}, 'observe'), { mode: 'observe' }), 'server-to-client', 'response', 'tools/call', line, 0);
    assert.equal(observed.action.kind, 'forward');
    assert.deepEqual(observed.decisions.map((d) => [d.ruleId, d.phase, d.effect, d.enforced, d.changes]), [['secrets', 'response', 'rewrite', false, 1]]);
    const enforced = evaluateFrame(policyFromRules(rulesOf()), 'server-to-client', 'response', 'tools/call', line, 0);
    assert.equal(enforced.action.kind, 'replace');
    assert.ok(!(enforced.action as { line: Buffer }).line.toString().includes(AWS.slice(4)));
  });

  it('over-redacts rather than leaks when a secret runs straight into the next item', () => {
    // Joined, `ghp_…` and the JWT's first segment are one run of letters and digits: the
    // scanner cannot tell where the token ends, so both are redacted as one secret.
    const { verdict, out } = redactTexts(rule, `x ${GHP}`, `${JWT} y`);
    assert.ok(verdict.effect === 'rewrite');
    assert.equal(verdict.changes, 1);
    assert.deepEqual(out, ['x [REDACTED:github-token]', '[REDACTED:github-token] y']);
    assertNowhere(verdict, GHP);
    assertNowhere(verdict, JWT);
  });

  it('counts every secret, and never changes the frame it was given (the body is deep-frozen)', () => {
    const message = textResult(`${AWS} ${GHP}`, ` ${JWT}.`, 'clean');
    const frame = frameContext(message, { method: 'tools/call' });
    const before = JSON.stringify(frame.body());
    const verdict = rule.evaluate(frame);
    assert.ok(verdict.effect === 'rewrite');
    assert.equal(verdict.changes, 3);
    assert.equal(JSON.stringify(frame.body()), before);
    assert.ok(Object.isFrozen((frame.body() as any).result.content[0]));
    assert.equal((verdict.body as any).result.content[2], (frame.body() as any).result.content[2], 'the clean item is shared');
    assert.equal((verdict.body as any).id, 1);
    assert.equal((verdict.body as any).jsonrpc, '2.0');
  });

  it('leaves ordinary text alone (no false positives)', () => {
    const prose = [
      'The bearer of this letter is a friend. Password reset links expire after 24 hours.',
      'Set max_tokens: 1000 and temperature: 0.2; the token count was 812. passwordless: true.',
      'The key is in the drawer. BEGIN and END markers delimit the section. AKIA is not an acronym here.',
      'ghp is a prefix; github_pat_ is another. eyJ alone is not a token, nor is a.b.c.',
      'Bearer authentication uses a token in the Authorization header (RFC 6750).',
      'if password == expected: return True  # compare, not assign',
      '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----',
    ];
    for (const text of prose) assert.deepEqual(rule.evaluate(frameContext(textResult(text), { method: 'tools/call' })), { effect: 'continue' }, text);
  });

  it('continues on a method outside `in`, results without text, and non-object bodies', () => {
    const onlyResources = ruleOf({ in: ['resources/read'] });
    assert.deepEqual(onlyResources.evaluate(frameContext(textResult(AWS), { method: 'tools/call' })), { effect: 'continue' });
    assert.deepEqual(rule.evaluate(frameContext(resultOf({ content: [{ type: 'image', data: 'AAAA', mimeType: 'image/png' }] }), { method: 'tools/call' })), { effect: 'continue' });
    assert.deepEqual(rule.evaluate(frameContext(resultOf({}), { method: 'tools/call' })), { effect: 'continue' });
    assert.deepEqual(rule.evaluate(frameContext([1, 2], { method: 'tools/call' })), { effect: 'continue' });
  });

  // Refused by the schema, at load, with the field's path (the factory compiles validated specs).
  const DETECTORS_EXPECTED = 'expected "all" or a non-empty list of detectors (private-key, aws-access-key, github-token, jwt, bearer-token, password-assignment)';
  const NAME_EXPECTED = 'expected a name of 1 to 64 characters without brackets or control characters (it is shown in the marker [REDACTED:<name>])';
  const invalid: Array<[string, unknown, string, string]> = [
    ['an unknown detector', { detectors: ['ssn'] }, 'rules[0].redact.detectors', `${DETECTORS_EXPECTED}, found 1 unknown detector: "ssn"`],
    ['detectors not a list', { detectors: 'some' }, 'rules[0].redact.detectors', `${DETECTORS_EXPECTED}, found "some"`],
    ['an invalid RE2 pattern', { detectors: 'all', patterns: [{ name: 'x', pattern: '(a' }] }, 'rules[0].redact.patterns[0].pattern', 'expected a regular expression in RE2 syntax, found "(a" (error parsing regexp: missing closing ): `(a`)'],
    ['a lookahead', { detectors: 'all', patterns: [{ name: 'x', pattern: 'a(?=b)' }] }, 'rules[0].redact.patterns[0].pattern', 'expected a regular expression in RE2 syntax, found "a(?=b)" (error parsing regexp: invalid or unsupported Perl syntax: `(?=`)'],
    ['a pattern matching the empty string', { detectors: 'all', patterns: [{ name: 'x', pattern: 'a*' }] }, 'rules[0].redact.patterns[0].pattern', 'expected a pattern that matches at least one character, found "a*", which matches the empty string'],
    ['a marker-breaking name', { detectors: 'all', patterns: [{ name: 'x]', pattern: 'a' }] }, 'rules[0].redact.patterns[0].name', `${NAME_EXPECTED}, found "x]"`],
    ['a name with a newline', { detectors: 'all', patterns: [{ name: 'a\nb', pattern: 'a' }] }, 'rules[0].redact.patterns[0].name', `${NAME_EXPECTED}, found "a\\nb"`],
    ['a name taken by a detector', { detectors: 'all', patterns: [{ name: 'jwt', pattern: 'a' }] }, 'rules[0].redact.patterns[0].name', 'expected a name that is not a built-in detector\'s (private-key, aws-access-key, github-token, jwt, bearer-token, password-assignment), found "jwt"'],
    ['nothing to detect', { detectors: [] }, 'rules[0].redact.detectors', `${DETECTORS_EXPECTED}, found an empty list`],
    ['a method that cannot be scanned', { detectors: 'all', in: ['tools/list'] }, 'rules[0].redact.in[0]', 'expected one of: "tools/call", "resources/read", "prompts/get", "notifications/message", "notifications/progress", found "tools/list"'],
    ['no method to scan', { detectors: 'all', in: [] }, 'rules[0].redact.in', 'expected a non-empty list, found an empty list'],
    ['a key redact does not know', { detectors: 'all', scan: 'all' }, 'rules[0].redact.scan', 'unknown key "scan" (expected one of: detectors, patterns, in)'],
  ];
  const exactly = (text: string): RegExp => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  for (const [label, redact, path, message] of invalid) {
    it(`refuses ${label} at load`, () => assertRejected(policyWithRule({ id: 'bad', redact }), path, exactly(message)));
  }
});

describe('mayHoldSecretsInJson (what spares a report\'s arguments the redaction walk)', () => {
  const secrets = { AWS, AWS_TEMP, GHP, GHS, GH_PAT, JWT, BEARER: `Bearer ${BEARER}`, PASSWORD: `password=${PASSWORD}`, PEM, OPENSSH };

  it('says "maybe" for every value redactSecrets would change: each detector, secret key names, secrets split across adjacent strings', () => {
    const values: unknown[] = [
      ...Object.values(secrets).map((secret) => ({ text: `see ${secret} here` })),
      { DB_PASSWORD: 'x' }, { 'x-api-key': 123 }, { nested: [{ token: 'abc' }] }, { ApiKey: 'k' },
      // split across adjacent strings of one array: the redactor joins them, so must the check
      { parts: [AWS.slice(0, 2), AWS.slice(2)] }, { parts: ['-----BEG', 'IN RSA PRIVATE KEY-----'] }, { parts: ['to', 'ken=abc'] },
      // and across the objects of one array, key order in the canonical JSON notwithstanding
      { items: [{ z: 'a', part: AWS.slice(0, 3) }, { part: AWS.slice(3), a: 'b' }] }, { content: [{ type: 'text', text: `x ${GHP.slice(0, 2)}` }, { type: 'text', text: GHP.slice(2) }] },
      // JSON escapes elsewhere in the string do not hide an anchor
      { text: `"quoted"\n\t${GHP}\\` },
    ];
    for (const value of values) {
      assert.notEqual(redactSecrets(value).value, value, `redactSecrets changes ${JSON.stringify(value)}`);
      assert.equal(mayHoldSecretsInJson(canonicalJson(value)), true, JSON.stringify(value));
    }
  });

  it('says "nothing" for ordinary arguments, and redactSecrets agrees', () => {
    const values: unknown[] = [
      { text: 'hello world' }, { path: '/workspace/a.txt', mode: 'r', lines: [1, 2, 3] }, { query: 'max_tokens is a parameter' },
      { a: { b: ['x', 'y'] } }, 'plain', 42, null, [],
    ];
    for (const value of values) {
      const text = canonicalJson(value);
      if (text.toLowerCase().includes('token')) {
        assert.equal(mayHoldSecretsInJson(text), true, 'a key word is a "maybe", even where it is no secret');
        continue;
      }
      assert.equal(mayHoldSecretsInJson(text), false, text);
      assert.equal(redactSecrets(value).value, value, text);
    }
  });

  it('agrees with redactSecrets on generated values: never "nothing" where it redacts', () => {
    const all = Object.values(secrets);
    const noise = ['a', 'x y', '"', '\\', '\n', 'é', ':', '=', ''];
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pick = <T>(list: readonly T[]): T => list[next(list.length)]!;
    // A secret whole, cut in two adjacent strings, or absent; keys sometimes secret-looking.
    const strings = (): string[] => {
      const secret = pick(all);
      const cut = 1 + next(secret.length - 1);
      switch (next(3)) {
        case 0: return [pick(noise) + secret + pick(noise)];
        case 1: return [pick(noise) + secret.slice(0, cut), secret.slice(cut) + pick(noise)];
        default: return [pick(noise), pick(noise)];
      }
    };
    // The strings as the items of a list of objects, with other keys around (sorted otherwise in the canonical JSON).
    const items = (): unknown[] => strings().map((text) => ({ [pick(['a', 'text', 'z'])]: pick(noise), part: text, ...(next(2) === 0 ? { '0': pick(noise) } : {}) }));
    let redacted = 0;
    for (let i = 0; i < 3000; i++) {
      const key = pick(['text', 'apiKey', 'name', 'db_password', 'é']);
      const shape = next(3);
      const value = shape === 0 ? { [key]: strings().join(''), list: [pick(noise), ...strings()] } : shape === 1 ? [...strings(), { k: strings() }] : { items: items() };
      if (redactSecrets(value).value === value) continue;
      redacted += 1;
      assert.equal(mayHoldSecretsInJson(canonicalJson(value)), true, JSON.stringify(value));
    }
    assert.ok(redacted > 100, `the generator reaches secrets (${redacted})`);
  });

  // Large values take the SIMD scan over their UTF-8 (written into a buffer kept for the next text, up to 2 MiB).
  it('says "nothing" for a 1 MiB plain text, and "maybe" for a secret or key name at its start, middle or end, or split across two strings', () => {
    const MiB = 1024 * 1024;
    const filler = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 '.repeat(MiB / 63 + 1).slice(0, MiB);
    const at = (offset: number, word: string): string => `${filler.slice(0, offset)} ${word} ${filler.slice(offset + word.length + 2)}`;
    const plain = { text: filler };
    assert.equal(mayHoldSecretsInJson(canonicalJson(plain)), false);
    assert.equal(redactSecrets(plain).value, plain);
    for (const secret of [...Object.values(secrets), 'api key', 'API.KEY', 'Token', 'passwd', 'PRIVATE']) {
      for (const offset of [0, MiB / 2, MiB - secret.length - 2, 256 * 1024 - 3, 256 * 1024 - 1]) {
        const value = { text: at(offset, secret) };
        assert.equal(mayHoldSecretsInJson(canonicalJson(value)), true, `${secret} at ${offset}`);
        // The buffer the text was written into is used again: what it held before does not count.
        assert.equal(mayHoldSecretsInJson(canonicalJson({ text: filler })), false, `after ${secret} at ${offset}`);
      }
    }
    // A secret key name in a key of a large value, and a secret split across two strings of one list.
    assert.equal(mayHoldSecretsInJson(canonicalJson({ text: filler, db_password: 1 })), true);
    assert.equal(mayHoldSecretsInJson(canonicalJson({ parts: [`${filler} AK`, `IA${AWS.slice(4)} x`] })), true);
    // `api` alone is no hint (api.?key is); nor is a text past the buffer's 2 MiB, nor one with characters beyond ASCII.
    assert.equal(mayHoldSecretsInJson(canonicalJson({ text: at(MiB / 2, 'rapid apis keys') })), false);
    assert.equal(mayHoldSecretsInJson(canonicalJson({ text: filler.repeat(3) })), false);
    assert.equal(mayHoldSecretsInJson(canonicalJson({ text: filler.repeat(3) + AWS })), true);
    assert.equal(mayHoldSecretsInJson(canonicalJson({ text: `${'é€😀'.repeat(100_000)} ${filler}` })), false);
    assert.equal(mayHoldSecretsInJson(canonicalJson({ text: `${'é€😀'.repeat(100_000)} api€key ${filler}` })), true);
  });
});
