// A transcript line for the deepest frame the framing accepts (nesting 512: the message object
// is one level) is written whole, its secrets redacted and its arguments digested; the walks
// under it keep their own stack, so nothing about depth makes a frame unrecordable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256Digest } from '../../../components/execution-report/index.js';
import { MAX_NESTING, readEnvelope } from '../../../components/framing/index.js';
import { loadSecretRedactor } from '../../../components/policy/index.js';
import { frameLine } from '../../../components/transcript/record-line.js';
import { markersToPlaceholders, placeholderFor } from '../../../components/transcript/placeholders.js';
import type { TranscriptFrame } from '../../../components/transcript/index.js';

const SECRET_5KB = `password=${'s'.repeat(5_000)}`;

/** A tools/call whose arguments hold `inner` arrays around a secret: the whole frame nests inner + 3 deep. */
function deepCall(inner: number): string {
  return `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t","arguments":{"a":${'['.repeat(inner)}${JSON.stringify(SECRET_5KB)}${']'.repeat(inner)}}}}`;
}

function frameOf(line: string, overrides: Partial<TranscriptFrame> = {}): TranscriptFrame {
  return {
    direction: 'client-to-server', phase: 'request', kind: 'request', method: 'tools/call', id: '7',
    line: Buffer.from(`${line}\n`), decisions: [], action: 'forward', at: 0, ...overrides,
  } as TranscriptFrame;
}

/** What `depth` arrays hold at the bottom. */
function bottom(value: unknown, depth: number): unknown {
  for (let i = 0; i < depth; i++) {
    assert.ok(Array.isArray(value) && value.length === 1, `level ${i}`);
    value = value[0];
  }
  return value;
}

describe('transcript lines of deep frames', () => {
  const limitCall = deepCall(MAX_NESTING - 3);

  it('the framing accepts the frame at its limit and refuses one level more', () => {
    const envelope = readEnvelope(Buffer.from(`${limitCall}\n`));
    assert.equal(envelope.kind, 'request');
    assert.equal(envelope.depth, MAX_NESTING);
    const beyond = readEnvelope(Buffer.from(`${deepCall(MAX_NESTING - 2)}\n`));
    assert.ok(beyond.kind === 'invalid' && beyond.problem === 'parse' && /nesting deeper than 512/.test(beyond.detail), JSON.stringify(beyond));
  });

  it('records the frame at the limit with its arguments, the secret redacted', async () => {
    const redact = await loadSecretRedactor();
    const record = JSON.parse(frameLine(frameOf(limitCall), 'redacted', redact));
    assert.equal(record.type, 'frame');
    assert.equal(bottom(record.frame.params.arguments.a, MAX_NESTING - 3), 'password=[REDACTED:password-assignment]');
    assert.ok(!JSON.stringify(record).includes('sssss'), 'nothing of the secret is written');
  });

  it('records the frame at the limit with its arguments digested, as the report digests them', async () => {
    const redact = await loadSecretRedactor();
    const record = JSON.parse(frameLine(frameOf(limitCall), 'digest', redact));
    const depth = MAX_NESTING - 3;
    const redactedText = `{"a":${'['.repeat(depth)}"password=[REDACTED:password-assignment]"${']'.repeat(depth)}}`;
    assert.equal(record.frame.params.arguments, sha256Digest(redactedText));
  });

  it('records a response at the limit that a redact rule rewrote, its markers turned into placeholders', async () => {
    const redact = await loadSecretRedactor();
    const depth = MAX_NESTING - 3;
    const delivered = `{"jsonrpc":"2.0","id":7,"result":{"structuredContent":${'['.repeat(depth)}"key [REDACTED:aws-access-key]"${']'.repeat(depth)}}}`;
    const frame = frameOf('{"jsonrpc":"2.0","id":7,"result":{}}', {
      direction: 'server-to-client', phase: 'response', kind: 'response', action: 'replace', delivered: Buffer.from(`${delivered}\n`),
      decisions: [{ ruleId: 'secrets', kind: 'redact', phase: 'response', effect: 'rewrite', enforced: true, reason: 'secret_redacted', message: '' }] as unknown as TranscriptFrame['decisions'],
    });
    const record = JSON.parse(frameLine(frame, 'redacted', redact));
    assert.equal(bottom(record.frame.result.structuredContent, depth), `key ${placeholderFor('aws-access-key')}`);
  });

  it('turns markers into placeholders 100,000 levels deep', () => {
    let value: unknown = '[REDACTED:jwt] and [REDACTED:custom]';
    // Odd levels: an object with an own member named __proto__, as JSON.parse makes one.
    const holding = (inner: unknown): object => Object.defineProperty({ b: null }, '__proto__', { value: inner, enumerable: true, writable: true, configurable: true });
    for (let i = 0; i < 100_000; i++) value = i % 2 === 0 ? [value, 1] : holding(value);
    let at = markersToPlaceholders(value);
    for (let i = 99_999; i >= 0; i--) {
      if (i % 2 === 0) {
        assert.ok(Array.isArray(at) && at.length === 2 && at[1] === 1);
        at = at[0];
      } else {
        const record = at as Record<string, unknown>;
        assert.ok(Object.hasOwn(record, '__proto__') && Object.getPrototypeOf(record) === Object.prototype, 'a member named __proto__ stays a member');
        assert.equal(record['b'], null);
        at = record['__proto__'];
      }
    }
    assert.equal(at, `${placeholderFor('jwt')} and [REDACTED:custom]`);
  });
});
