import { readFileSync } from 'node:fs';
import type { CompiledPolicy } from '../policy/index.js';
import { parseCasesFile } from './cases.js';
import { runPolicyCases } from './run-cases.js';

export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/**
 * `mcp-sidecar policy test <policy.yaml> <cases.yaml>`: prints PASS/FAIL per case and a
 * summary; exit 0 when every case passes, 1 when one fails, 2 when a file cannot be used.
 */
export async function runPolicyTestCommand(policyFile: string, casesFile: string, io: CommandIo, loadPolicy: (path: string) => Promise<CompiledPolicy>): Promise<number> {
  let policy: CompiledPolicy;
  let cases;
  try {
    policy = await loadPolicy(policyFile);
    cases = parseCasesFile(readFileSync(casesFile, 'utf8'), casesFile);
  } catch (error) {
    io.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  io.stdout.write(`${policyFile} (${policy.name} revision ${policy.revision}, ${policy.mode}) against ${casesFile}\n`);
  const results = runPolicyCases(policy, cases);
  for (const result of results) {
    io.stdout.write(`  ${result.passed ? 'PASS' : 'FAIL'} ${result.name}\n`);
    for (const problem of result.problems) io.stdout.write(`       ${problem}\n`);
  }
  const failed = results.filter((r) => !r.passed).length;
  io.stdout.write(`${results.length - failed} of ${results.length} cases passed${failed > 0 ? `, ${failed} failed` : ''}\n`);
  return failed > 0 ? 1 : 0;
}
