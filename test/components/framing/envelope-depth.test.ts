// Envelope.depth: the nesting the reader measures in its one pass, which the policy's
// limits.maxDepth compares instead of scanning the bytes again. It must be exactly what
// jsonDepth (the rule's own scan) finds, for every frame the reader accepts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { readEnvelope } from '../../../components/framing/index.js';
import { jsonDepth } from '../../../components/policy/rules/limits.js';
import { clientMessage, IdSource, Rng, serverMessage, writeValue } from '../../fuzz/frame-gen.js';

const SEED = 1407;

/** Checks one frame; false when the reader refused it (no rule ever sees it). */
function check(frame: string): boolean {
  const bytes = Buffer.from(`${frame}\n`);
  const envelope = readEnvelope(bytes);
  if (envelope.kind === 'invalid') return false;
  assert.equal(envelope.depth, jsonDepth(bytes), `seed ${SEED}: ${frame}`);
  return true;
}

describe('Envelope.depth', () => {
  it('is 1 for a flat message and counts every container below it, objects and arrays alike', () => {
    assert.equal(readEnvelope(Buffer.from('{"jsonrpc":"2.0","method":"ping","id":1}\n')).depth, 1);
    assert.equal(readEnvelope(Buffer.from('{"jsonrpc":"2.0","method":"x","id":1,"params":{"a":[{"b":[]}]}}\n')).depth, 5);
    assert.equal(readEnvelope(Buffer.from('{"jsonrpc":"2.0","method":"x","id":1,"params":{"a":"[{[{"}}\n')).depth, 2, 'brackets inside strings do not count');
    assert.equal(readEnvelope(Buffer.from('[{"jsonrpc":"2.0","method":"x","id":1},{"jsonrpc":"2.0","method":"y","id":2,"params":{"a":[1]}}]\n')).depth, 4, 'a batch is one level more');
    const deep = `{"jsonrpc":"2.0","method":"x","id":1,"params":${'['.repeat(300)}${']'.repeat(300)}}`;
    assert.equal(readEnvelope(Buffer.from(`${deep}\n`)).depth, 301);
  });

  it('is what jsonDepth finds for every valid frame of the one-reading corpus', () => {
    const corpus = JSON.parse(readFileSync(new URL('../../fixtures/one-reading/corpus.json', import.meta.url), 'utf8')) as { cases: Array<{ frame: string; encoding?: string }> };
    let checked = 0;
    for (const c of corpus.cases) if (c.encoding !== 'latin1' && check(c.frame)) checked++;
    assert.ok(checked >= 10, `${checked} valid frames checked`);
  });

  it(`is what jsonDepth finds for seeded frames both ways (seed ${SEED})`, () => {
    const rng = new Rng(SEED);
    const ids = new IdSource('d');
    let checked = 0;
    for (let n = 0; n < 3000; n++) {
      const value = n % 2 === 0 ? clientMessage(rng, ids) : serverMessage(rng, ids, ids.recent);
      if (check(writeValue(value, rng, { escapes: 0.1, spaces: 0.2 }))) checked++;
    }
    assert.ok(checked >= 1500, `${checked} valid frames checked`);
  });
});
