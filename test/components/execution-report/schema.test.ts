import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadReportSchema } from '../../../components/execution-report/index.js';
import { chainLines, transcript } from './reports.js';

const ROOT = new URL('../../../', import.meta.url);
type JsonSchema = Record<string, unknown>;
const { reportSchema, reportJsonSchema, reportJsonSchemaText } = await loadReportSchema();

/** Every object schema in the tree that lists `properties`, with where it is. */
function objectSchemas(schema: JsonSchema, where = '#'): Array<[string, JsonSchema]> {
  const found: Array<[string, JsonSchema]> = 'properties' in schema ? [[where, schema]] : [];
  const children: Array<[string, unknown]> = [
    ...Object.entries((schema.properties ?? {}) as JsonSchema).map(([key, child]): [string, unknown] => [`${where}/properties/${key}`, child]),
    ...(['items', 'additionalProperties'] as const).map((key): [string, unknown] => [`${where}/${key}`, schema[key]]),
    ...(['anyOf', 'oneOf', 'allOf'] as const).flatMap((key) => ((schema[key] ?? []) as unknown[]).map((child, i): [string, unknown] => [`${where}/${key}/${i}`, child])),
  ];
  for (const [path, child] of children) {
    if (typeof child === 'object' && child !== null) found.push(...objectSchemas(child as JsonSchema, path));
  }
  return found;
}

describe('docs/report.schema.json', () => {
  it('should be exactly what `npm run schema` generates from components/execution-report/schema.ts (never edited by hand)', () => {
    const checkedIn = readFileSync(new URL('docs/report.schema.json', ROOT), 'utf8');
    assert.equal(checkedIn, reportJsonSchemaText(), 'docs/report.schema.json is out of date: run `npm run schema`');
  });

  it('should be what the generator script itself reports as up to date', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/generate-schemas.ts', '--check'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  });

  it('should reject unknown keys in every object but the free-form arguments', () => {
    const objects = objectSchemas(reportJsonSchema());
    // Format 2 (invocation, lifecycle, checkpoint) and format 1 (invocation, lifecycle), each with their nested objects
    // (format 2 decisions hold pin mismatches: one more object).
    assert.ok(objects.length === 24, `found ${objects.length} object schemas`);
    for (const [where, schema] of objects) assert.equal(schema.additionalProperties, false, `${where} admits unknown keys`);
  });

  it('should describe both kinds of report and the checkpoint (format 2), and both kinds of format 1, each with the fields the issue asks for', () => {
    const root = reportJsonSchema() as { anyOf: Array<{ oneOf: Array<{ required: string[]; properties: JsonSchema }> }> };
    const [format2, format1] = root.anyOf;
    const [invocation, lifecycle, checkpoint] = format2!.oneOf;
    assert.deepEqual(invocation?.required.sort(), ['decisions', 'digest', 'direction', 'generation', 'invocationId', 'kind', 'method', 'mode', 'outcome', 'prevDigest', 'seq', 'timing']);
    assert.deepEqual(lifecycle?.required.sort(), ['detail', 'digest', 'event', 'generation', 'invocationId', 'kind', 'prevDigest', 'seq', 'timing']);
    assert.deepEqual(checkpoint?.required.sort(), ['digest', 'kind', 'prevDigest', 'reason', 'reports', 'schema', 'schemaVersion', 'seq', 'timing']);
    for (const optional of ['target', 'requestId', 'argumentsDigest', 'arguments', 'responseDigest', 'identity', 'dropped', 'policy']) {
      assert.ok(optional in invocation!.properties, optional);
    }
    assert.ok(!('signature' in invocation!.properties) && 'signature' in checkpoint!.properties, 'format 2 signs checkpoints only');
    const [invocation1, lifecycle1] = format1!.oneOf;
    assert.deepEqual(invocation1?.required.sort(), ['decisions', 'digest', 'direction', 'generation', 'invocationId', 'kind', 'method', 'mode', 'outcome', 'policy', 'prevDigest', 'schema', 'schemaVersion', 'seq', 'timing']);
    assert.deepEqual(lifecycle1?.required.sort(), ['detail', 'digest', 'event', 'generation', 'invocationId', 'kind', 'prevDigest', 'schema', 'schemaVersion', 'seq', 'timing']);
    for (const optional of ['target', 'requestId', 'argumentsDigest', 'arguments', 'responseDigest', 'identity', 'signature', 'dropped']) {
      assert.ok(optional in invocation1!.properties, optional);
    }
  });

  it('should accept every report the chain writes, and be the validator verify uses: unknown keys fail there too', () => {
    for (const line of chainLines(transcript())) {
      const result = reportSchema.safeParse(JSON.parse(line));
      assert.ok(result.success, `${line}: ${result.error?.message}`);
    }
    const report = JSON.parse(chainLines(transcript())[1]!) as Record<string, unknown>;
    const extra = reportSchema.safeParse({ ...report, extra: true });
    assert.deepEqual(extra.error?.issues.map((issue) => issue.code), ['unrecognized_keys']);
    const badOutcome = reportSchema.safeParse({ ...report, outcome: 'maybe' });
    assert.equal(badOutcome.success, false);
  });
});
