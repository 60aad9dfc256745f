// `mcp-sidecar policy test <policy> <cases>` run in process, what it prints captured.
import { Writable } from 'node:stream';
import { buildPolicy } from '../../components/policy/index.js';
import { loadPolicyFile } from '../../components/policy/document/index.js';
import { runPolicyTestCommand } from '../../components/policy-test/index.js';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (chunk, _e, cb) => { text += chunk; cb(); } }), text: () => text };
}

/** The command's exit code and what it wrote to stdout and stderr. */
export async function runCases(policyFile: string, casesFile: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture(), stderr = capture();
  const code = await runPolicyTestCommand(policyFile, casesFile, { stdout: stdout.stream, stderr: stderr.stream }, (path) => buildPolicy(loadPolicyFile(path)));
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
