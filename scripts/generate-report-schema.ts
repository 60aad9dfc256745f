// Writes docs/report.schema.json from the zod schema in components/execution-report/schema.ts
// (the one source of the report verifier, the writer's types and the published JSON Schema):
// `npm run schema`. With --check it writes nothing and exits 1 when the checked-in file is out
// of date (test/components/execution-report/schema.test.ts makes the same check).
import { readFileSync, writeFileSync } from 'node:fs';
import { loadReportSchema } from '../components/execution-report/index.js';

const target = new URL('../docs/report.schema.json', import.meta.url);
const text = (await loadReportSchema()).reportJsonSchemaText();

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // a missing file is out of date too
  }
  if (current !== text) {
    process.stderr.write('docs/report.schema.json is out of date: run `npm run schema`\n');
    process.exit(1);
  }
  process.stdout.write('docs/report.schema.json is up to date\n');
} else {
  writeFileSync(target, text);
  process.stdout.write('wrote docs/report.schema.json\n');
}
