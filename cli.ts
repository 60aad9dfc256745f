#!/usr/bin/env node
// mcp-sidecar: parses arguments and environment, wires the components, maps the result to
// an exit code. Behaviour lives in components/.
import { existsSync, readFileSync } from 'node:fs';
import { loadConfig, USAGE } from './components/config/index.js';
import { isSidecarError } from './components/errors/index.js';
import { redactForLog } from './components/logging/index.js';
import { EXIT_CODES, exitCodeForError, startSidecar } from './components/runtime/index.js';

// This module runs as dist/cli.js (built) and as cli.ts (from source, through tsx): package.json
// is one folder up from the first, beside the second. Only these two places, nearest first, so a
// stray package.json further up is never read.
const PACKAGE_JSON_CANDIDATES = ['./package.json', '../package.json'];

function version(): string {
  for (const candidate of PACKAGE_JSON_CANDIDATES) {
    const url = new URL(candidate, import.meta.url);
    if (!existsSync(url)) continue;
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string') return pkg.version;
  }
  throw new Error(`package.json with a version not found beside or above ${new URL('.', import.meta.url).pathname}`);
}

// `mcp-sidecar policy validate|test …`: loaded only when asked for, off the proxy's cold start.
async function policyCommand(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  const io = { stdout: process.stdout, stderr: process.stderr };
  if (verb === 'validate' && rest.length > 0) {
    const { buildPolicy, loadPolicyDocument } = await import('./components/policy/index.js');
    const { runPolicyValidate } = await loadPolicyDocument();
    return runPolicyValidate(rest, io, (loaded) => buildPolicy(loaded));
  }
  if (verb === 'test' && rest.length === 2) {
    const [{ runPolicyTestCommand }, { buildPolicy, loadPolicyDocument }] = await Promise.all([import('./components/policy-test/index.js'), import('./components/policy/index.js')]);
    const { loadPolicyFile } = await loadPolicyDocument();
    return runPolicyTestCommand(rest[0]!, rest[1]!, io, (path) => buildPolicy(loadPolicyFile(path)));
  }
  process.stderr.write('usage: mcp-sidecar policy validate <policy.yaml>...\n       mcp-sidecar policy test <policy.yaml> <cases.yaml>\n');
  return EXIT_CODES.USAGE;
}

// `mcp-sidecar report verify <file>... [--public-key <pem>]`: checks an execution report file.
async function reportCommand(args: string[]): Promise<number> {
  if (args[0] === 'verify') {
    const { runReportVerify } = await import('./components/execution-report/index.js');
    return runReportVerify(args.slice(1), { stdout: process.stdout, stderr: process.stderr });
  }
  process.stderr.write('usage: mcp-sidecar report verify <report.ndjson>... [--public-key <key.pem>]\n');
  return EXIT_CODES.USAGE;
}

// `mcp-sidecar replay --transcript <file> --policy <candidate.yaml> [--fail-on new-denies] [--json]`.
async function replayCommand(args: string[]): Promise<number> {
  const { runReplay } = await import('./components/transcript/index.js');
  return runReplay(args, { stdout: process.stdout, stderr: process.stderr });
}

/** Set by an uncaught fault: the exit code is then INTERNAL, whatever the stop sequence returns. */
let fatal = false;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args[0] === 'policy') return policyCommand(args.slice(1));
  if (args[0] === 'report') return reportCommand(args.slice(1));
  if (args[0] === 'replay') return replayCommand(args.slice(1));
  if (args[0] === 'bundle') return (await import('./components/policy-bundle/index.js')).runBundleCommand(args.slice(1), { stdout: process.stdout, stderr: process.stderr });
  if (args[0] === 'pin') return (await import('./components/pin-command/index.js')).runPinCommand(args.slice(1), { stdout: process.stdout, stderr: process.stderr, env: process.env });
  const request = await loadConfig(args, process.env);
  if (request.kind === 'help') {
    process.stdout.write(USAGE);
    return EXIT_CODES.OK;
  }
  if (request.kind === 'version') {
    process.stdout.write(`${version()}\n`);
    return EXIT_CODES.OK;
  }
  const sidecar = await startSidecar(request.config, { input: process.stdin, output: process.stdout }, { version: version() });
  // A fault no frame's boundary caught (a bug): the stop sequence still runs, so no server is left behind.
  const onFatal = (error: unknown): void => {
    if (fatal) return;
    fatal = true;
    process.stderr.write(`mcp-sidecar: internal error, stopping: ${redactForLog(error instanceof Error ? error.stack ?? error.message : String(error))}\n`);
    void sidecar.stop('internal error').finally(() => process.exit(EXIT_CODES.INTERNAL));
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => void sidecar.stop(`received ${signal}`));
  }
  process.on('SIGHUP', () => void sidecar.policy?.reload('received SIGHUP'));
  return sidecar.done;
}

main().then(
  (code) => process.exit(fatal ? EXIT_CODES.INTERNAL : code),
  (error: unknown) => {
    if (isSidecarError(error)) {
      process.stderr.write(`mcp-sidecar: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}\n`);
      process.exit(exitCodeForError(error.code));
    }
    process.stderr.write(`mcp-sidecar: internal error: ${redactForLog(error instanceof Error ? error.stack ?? error.message : String(error))}\n`);
    process.exit(EXIT_CODES.INTERNAL);
  },
);
