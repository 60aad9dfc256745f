// One documented range per setting, matching the code (issue 19): every whole-number setting's
// range is data on its entry (components/config/settings.ts), the parse enforces exactly that
// range, and its row in the README's settings table states exactly that range.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SCALAR_SETTINGS } from '../../../components/config/index.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The README row of a flag: the table line whose first cell starts with `--flag`. */
function rowOf(flag: string): string | undefined {
  return README.split('\n').find((line) => line.startsWith(`| \`--${flag} `) || line.startsWith(`| \`--${flag}\``));
}

/** Every "min to max" the row's description states (plain digits, as the README writes them). */
function statedRanges(row: string): Array<[number, number]> {
  const description = row.split(' | ').slice(3).join(' | ');
  return [...description.matchAll(/\b(\d+) to (\d+)\b/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

const ranged = SCALAR_SETTINGS.filter((spec) => spec.range !== undefined);

test('the whole-number settings carry their range as data', () => {
  // The settings the issue named, and enough of the rest that a refactor dropping `range` fails here.
  for (const key of ['restartResetMs', 'requestTimeoutMs', 'reportRotateKeep', 'reportFsyncIntervalMs', 'maxRestarts', 'httpIdleTimeoutMs']) {
    assert.ok(ranged.some((spec) => spec.key === key), `${key} has a range`);
  }
  assert.ok(ranged.length >= 20, `${ranged.length} ranged settings`);
});

test('each parse accepts exactly its range', () => {
  for (const spec of ranged) {
    const [min, max] = spec.range!;
    assert.equal(spec.parse(`--${spec.flag}`, String(min)), min, `${spec.flag} accepts ${min}`);
    assert.equal(spec.parse(`--${spec.flag}`, String(max)), max, `${spec.flag} accepts ${max}`);
    assert.throws(() => spec.parse(`--${spec.flag}`, String(max + 1)), undefined, `${spec.flag} refuses ${max + 1}`);
    if (min > 0) assert.throws(() => spec.parse(`--${spec.flag}`, String(min - 1)), undefined, `${spec.flag} refuses ${min - 1}`);
    else assert.throws(() => spec.parse(`--${spec.flag}`, '-1'), undefined, `${spec.flag} refuses -1`);
  }
});

test("the README's settings table states each setting's range, the one the code enforces", () => {
  const wrong: string[] = [];
  for (const spec of ranged) {
    const row = rowOf(spec.flag);
    if (row === undefined) {
      wrong.push(`--${spec.flag}: no row in the README's settings table`);
      continue;
    }
    const stated = statedRanges(row);
    const [min, max] = spec.range!;
    if (stated.length !== 1) wrong.push(`--${spec.flag}: the row states ${stated.length} ranges, expected one: "${min} to ${max}"`);
    else if (stated[0]![0] !== min || stated[0]![1] !== max) wrong.push(`--${spec.flag}: the README says ${stated[0]![0]} to ${stated[0]![1]}, the code accepts ${min} to ${max}`);
  }
  assert.deepEqual(wrong, []);
});

test('the README states no blanket range for timeouts that the rows contradict', () => {
  assert.doesNotMatch(README, /Timeouts are milliseconds, \d+ to \d+/);
});
