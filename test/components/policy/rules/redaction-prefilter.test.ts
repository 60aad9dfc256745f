// The redact rule's byte scan (redaction-prefilter.ts) may only skip the parse when the full
// scan would find nothing: a differential test of the rule with and without it, over frames made
// to be near misses (anchors split across items, in keys, escaped, cut short, invalid JSON).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectorName } from '../../../../components/policy/document/document.js';
import type { FrameContext, Rule, Verdict } from '../../../../components/policy/engine/types.js';
import { createRedactRules } from '../../../../components/policy/rules/redact.js';
import { RedactionPrefilter } from '../../../../components/policy/rules/redaction-prefilter.js';
import { seededRandom } from '../../../helpers/seeded-random.js';


// Pieces of secrets and near misses; texts are made of these and filler.
const PIECES = [
  'AK', 'IA', 'AKIA', 'ASIA', 'A', 'K', 'S', 'IOSFODNN7EXAMPLE', 'gh', 'g', 'h', 'p_', 'ghp_', 'gho', 's_', 'github', '_pat_', 'github_pat_',
  'aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA2cE4', 'eyJ', 'ey', 'J', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc', 'b', 'Be', 'BEA', 'rer', 'bearer', 'Bearer ',
  'BeArEr\t', 'mF_9.B5f-4.1JqM', '-', '---', '-----', '-----BEGIN ', 'BEGIN', 'RSA PRIVATE KEY-----', '=', ':', ' ', 'password', 'token',
  'api_key', 'é', '€', '😀', 'x', 'hello world ', '\n', '\t', '"', '\\', '/', '\u0001', '\u007f', '\u2028',
];
const MUTATIONS = '"\\,:{}[] .eE+-0123456789tfnulrsa\u0080\u00ff';
const FILLER = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ';

// Whole secrets, one per detector (assembled at run time so that this file does not itself look like a leak).
const SECRETS = [
  ['AKIA', 'IOSFODNN7EXAMPLE'].join(''),
  ['ghp', '_', 'aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA2cE4'].join(''),
  ['github', '_pat_', '11ABCDEFG0123456789_abcdefghijklmno'].join(''),
  ['eyJhbGciOiJIUzI1NiJ9', 'eyJzdWIiOiIxIn0', 'abc'].join('.'),
  ['-----BEGIN RSA ', 'PRIVATE KEY-----\nMIIE\n-----END RSA ', 'PRIVATE KEY-----'].join(''),
  ['BeArEr', ' mF_9.B5f-4.1JqM'].join(''),
  ['pass', 'word=hunter2'].join(''),
  ['api', '_key: "s3cr3t"'].join(''),
];

/**
 * No 8 characters of what a detector replaces in `secret` (the value: `Bearer` and `password=`
 * are kept) are left in the verdict, outside its markers.
 */
