import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { policyJsonSchemaText, policySchema, RULE_KINDS, toJsonSchema } from '../../../components/policy/document/index.js';

const ROOT = new URL('../../../', import.meta.url);
type JsonSchema = Record<string, unknown>;

/** Every object schema in the tree that lists `properties` (the strict objects), with where it is. */
function objectSchemas(schema: JsonSchema, where = '#'): Array<[string, JsonSchema]> {
  const found: Array<[string, JsonSchema]> = 'properties' in schema ? [[where, schema]] : [];
  const children: Array<[string, unknown]> = [
    ...Object.entries((schema.properties ?? {}) as JsonSchema).map(([key, child]): [string, unknown] => [`${where}/properties/${key}`, child]),
    ...(['items', 'additionalProperties', 'propertyNames'] as const).map((key): [string, unknown] => [`${where}/${key}`, schema[key]]),
    ...(['anyOf', 'oneOf', 'allOf'] as const).flatMap((key) => ((schema[key] ?? []) as unknown[]).map((child, i): [string, unknown] => [`${where}/${key}/${i}`, child])),
  ];
  for (const [path, child] of children) {
    if (typeof child === 'object' && child !== null) found.push(...objectSchemas(child as JsonSchema, path));
  }
  return found;
}

describe('docs/policy.schema.json', () => {
  it('should be exactly what `npm run schema` generates from components/policy/schema.ts (never edited by hand)', () => {
    const checkedIn = readFileSync(new URL('docs/policy.schema.json', ROOT), 'utf8');
    assert.equal(checkedIn, policyJsonSchemaText(), 'docs/policy.schema.json is out of date: run `npm run schema`');
  });

  it('should be what the generator script itself reports as up to date', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/generate-schemas.ts', '--check'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  });

  it('should reject unknown keys in every object: additionalProperties is false wherever properties are listed', () => {
    const objects = objectSchemas(toJsonSchema());
    assert.ok(objects.length >= 15, `found ${objects.length} object schemas`);
    for (const [where, schema] of objects) assert.equal(schema.additionalProperties, false, `${where} admits unknown keys`);
  });

  it('should say that a rule has exactly one kind, and describe the file as written (defaults optional)', () => {
    const root = toJsonSchema() as { required: string[]; properties: { rules: { items: { oneOf: unknown[]; required: string[] } } } };
    assert.deepEqual(root.required, ['apiVersion', 'kind', 'metadata']);
    const rule = root.properties.rules.items;
    assert.deepEqual(rule.oneOf, RULE_KINDS.map((kind) => ({ required: [kind] })));
    assert.deepEqual(rule.required, ['id']);
  });

  it('should describe JSON pointers as the validator reads them: * for each element, never first', () => {
    const text = JSON.stringify(toJsonSchema());
    const patterns = [...new Set([...text.matchAll(/"pattern":"(\^[^"]*\/[^"]*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string))];
    assert.equal(patterns.length, 1, `one pointer pattern: ${patterns.join(' | ')}`);
    const pattern = new RegExp(patterns[0]!, 'u');
    const pointer = (value: string) => policySchema.safeParse({
      apiVersion: 'mcp-sidecar/v1', kind: 'Policy', metadata: { name: 'p', revision: 1 },
      rules: [{ id: 'a', arguments: { tool: 't', required: [value] } }],
    }).success;
    for (const value of ['/path', '/paths/*', '/edits/*/path', '/grid/*/*', '/a*', '/*x', '/a~1b', '/', '/*', '/*/path', 'path', '', '/a~2']) {
      assert.equal(pattern.test(value), pointer(value), `${JSON.stringify(value)}: the JSON Schema and the validator disagree`);
    }
    assert.ok(pointer('/paths/*') && !pointer('/*'));
    assert.match(text, /A segment `\*` is each element of the array there/);
  });

  it('should be the same schema the validator uses: unknown keys fail there too', () => {
    const result = policySchema.safeParse({ apiVersion: 'mcp-sidecar/v1', kind: 'Policy', metadata: { name: 'p', revision: 1 }, extra: true });
    assert.equal(result.success, false);
    assert.deepEqual(result.error?.issues.map((issue) => issue.code), ['unrecognized_keys']);
  });
});
