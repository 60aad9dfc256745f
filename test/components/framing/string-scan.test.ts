// The SIMD string scan against the plain loop it replaces: the same stop for every start, in
// buffers larger than its window, with stops at every alignment and none at all.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextStringStop, resetStringScan } from '../../../components/framing/string-scan.js';
import { seededRandom } from '../../helpers/seeded-random.js';

function plainStop(b: Buffer, from: number, end: number): number {
  for (let j = from; j < end; j++) if (b[j]! < 0x20 || b[j] === 0x22 || b[j] === 0x5c) return j;
  return end;
}

describe('nextStringStop', () => {
  it('should find what a plain loop finds, at every alignment and across windows (seeded)', () => {
    const seed = 20261207;
    const random = seededRandom(seed);
    for (let round = 0; round < 60; round++) {
      const length = 1 + Math.floor(random() * (round % 10 === 0 ? 700_000 : 5_000));
      const b = Buffer.alloc(length);
      for (let k = 0; k < length; k++) b[k] = 0x20 + Math.floor(random() * 0x5f) === 0x22 ? 0x41 : 0x20 + Math.floor(random() * 0x5e);
      for (let k = 0; k < length; k++) if (b[k] === 0x22 || b[k] === 0x5c) b[k] = 0x61;
      // A few stops at random places (or none), of each kind, non-ASCII bytes between.
      const stops = Math.floor(random() * 4);
      for (let s = 0; s < stops; s++) b[Math.floor(random() * length)] = [0x22, 0x5c, 0x00, 0x0d, 0x1f][Math.floor(random() * 5)]!;
      for (let s = 0; s < 8; s++) b[Math.floor(random() * length)] = 0x80 + Math.floor(random() * 0x7f);
      resetStringScan();
      for (let probe = 0; probe < 6; probe++) {
        const from = Math.floor(random() * length);
        const end = from + Math.floor(random() * (length - from + 1));
        assert.equal(nextStringStop(b, from, end), plainStop(b, from, end), `seed ${seed}, round ${round}, from ${from}, end ${end}, length ${length}`);
      }
    }
  });

  it('should find a stop in the last bytes of a long run, and report none as the end', () => {
    for (const length of [511, 512, 513, 1024, 262_143, 262_144, 262_145, 600_000]) {
      const b = Buffer.alloc(length, 0x61);
      assert.equal(nextStringStop(b, 0, length), length, `no stop in ${length}`);
      b[length - 1] = 0x22;
      resetStringScan(); // the bytes changed in place: the window it copied is stale (the reader resets it per frame)
      assert.equal(nextStringStop(b, 0, length), length - 1, `stop at the end of ${length}`);
      b[length - 1] = 0x61;
      b[Math.floor(length / 2)] = 0x5c;
      resetStringScan();
      assert.equal(nextStringStop(b, 1, length), Math.floor(length / 2), `stop in the middle of ${length}`);
    }
  });
});
