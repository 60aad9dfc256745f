import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChurnMap } from '../../../components/values/index.js';
import { seededRandom } from '../../helpers/seeded-random.js';

test('a ChurnMap answers as a Map does through many renewals (seeded operations, insertion order kept)', () => {
  const seed = 20261207;
  const next = seededRandom(seed);
  const churn = new ChurnMap<string, number>();
  const plain = new Map<string, number>();
  // In-flight-like traffic: keys come and mostly go, a few stay long (across renewals).
  for (let step = 0; step < 20_000; step++) {
    const key = String(Math.floor(next() * 300));
    const roll = next();
    if (roll < 0.5) {
      assert.equal(churn.set(key, step), churn);
      plain.set(key, step);
    } else if (roll < 0.9) {
      assert.equal(churn.delete(key), plain.delete(key), `seed ${seed}, step ${step}: delete ${key}`);
    } else {
      assert.equal(churn.get(key), plain.get(key), `seed ${seed}, step ${step}: get ${key}`);
      assert.equal(churn.has(key), plain.has(key));
    }
    assert.equal(churn.size, plain.size, `seed ${seed}, step ${step}: size`);
  }
  assert.deepEqual([...churn], [...plain]);
  assert.deepEqual([...churn.keys()], [...plain.keys()]);
  assert.deepEqual([...churn.values()], [...plain.values()]);
  assert.deepEqual([...churn.entries()], [...plain.entries()]);
});

test('a ChurnMap walked while its entries are deleted visits each live entry once, as a Map does', () => {
  const churn = new ChurnMap<number, string>();
  for (let i = 0; i < 3000; i++) churn.set(i, `v${i}`); // past two renewals
  for (let i = 0; i < 3000; i += 2) churn.delete(i);
  const seen: number[] = [];
  for (const [key] of churn) {
    seen.push(key);
    churn.delete(key);
  }
  assert.equal(seen.length, 1500);
  assert.deepEqual(seen, Array.from({ length: 1500 }, (_, i) => 2 * i + 1));
  assert.equal(churn.size, 0);
  churn.set(7, 'again');
  churn.clear();
  assert.equal(churn.size, 0);
  assert.equal(churn.get(7), undefined);
});