function assertGone(verdict: Verdict, secret: string, items: readonly string[]): void {
  const value = secret.replace(/^(BeArEr |pass\w*=|api\w*: ")/, '').replace(/"$/, '');
  const left = JSON.stringify(verdict).replace(/\[REDACTED:[a-z-]+\]/g, '');
  for (let i = 0; i + Math.min(8, value.length) <= value.length; i++) {
    const piece = JSON.stringify(value.slice(i, i + 8)).slice(1, -1);
    if (/-----|PRIVATE|BEGIN|END/.test(piece)) continue;
    assert.ok(!left.includes(piece), `${JSON.stringify(piece)} of the secret is still there: ${JSON.stringify(items)}`);
  }
}

function makeText(next: () => number): string {
  if (next() < 0.05) {
    // A whole secret in filler, long or short.
    const filler = (count: number): string => Array.from({ length: count }, () => FILLER[Math.floor(next() * FILLER.length)]).join('');
    return `${filler(Math.floor(next() * 150))} ${SECRETS[Math.floor(next() * SECRETS.length)]} ${filler(Math.floor(next() * 150))}`;
  }
  const long = next() < 0.2;
  let text = '';
  const parts = long ? 4 + Math.floor(next() * 8) : Math.floor(next() * 4);
  for (let k = 0; k < parts; k++) {
    if (long || next() < 0.3) {
      const filler = Math.floor(next() * (long ? 200 : 12));
      for (let f = 0; f < filler; f++) text += FILLER[Math.floor(next() * FILLER.length)];
    }
    if (next() < 0.5) text += PIECES[Math.floor(next() * PIECES.length)];
  }
  return text;
}

function makeValue(next: () => number, depth: number): unknown {
  const r = next();
  if (depth > 3 || r < 0.45) return makeText(next);
  if (r < 0.52) return Math.floor(next() * 1000) - 500;
  if (r < 0.55) return (next() - 0.5) * 10 ** Math.floor(next() * 40 - 20);
  if (r < 0.6) return [true, false, null, 1.5e3][Math.floor(next() * 4)];
  if (r < 0.8) return Array.from({ length: Math.floor(next() * 4) }, () => makeValue(next, depth + 1));
  const object: Record<string, unknown> = {};
  for (let k = Math.floor(next() * 3); k > 0; k--) object[next() < 0.2 ? makeText(next) : pick(next, KEYS)] = makeValue(next, depth + 1);
  return object;
}

// Keys: some the same in every item of a list (the redactor joins `items[*].part`), some that
// JSON.parse puts first whatever their place in the text (`"1"`, `"10"`).
const KEYS = ['k0', 'k1', 'k2', 'part', 'text', 'type', '0', '1', '10'];
const pick = <T>(next: () => number, list: readonly T[]): T => list[Math.floor(next() * list.length)]!;

/** A list of objects with the same keys: a secret may be cut across their strings. */
function makeItems(next: () => number): unknown[] {
  const keys = Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(next, KEYS));
  return Array.from({ length: 1 + Math.floor(next() * 4) }, () => Object.fromEntries(keys.map((key) => [key, next() < 0.8 ? makeText(next) : makeValue(next, 3)])));
}

/**
 * JSON text of a value, sometimes with a key written twice: JSON.parse keeps the member at its
 * first place with its last value, so the strings are parsed in another order than written.
 */
function serialize(value: unknown, next: () => number): string {
  if (Array.isArray(value)) return `[${value.map((item) => serialize(item, next)).join(',')}]`;
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const keys = Object.keys(value);
  const members = keys.map((key) => `${JSON.stringify(key)}:${serialize((value as Record<string, unknown>)[key], next)}`);
  if (keys.length > 0 && next() < 0.15) {
    const repeated = `${JSON.stringify(pick(next, keys))}:${JSON.stringify(makeText(next))}`;
    members.splice(Math.floor(next() * (members.length + 1)), 0, repeated);
  }
  return `{${members.join(',')}}`;
}

function makeMessage(next: () => number): unknown {
  const id = Math.floor(next() * 100);
  const r = next();
  if (r < 0.15) return { jsonrpc: '2.0', id, error: { code: -32603, message: makeText(next), ...(next() < 0.5 ? { data: makeValue(next, 0) } : {}) } };
  const content = Array.from({ length: Math.floor(next() * 4) }, () => {
    const kind = next();
    if (kind < 0.7) return next() < 0.5 ? { type: 'text', text: makeText(next) } : { text: makeText(next), type: 'text' };
    if (kind < 0.85) return { type: 'resource', resource: { uri: 'file:///x', text: makeText(next) } };
    return { type: 'image', data: makeText(next), mimeType: 'image/png' };
  });
  const result: Record<string, unknown> = { content };
  if (next() < 0.3) result['structuredContent'] = next() < 0.5 ? makeValue(next, 0) : { items: makeItems(next), ...(next() < 0.5 ? { more: makeItems(next) } : {}) };
  if (next() < 0.2) result['contents'] = [{ uri: 'file:///a', text: makeText(next) }];
  if (next() < 0.2) result['messages'] = [{ role: 'user', content: { type: 'text', text: makeText(next) } }];
  return { jsonrpc: '2.0', id, result };
}

/** A server notification the redact rule scans: a log entry (any JSON) or a progress message. */
function makeNotification(next: () => number): { method: string; message: unknown } {
  if (next() < 0.5) {
    const data = next() < 0.5 ? makeText(next) : next() < 0.5 ? makeItems(next) : makeValue(next, 0);
    return { method: 'notifications/message', message: { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', logger: makeText(next), data } } };
  }
  return { method: 'notifications/progress', message: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: makeText(next), progress: 1, message: makeText(next) } } };
}

