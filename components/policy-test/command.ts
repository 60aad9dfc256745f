import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CompiledPolicy } from '../policy/index.js';
import { parseCasesDocument, type CasesFile } from './cases.js';
import { runPolicyCases, type CaseTarget } from './run-cases.js';

export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Whose frames a cases file's are; a gateway's servers file is read as `--servers` reads it. */
async function targetOf(file: CasesFile, casesFile: string): Promise<CaseTarget> {
  const { gateway } = file;
  if (gateway === undefined) return file.server === undefined ? { kind: 'server' } : { kind: 'server', name: file.server };
  if ('services' in gateway) return { kind: 'gateway', separator: gateway.separator, services: gateway.services };
  const { loadServersFile } = await import('../gateway/index.js');
  const servers = loadServersFile(resolve(dirname(casesFile), gateway.servers));
  return { kind: 'gateway', separator: servers.separator, services: servers.servers.map((service) => service.name) };
}

function describeTarget(target: CaseTarget): string {
  if (target.kind === 'gateway') return `, as frames of a gateway over ${target.services.join(', ')} (separator ${JSON.stringify(target.separator)})`;
  return target.name === undefined ? '' : `, as frames of server ${target.name}`;
}

/**
 * `mcp-sidecar policy test <policy.yaml> <cases.yaml>`: prints PASS/FAIL per case and a
 * summary; exit 0 when every case passes, 1 when one fails, 2 when a file cannot be used.
 */
export async function runPolicyTestCommand(policyFile: string, casesFile: string, io: CommandIo, loadPolicy: (path: string) => Promise<CompiledPolicy>): Promise<number> {
  let policy: CompiledPolicy;
  let file: CasesFile;
  let target: CaseTarget;
  try {
    policy = await loadPolicy(policyFile);
    file = parseCasesDocument(readFileSync(casesFile, 'utf8'), casesFile);
    target = await targetOf(file, casesFile);
  } catch (error) {
    io.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  io.stdout.write(`${policyFile} (${policy.name} revision ${policy.revision}, ${policy.mode}) against ${casesFile}${describeTarget(target)}\n`);
  const results = runPolicyCases(policy, file.cases, target);
  for (const result of results) {
    io.stdout.write(`  ${result.passed ? 'PASS' : 'FAIL'} ${result.name}\n`);
    for (const problem of result.problems) io.stdout.write(`       ${problem}\n`);
  }
  const failed = results.filter((r) => !r.passed).length;
  io.stdout.write(`${results.length - failed} of ${results.length} cases passed${failed > 0 ? `, ${failed} failed` : ''}\n`);
  return failed > 0 ? 1 : 0;
}
