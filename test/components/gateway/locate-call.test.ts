import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readEnvelope, type Envelope } from '../../../components/framing/index.js';
import { idSpan, locateCall, pathSpan, type CallMembers } from '../../../components/gateway/json-members.js';
import { seededRandom } from '../../helpers/seeded-random.js';

// The per-call path finds a call's id and params.name in one walk (locateCall); what it finds
// must be what idSpan and pathSpan find, whatever the members' order, spacing and decoys.
function generatedCall(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const ws = () => pick(['', ' ', '\t', '  ']);
  const idText = pick(['7', '0', '-3', '12345678901', '"a"', '"x\\"id\\":1"', '"é-1"', '"7"']);
  const params = pick([
    `{"name":"fs.read_file","arguments":{"id":1,"name":"decoy"}}`,
    `{${ws()}"arguments":{"name":"decoy","params":{"name":"no"}},${ws()}"name"${ws()}:${ws()}"fs.write"}`,
    `{"_meta":{"progressToken":"p"},"name":"web.fetch"}`,
    `{"arguments":{}}`,
  ]);
  const members = [`"jsonrpc":"2.0"`, `"method":"tools/call"`, `"params"${ws()}:${ws()}${params}`, `"id"${ws()}:${ws()}${idText}`, `"x":{"id":99,"params":{"name":"decoy"}}`];
  for (let k = members.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    [members[k], members[j]] = [members[j]!, members[k]!];
  }
  return `{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}\n`;
}

describe('locateCall', () => {
  it('finds the id and params.name idSpan and pathSpan find, in 2,000 generated layouts', () => {
    const seed = 18_2026;
    const random = seededRandom(seed);
    const found: CallMembers = { idStart: 0, idEnd: 0, nameStart: 0 };
    for (let n = 0; n < 2000; n++) {
      const text = generatedCall(random);
      const line = Buffer.from(text);
      const envelope = readEnvelope(line) as Envelope;
      assert.equal(envelope.kind, 'request', `seed ${seed}, frame ${n}: ${text}`);
      locateCall(line, envelope.id!, found);
      const id = idSpan(line, envelope.id!);
      const name = pathSpan(line, [Buffer.from('params'), Buffer.from('name')]);
      assert.deepEqual([found.idStart, found.idEnd], id === undefined ? [-1, -1] : [id.start, id.end], `seed ${seed}, frame ${n}: id of ${text}`);
      assert.equal(found.nameStart, name?.start ?? -1, `seed ${seed}, frame ${n}: name of ${text}`);
    }
  });

  it('reports nothing for what it cannot find: an escaped id member name, no params, not an object', () => {
    const found: CallMembers = { idStart: 0, idEnd: 0, nameStart: 0 };
    locateCall(Buffer.from('{"jsonrpc":"2.0","\\u0069d":5,"method":"tools/call","params":{"name":"a.b"}}\n'), '5', found);
    assert.deepEqual(found, { idStart: -1, idEnd: -1, nameStart: 68 });
    locateCall(Buffer.from('{"jsonrpc":"2.0","id":5,"method":"ping"}\n'), '5', found);
    assert.deepEqual(found, { idStart: 22, idEnd: 23, nameStart: -1 });
    locateCall(Buffer.from('[1]\n'), '1', found);
    assert.deepEqual(found, { idStart: -1, idEnd: -1, nameStart: -1 });
  });
});

describe('idValueStart', () => {
  it('finds the id after the common opening, with or without space before its value', async () => {
    const { idValueStart, valueEnd } = await import('../../../components/gateway/json-members.js');
    for (const text of ['{"jsonrpc":"2.0","id":42,"result":{}}\n', '{"jsonrpc":"2.0","id": 42,"result":{}}\n', '{"jsonrpc":"2.0","id":\t42 ,"result":{}}\n', '{"result":{},"jsonrpc":"2.0","id":42}\n', '{ "jsonrpc":"2.0","id":42,"result":{}}\n']) {
      const line = Buffer.from(text);
      const start = idValueStart(line, '42');
      assert.equal(line.toString('latin1', start, valueEnd(line, start)), '42', text);
    }
  });
});
