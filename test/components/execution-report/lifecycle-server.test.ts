// A lifecycle report in gateway mode names its service (`server`): written in its canonical
// place (the chain's text is exactly the canonical JSON), taken by the format 2 schema and by
// verify, refused by format 1, and never written without it (--proxy lines are unchanged).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { canonicalText, createReportChain, loadReportSchema, verifyReportFiles } from '../../../components/execution-report/index.js';

const withoutUnhashed = (line: string): string => {
  const { digest: _digest, signature: _signature, timing: _timing, ...hashed } = JSON.parse(line) as Record<string, unknown>;
  return canonicalText(hashed);
};

describe('a lifecycle report naming its service', () => {
  it('should write `server` in canonical key order, so the hashed text is the canonical JSON', () => {
    const chain = createReportChain({ sessionSeed: 'seed', clock: () => 0 });
    const spawn = chain.append({ kind: 'lifecycle', event: 'spawn', detail: { command: 'node fs.js' }, generation: 0, pid: 4242, server: 'fs' });
    const exit = chain.append({ kind: 'lifecycle', event: 'exit', detail: { exitCode: 1, signal: null, reason: 'exited unbidden' }, generation: 0, server: 'memory' });
    for (const { line } of [spawn, exit]) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      assert.ok(line.startsWith(withoutUnhashed(line).slice(0, -1)), line);
      assert.ok(['fs', 'memory'].includes(parsed['server'] as string));
    }
    assert.equal((JSON.parse(spawn.line) as Record<string, unknown>)['server'], 'fs');
  });

  it('should leave a --proxy lifecycle line byte for byte as it was (no `server` key)', () => {
    const input = { kind: 'lifecycle', event: 'spawn', detail: { command: 'node server.js' }, generation: 0 } as const;
    const bare = createReportChain({ sessionSeed: 'seed', clock: () => 0 }).append(input).line;
    const named = createReportChain({ sessionSeed: 'seed', clock: () => 0 }).append({ ...input, server: 'fs' }).line;
    assert.ok(!bare.includes('"server"'));
    assert.notEqual(bare, named);
    assert.equal(bare.replace(/,"digest".*$/, ''), named.replace(/,"server":"fs","digest".*$/, ''));
  });

  it('should be valid format 2 (schema and verify) and invalid format 1', async () => {
    const { reportSchemaV2, lifecycleReportSchema } = await loadReportSchema();
    const chain = createReportChain({ sessionSeed: 'seed', clock: () => 0 });
    const lines = [
      chain.append({ kind: 'lifecycle', event: 'spawn', detail: { command: 'node fs.js' }, generation: 0, pid: 7, server: 'fs' }).line,
      chain.append({ kind: 'lifecycle', event: 'restart', detail: { attempt: 1, reason: 'restarting after 100 ms' }, generation: 1, server: 'fs' }).line,
      chain.checkpoint('close').line,
    ];
    for (const line of lines.slice(0, 2)) assert.equal(reportSchemaV2.safeParse(JSON.parse(line)).success, true, line);
    const v1 = { ...(JSON.parse(lines[0]!) as Record<string, unknown>), schema: 'MiddlewareExecutionReportV1', schemaVersion: 1 };
    assert.equal(lifecycleReportSchema.safeParse(v1).success, false, 'format 1 never carries server');
    const dir = mkdtempSync(join(tmpdir(), 'lifecycle-server-'));
    try {
      const file = join(dir, 'reports.ndjson');
      writeFileSync(file, `${lines.join('\n')}\n`);
      const result = await verifyReportFiles([file]);
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(result.reports, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
