import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readEnvelope, type Envelope } from '../../../components/framing/index.js';
import { applyEdits, idSpan, pathSpan } from '../../../components/gateway/json-members.js';
import { seededRandom } from '../../helpers/seeded-random.js';

// Generated frames: the id first, last, or between members, with decoys (nested `id` members,
// strings that spell `"id":` with escaped quotes, whitespace): replacing the span idSpan finds must
// change exactly the top-level id, whatever the layout.
function generatedFrame(random: () => number): { text: string; id: unknown } {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const id = pick([7, 0, -3, 12345678901, 'a', 'x\\"id\\":1', 'é-1', '7'] as const);
  const idText = typeof id === 'string' ? `"${id}"` : String(id);
  const ws = () => pick(['', ' ', '\t', '  ']);
  const decoys = [
    `"result"${ws()}:${ws()}{"id":${idText},"inner":[{"id":${idText}}],"s":"\\",\\"id\\":7}"}`,
    `"method":"tools/call"`,
    `"params":{"name":"fs.read","arguments":{"id":1}}`,
    `"jsonrpc":"2.0"`,
  ];
  const members = [...decoys.slice(0, 1 + Math.floor(random() * decoys.length))];
  if (!members.includes('"jsonrpc":"2.0"')) members.push('"jsonrpc":"2.0"');
  // A response: drop the request members.
  const body = members.filter((m) => !m.startsWith('"method"') && !m.startsWith('"params"'));
  if (!body.some((m) => m.startsWith('"result"'))) body.push('"result":{}');
  body.splice(Math.floor(random() * (body.length + 1)), 0, `"id"${ws()}:${ws()}${idText}`);
  return { text: `{${ws()}${body.join(`${ws()},${ws()}`)}${ws()}}`, id: JSON.parse(idText) };
}

describe('gateway json members', () => {
  it('should find the top-level id however the members are laid out (seeded)', () => {
    const random = seededRandom(18);
    for (let round = 0; round < 500; round++) {
      const { text, id } = generatedFrame(random);
      const bytes = Buffer.from(`${text}\n`);
      const envelope = readEnvelope(bytes) as Envelope;
      assert.notEqual(envelope.kind, 'invalid', text);
      const span = idSpan(bytes, envelope.id!);
      assert.ok(span, text);
      const edited = applyEdits(bytes, [{ start: span.start, end: span.end, text: '"gw-1"' }]);
      const before = JSON.parse(text) as Record<string, unknown>;
      assert.deepEqual(JSON.parse(edited.toString('utf8')), { ...before, id: 'gw-1' }, text);
      assert.equal(before['id'], id);
      // Every byte outside the id is kept.
      assert.deepEqual(edited, Buffer.concat([bytes.subarray(0, span.start), Buffer.from('"gw-1"'), bytes.subarray(span.end)]));
    }
  });

  it('should not take a last member named `"id` (an escaped quote) for the id', () => {
    const bytes = Buffer.from('{"jsonrpc":"2.0","result":{},"id":7,"\\"id":7}\n');
    const span = idSpan(bytes, '7')!;
    assert.deepEqual(JSON.parse(applyEdits(bytes, [{ start: span.start, end: span.end, text: '9' }]).toString('utf8')), { jsonrpc: '2.0', result: {}, id: 9, '"id': 7 });
  });

  it('should find a nested member, and add a line end to a frame without one', () => {
    const bytes = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"name":"decoy"},"name":"fs.x"}}');
    const span = pathSpan(bytes, [Buffer.from('params'), Buffer.from('name')])!;
    assert.equal(bytes.toString('utf8', span.start, span.end), '"fs.x"');
    assert.equal(applyEdits(bytes, [{ start: span.start + 1, end: span.start + 4, text: '' }]).toString(), '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"name":"decoy"},"name":"x"}}\n');
  });
});
