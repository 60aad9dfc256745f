// Writes docs/policy.schema.json from the zod schema in components/policy/schema.ts (the one
// source of the validator and of the published JSON Schema): `npm run schema`. With --check it
// writes nothing and exits 1 when the checked-in file is out of date (test/components/policy/
// schema.test.ts makes the same check).
import { readFileSync, writeFileSync } from 'node:fs';
import { policyJsonSchemaText } from '../components/policy/index.js';

const target = new URL('../docs/policy.schema.json', import.meta.url);
const text = policyJsonSchemaText();

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // a missing file is out of date too
  }
  if (current !== text) {
    process.stderr.write('docs/policy.schema.json is out of date: run `npm run schema`\n');
    process.exit(1);
  }
  process.stdout.write('docs/policy.schema.json is up to date\n');
} else {
  writeFileSync(target, text);
  process.stdout.write('wrote docs/policy.schema.json\n');
}