/** The line as sent: JSON.stringify (or with a key written twice), sometimes spaced out, sometimes broken. */
function makeLine(next: () => number, message: unknown): Buffer {
  const r0 = next();
  let text = r0 < 0.2 ? JSON.stringify(message, null, next() < 0.5 ? 1 : '\t') : r0 < 0.4 ? serialize(message, next) : JSON.stringify(message);
  if (next() < 0.1) text = text.replace(/\\u2028|\u2028/g, '\\u2028').replace(/é/g, '\\u00e9');
  const bytes = Buffer.from(`${text}\n`);
  const r = next();
  if (r < 0.06) return bytes.subarray(0, Math.floor(next() * bytes.length)); // cut short
  if (r < 0.2) {
    // A byte replaced, or inserted: control characters, JSON's syntax, number and literal letters.
    const at = Math.floor(next() * bytes.length);
    const byte = next() < 0.3 ? Math.floor(next() * 0x20) : MUTATIONS.charCodeAt(Math.floor(next() * MUTATIONS.length));
    if (next() < 0.5) {
      const copy = Buffer.from(bytes);
      copy[at] = byte;
      return copy;
    }
    return Buffer.concat([bytes.subarray(0, at), Buffer.from([byte]), bytes.subarray(at)]);
  }
  return bytes;
}

function frameOf(line: Buffer, method: string, rewritten: boolean): FrameContext {
  let parsed: { value: unknown } | undefined;
  return {
    direction: 'server-to-client', phase: method.startsWith('notifications/') ? 'request' : 'response', method, line, now: 0, rewritten,
    body() {
      parsed ??= { value: JSON.parse(line.toString('utf8')) };
      return parsed.value;
    },
  };
}

function outcome(rule: Rule, frame: FrameContext): Verdict | string {
  try {
    return rule.evaluate(frame);
  } catch (error) {
    return `threw ${(error as Error).name}`;
  }
}

const DETECTOR_SETS: Array<'all' | DetectorName[]> = ['all', ['aws-access-key'], ['github-token', 'jwt'], ['bearer-token'], ['password-assignment'], ['private-key', 'bearer-token']];

