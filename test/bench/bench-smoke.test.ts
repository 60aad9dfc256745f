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
  configurations: Array<{ name: string; transport: string; phases: string[] }>;
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
      // http and http-enforce: the passthrough and enforce served over Streamable HTTP (--http), driven by a plain HTTP client.
      // http-pipe: the raw HTTP floor; gateway: the proxy with --servers, calling bench.echo.
      for (const name of ['direct', 'proxy', 'observe', 'enforce', 'http', 'http-enforce', 'pipe', 'sdk', 'http-pipe', 'gateway']) assert.ok(names.includes(name), `${name} ran`);
      for (const name of ['http', 'http-enforce']) assert.equal(result.configurations.find((c) => c.name === name)?.transport, 'http');
      // Every phase a configuration runs produced a figure for it (so every phase really ran);
      // a phase that does not apply to it (cold start over HTTP) produced none.
      const phaseOf: Record<string, string> = { seqP50Us: 'sequential', inflightCallsPerSec: 'inflight', kib16MBps: 'kib16', mib1MBps: 'mib1', coldStartMs: 'cold' };
      for (const { name, phases } of result.configurations) {
        for (const [key, phase] of Object.entries(phaseOf)) {
          const value = result.summary.medians[name]?.[key];
          if (phases.includes(phase)) assert.equal(typeof value, 'number', `${name}: ${key}`);
          else assert.equal(value, undefined, `${name}: ${key} (${phase} does not apply)`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
