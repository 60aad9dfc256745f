// The benchmark's smoke run (`npm run bench -- --quick`) as a correctness check: every
// configuration answers every call of every phase with the response expected for it. No
// timing is asserted; the figures of a quick run mean nothing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';

interface BenchJson {
  mismatches: number;
  problems: string[];
  configurations: Array<{ name: string }>;
  summary: { medians: Record<string, Record<string, number | undefined>> };
}

function runQuickBench(jsonPath: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench', 'run.mjs'), '--quick', '--json', jsonPath], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('bench --quick', () => {
  test('should get every response right in every configuration and phase', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
    try {
      const jsonPath = join(dir, 'quick.json');
      const { code, output } = await runQuickBench(jsonPath);
      assert.equal(code, 0, `the quick bench failed:\n${output}`);
      const result = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchJson;
      assert.equal(result.mismatches, 0, result.problems.join('\n'));
      assert.deepEqual(result.problems, []);
      const names = result.configurations.map((c) => c.name);
      // observe and enforce: the proxy with the realistic policy (bench/policy.bench.yaml), which denies and changes nothing.
      for (const name of ['direct', 'proxy', 'observe', 'enforce', 'pipe', 'sdk']) assert.ok(names.includes(name), `${name} ran`);
      // Every phase produced a figure for every configuration (so every phase really ran).
      for (const name of names) {
        for (const key of ['seqP50Us', 'inflightCallsPerSec', 'kib16MBps', 'mib1MBps', 'coldStartMs']) {
          assert.equal(typeof result.summary.medians[name]?.[key], 'number', `${name}: ${key}`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