describe('redaction prefilter', () => {
  it('should give the verdict of the full scan on every frame, and skip the parse of clean ones', () => {
    const next = seededRandom(20261121);
    let clean = 0;
    let frames = 0;
    let notificationRewrites = 0;
    for (const detectors of DETECTOR_SETS) {
      const [resultRule, notificationRule] = createRedactRules({ id: 'secrets', redact: { detectors } }, { mode: 'enforce' });
      const prefilter = new RedactionPrefilter(RedactionPrefilter.anchorsOf(detectors === 'all' ? ['private-key', 'aws-access-key', 'github-token', 'jwt', 'bearer-token', 'password-assignment'] : detectors)!);
      for (let n = 0; n < 4000; n++) {
        let method = ['tools/call', 'resources/read', 'prompts/get'][Math.floor(next() * 3)]!;
        let message = makeMessage(next);
        if (next() < 0.2) ({ method, message } = makeNotification(next));
        const line = makeLine(next, message);
        const rule = method.startsWith('notifications/') ? notificationRule! : resultRule!;
        const fast = outcome(rule, frameOf(line, method, false));
        const full = outcome(rule, frameOf(line, method, true)); // `rewritten`: the rule must parse
        assert.deepEqual(fast, full, `${JSON.stringify(detectors)} ${method}: ${line.toString('utf8').slice(0, 500)}`);
        frames++;
        if (rule === notificationRule && typeof full === 'object' && full.effect === 'rewrite') notificationRewrites++;
        if (prefilter.clean(line)) {
          clean++;
          assert.deepEqual(full, { effect: 'continue' }, `clean but the full scan says otherwise: ${line.toString('utf8').slice(0, 500)}`);
        }
      }
    }
    // The generator makes many near misses; a fair share must still come out clean, or the test tests nothing.
    assert.ok(clean > frames / 10, `only ${clean} of ${frames} frames were clean`);
    assert.ok(notificationRewrites > 100, `only ${notificationRewrites} notifications were rewritten`);
  });

  // Where a secret cut into pieces can travel: each shape is [method, the frame's text for the pieces].
  const SPLIT_SHAPES: Array<[string, string, (pieces: string[]) => string]> = [
    ['content[] items', 'tools/call', (pieces) => JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: pieces.map((text) => ({ type: 'text', text })) } })],
    ['objects of a structuredContent list, with other strings between', 'tools/call', (pieces) => JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [], structuredContent: { items: pieces.map((part) => ({ type: 'text', part })) } } })],
    ['nested objects of a structuredContent list', 'tools/call', (pieces) => JSON.stringify({ jsonrpc: '2.0', id: 1, result: { structuredContent: { rows: pieces.map((text, n) => ({ n, meta: { text } })) } } })],
    ['the objects of a log entry\'s data', 'notifications/message', (pieces) => JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: { lines: pieces.map((line) => ({ line })) } } })],
    // JSON.parse puts "0" first and keeps a repeated key at its first place: the list's order stays.
    ['items parsed in another order than written (a "0" key, a repeated key)', 'tools/call', (pieces) => `{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"items":[${pieces.map((part) => `{"b":"x","0":${JSON.stringify(part)},"0":${JSON.stringify(part)},"b":"y"}`).join(',')}]}}}`],
  ];

  for (const [label, method, frame] of SPLIT_SHAPES) {
    it(`should leave every split of a secret across two or three items to the full scan: ${label}`, () => {
      // Assembled at run time so that this file does not itself look like a leak.
      const rules = createRedactRules({ id: 'secrets', redact: { detectors: 'all' } }, { mode: 'enforce' });
      const rule = rules.find((r) => r.methods.includes(method))!;
      const prefilter = new RedactionPrefilter(RedactionPrefilter.anchorsOf(['private-key', 'aws-access-key', 'github-token', 'jwt', 'bearer-token', 'password-assignment'])!);
      const long = ' '.repeat(100); // routes the first and last item through the scan of long strings
      for (const [before, after] of [['', ''], [long, long], ['x ', '\n']]) {
        for (const secret of SECRETS) {
          for (let a = 1; a < Math.min(secret.length, 14); a++) {
            for (let b = a; b < Math.min(secret.length, 14); b++) {
              const cut = b === a ? [secret.slice(0, a), secret.slice(a)] : [secret.slice(0, a), secret.slice(a, b), secret.slice(b)];
              const items = [before + cut[0]!, ...cut.slice(1, -1), cut.at(-1)! + after];
              const line = Buffer.from(`${frame(items)}\n`);
              assert.equal(prefilter.clean(line), false, JSON.stringify(items));
              const verdict = rule.evaluate(frameOf(line, method, false));
              assert.equal(verdict.effect, 'rewrite', JSON.stringify(items));
              assertGone(verdict, secret, items);
            }
          }
        }
      }
    });
  }

  it('should find a secret at any place of a long text, across the pieces it is searched in', () => {
    const rule = createRedactRules({ id: 'secrets', redact: { detectors: 'all' } }, { mode: 'enforce' })[0]!;
    const prefilter = new RedactionPrefilter(RedactionPrefilter.anchorsOf(['private-key', 'aws-access-key', 'github-token', 'jwt', 'bearer-token', 'password-assignment'])!);
    // The pieces are 32 KiB; the second starts 10 bytes before the first ends (one less than the longest anchor).
    const offsets = [0, 1, 100, ...[32 * 1024, 64 * 1024 - 10].flatMap((edge) => Array.from({ length: 26 }, (_, k) => edge - 13 + k))];
    for (const secret of SECRETS.filter((text) => !/[=:]/.test(text))) {
      for (const offset of offsets) {
        const text = `${' '.repeat(offset)}${secret}${' '.repeat(70_000 - offset)}`;
        const line = Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text }] } })}\n`);
        assert.equal(prefilter.clean(line), false, `${secret} at ${offset}`);
        assert.equal(rule.evaluate(frameOf(line, 'tools/call', false)).effect, 'rewrite', `${secret} at ${offset}`);
      }
    }
    const clean = Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'plain text '.repeat(20_000) }] } })}\n`);
    assert.equal(prefilter.clean(clean), true);
  });

  it('should accept exactly the numbers and literals JSON.parse accepts', () => {
    const prefilter = new RedactionPrefilter(RedactionPrefilter.anchorsOf(['jwt'])!);
    const next = seededRandom(7);
    const alphabet = '0123456789.eE+-tfnrulsa ';
    for (let n = 0; n < 20_000; n++) {
      let literal = '';
      for (let k = 1 + Math.floor(next() * 7); k > 0; k--) literal += alphabet[Math.floor(next() * alphabet.length)];
      const text = `{"jsonrpc":"2.0","id":1,"result":[${literal}]}`;
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      assert.equal(prefilter.clean(Buffer.from(text)), parses, text);
    }
  });

  it('should skip the parse of a clean result, and not of one with a secret split across items', () => {
    const rule = createRedactRules({ id: 'secrets', redact: { detectors: 'all' } }, { mode: 'enforce' })[0]!;
    const reads = (text: string[]): number => {
      let count = 0;
      const line = Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: text.map((t) => ({ type: 'text', text: t })) } })}\n`);
      rule.evaluate({ direction: 'server-to-client', phase: 'response', method: 'tools/call', line, now: 0, body: () => (count++, JSON.parse(line.toString())) });
      return count;
    };
    assert.equal(reads(['a'.repeat(100_000)]), 0);
    assert.equal(reads(['plain text', 'more plain text']), 0);
    assert.equal(reads(['key AK', 'IA0123456789ABCDEF']), 1);
    assert.equal(reads(['a\nb']), 0);
    assert.equal(reads(['user: x']), 1); // a password-assignment separator
  });

  it('should parse when an earlier rule rewrote the body, and with a custom pattern', () => {
    const line = Buffer.from('{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"clean"}]}}\n');
    let reads = 0;
    const frame = (rewritten: boolean): FrameContext => ({
      direction: 'server-to-client', phase: 'response', method: 'tools/call', line, now: 0, rewritten,
      body: () => (reads++, { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: `AKIA${'A'.repeat(16)}` }] } }),
    });
    const rule = createRedactRules({ id: 'secrets', redact: { detectors: 'all' } }, { mode: 'enforce' })[0]!;
    assert.equal(rule.evaluate(frame(true)).effect, 'rewrite');
    assert.equal(reads, 1);
    const custom = createRedactRules({ id: 'custom', redact: { detectors: ['private-key'], patterns: [{ name: 'c', pattern: 'AKIA' }] } }, { mode: 'enforce' })[0]!;
    assert.equal(custom.evaluate(frame(false)).effect, 'rewrite');
    assert.equal(reads, 2);
  });
});

describe('redaction prefilter: the SIMD scan of long strings', () => {
  const ALL: DetectorName[] = ['private-key', 'aws-access-key', 'github-token', 'jwt', 'bearer-token', 'password-assignment'];
  const MiB = 1024 * 1024;
  // The bench's text: plain ASCII letters, digits and spaces, no secret.
  const plain = (length: number): string => FILLER.repeat(Math.ceil(length / FILLER.length)).slice(0, length);
  const resultLine = (text: string): Buffer => Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text }] } })}\n`);

  it('should rule out a 1 MiB plain text without parsing it', () => {
    const prefilter = new RedactionPrefilter(RedactionPrefilter.anchorsOf(ALL)!);
    const line = resultLine(plain(MiB));
    assert.equal(prefilter.clean(line), true);
    let reads = 0;
    const rule = createRedactRules({ id: 'secrets', redact: { detectors: 'all' } }, { mode: 'enforce' })[0]!;
    const verdict = rule.evaluate({ ...frameOf(line, 'tools/call', false), body: () => (reads++, JSON.parse(line.toString())) });
    assert.deepEqual(verdict, { effect: 'continue' });
    assert.equal(reads, 0);
  });

  it('should find a secret at the start, in the middle and at the end of a 1 MiB text, and across the windows the bytes are scanned in', () => {
    const prefilter = new RedactionPrefilter(RedactionPrefilter.anchorsOf(ALL)!);
    const rule = createRedactRules({ id: 'secrets', redact: { detectors: 'all' } }, { mode: 'enforce' })[0]!;
    const windowBytes = 256 * 1024; // redaction-prefilter.ts: WINDOW_BYTES; a window after the first starts 2 bytes early
    // The secret as a word of its own (the detectors want one), its first byte at `offset`.
    const line = (offset: number, secret: string): Buffer => {
      const filler = plain(MiB);
      const before = offset === 0 ? '' : `${filler.slice(0, offset - 1)} `;
      const after = offset + secret.length >= MiB ? '' : ` ${filler.slice(offset + secret.length + 1)}`;
      return resultLine(`${before}${secret}${after}`);
    };
    for (const secret of SECRETS) {
      const places = [0, MiB / 2, MiB - secret.length];
      for (const place of places) {
        const bytes = line(place, secret);
        assert.equal(prefilter.clean(bytes), false, `${secret} at ${place}`);
        const verdict = rule.evaluate(frameOf(bytes, 'tools/call', false));
        assert.equal(verdict.effect, 'rewrite', `${secret} at ${place}`);
        const text = ((verdict as { body: { result: { content: { text: string }[] } } }).body.result.content[0]!.text);
        assert.equal(text.includes(secret), false, `${secret} at ${place} is still there`);
        assert.match(text, /\[REDACTED:[a-z-]+\]/);
      }
      // Every place an anchor can straddle the end of the first three windows (offsets in the string's text).
      for (let window = 1; window <= 3; window++) {
        const edge = window * (windowBytes - 2);
        for (let offset = edge - 14; offset <= edge + 2; offset++) {
          assert.equal(prefilter.clean(line(offset, secret)), false, `${secret} at ${offset}`);
        }
      }
    }
  });

  it('should leave a secret split across two long strings to the full scan', () => {
    const prefilter = new RedactionPrefilter(RedactionPrefilter.anchorsOf(ALL)!);
    const rule = createRedactRules({ id: 'secrets', redact: { detectors: 'all' } }, { mode: 'enforce' })[0]!;
    const pad = plain(3000); // long enough for the SIMD scan (a frame's last 2 KiB take the byte loops)
    for (const secret of SECRETS) {
      for (let a = 1; a < Math.min(secret.length, 14); a++) {
        const items = [`${pad} ${secret.slice(0, a)}`, `${secret.slice(a)} ${pad}`, pad];
        const line = Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: items.map((text) => ({ type: 'text', text })) } })}\n`);
        assert.equal(prefilter.clean(line), false, JSON.stringify(items.map((item) => item.slice(-20))));
        assert.equal(rule.evaluate(frameOf(line, 'tools/call', false)).effect, 'rewrite', secret);
      }
    }
  });

  it('should find every needle its tables were built for, wherever it is (the filter never passes over one)', () => {
    const next = seededRandom(20261207);
    const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.=:/';
    const word = (min: number, max: number): string => {
      let text = '';
      for (let k = min + Math.floor(next() * (max - min + 1)); k > 0; k--) text += letters[Math.floor(next() * letters.length)];
      return text;
    };
    for (let round = 0; round < 200; round++) {
      // 1 to 30 needles of 1 to 12 bytes (some shorter than the three positions the tables see), any case or not.
      const count = 1 + Math.floor(next() * 30);
      const exact: string[] = [], anyCase: string[] = [];
      for (let n = 0; n < count; n++) (next() < 0.5 ? exact : anyCase).push(word(1, 12).replace(/[=:]/g, 'x'));
      const separators = next() < 0.3;
      const prefilter = new RedactionPrefilter({ exact, anyCase: anyCase.map((text) => text.toLowerCase()), separators });
      // A text of filler with needles (in random case where any case) dropped in.
      let text = plain(Math.floor(next() * 300));
      for (let k = Math.floor(next() * 6); k > 0; k--) {
        const pick = Math.floor(next() * count);
        const needle = pick < exact.length ? exact[pick]! : [...anyCase[pick - exact.length]!].map((c) => (next() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('');
        const at = Math.floor(next() * (text.length + 1));
        text = text.slice(0, at) + needle + text.slice(at) + word(0, 40);
      }
      const expected: number[] = [];
      const lower = text.toLowerCase();
      for (let at = 0; at < text.length; at++) {
        if (exact.some((needle) => text.startsWith(needle, at)) || anyCase.some((needle) => lower.startsWith(needle.toLowerCase(), at))
          || (separators && (text[at] === '=' || text[at] === ':'))) expected.push(at);
      }
      const found: number[] = [];
      prefilter.someAnchor(Buffer.from(text, 'latin1'), (at) => (found.push(at), false));
      assert.deepEqual(found, expected, JSON.stringify({ exact, anyCase, separators, text }));
    }
  });
});
