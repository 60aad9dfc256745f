/**
 * `mcp-sidecar policy validate <file>...`: loads each file the way the proxy would and says,
 * per file, either `ok <file> (<name> revision <rev>, <n> rules)` on stdout or every error on
 * stderr (`file:line:column: path: message`), so it fits a pre-commit hook or a CI step.
 */
import { isSidecarError } from '../../errors/index.js';
import { loadPolicyFile, type LoadedPolicy } from './load.js';
import { formatPolicyError, PolicyInvalidError } from './policy-error.js';

export interface ValidateOutput {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/** 0 when every file is a valid policy, 1 when any is not (or cannot be read), 2 when no file is given. */
/**
 * `mcp-sidecar policy validate <file>...`. `compile` (the engine's, passed by the CLI) also
 * compiles each file's rules, so a file that validates is one the proxy will start with.
 */
export async function runPolicyValidate(files: readonly string[], out: ValidateOutput, compile?: (loaded: LoadedPolicy) => unknown): Promise<number> {
  if (files.length === 0) {
    out.stderr.write('policy validate: give at least one policy file: mcp-sidecar policy validate <file>...\n');
    return 2;
  }
  let failed = false;
  for (const file of files) {
    try {
      const loaded = loadPolicyFile(file);
      await compile?.(loaded);
      const { document } = loaded;
      const rules = document.rules.length;
      out.stdout.write(`ok ${file} (${document.metadata.name} revision ${document.metadata.revision}, ${rules} rule${rules === 1 ? '' : 's'})\n`);
    } catch (error) {
      failed = true;
      out.stderr.write(`${describeFailure(file, error)}\n`);
    }
  }
  return failed ? 1 : 0;
}

function describeFailure(file: string, error: unknown): string {
  if (error instanceof PolicyInvalidError) return error.errors.map(formatPolicyError).join('\n');
  if (isSidecarError(error) && error.code === 'SIDECAR_ERR_POLICY_INVALID') return error.message;
  if (isSidecarError(error) && error.code === 'SIDECAR_ERR_POLICY_UNREADABLE') {
    return `${file}: cannot read the file: ${error.cause instanceof Error ? error.cause.message : error.message}`;
  }
  throw error; // a bug, not a bad file: let the caller's handler report it with its stack
}
