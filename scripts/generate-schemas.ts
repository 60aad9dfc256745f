// Writes the published JSON Schemas from their zod sources — docs/policy.schema.json from
// components/policy/document/schema.ts, docs/report.schema.json from components/execution-report/schema.ts,
// docs/servers.schema.json from components/gateway/servers-file.ts —
// so each is the one source of its validator and its schema: `npm run schema`. With --check it
// writes nothing and exits 1 when a checked-in file is out of date (the schema tests run it).
import { readFileSync, writeFileSync } from 'node:fs';
import { loadReportSchema } from '../components/execution-report/index.js';
import { serversJsonSchemaText } from '../components/gateway/index.js';
import { loadPolicyDocument } from '../components/policy/index.js';

const { policyJsonSchemaText } = await loadPolicyDocument();

const schemas: Array<[file: string, text: string]> = [
  ['docs/policy.schema.json', policyJsonSchemaText()],
  ['docs/report.schema.json', (await loadReportSchema()).reportJsonSchemaText()],
  ['docs/servers.schema.json', serversJsonSchemaText()],
];
const check = process.argv.includes('--check');
let stale = false;
for (const [file, text] of schemas) {
  const target = new URL(`../${file}`, import.meta.url);
  if (!check) {
    writeFileSync(target, text);
    process.stdout.write(`wrote ${file}\n`);
    continue;
  }
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // a missing file is out of date too
  }
  if (current === text) {
    process.stdout.write(`${file} is up to date\n`);
  } else {
    stale = true;
    process.stderr.write(`${file} is out of date: run \`npm run schema\`\n`);
  }
}
if (stale) process.exit(1);
