#!/usr/bin/env node
// mcp-sidecar: parses arguments and environment, wires the components, maps the result to
// an exit code. Behaviour lives in components/.
import { readFileSync } from 'node:fs';
import { loadConfig, USAGE } from './components/config/index.js';
import { isSidecarError } from './components/errors/index.js';
import { EXIT_CODES, exitCodeForError, startSidecar } from './components/runtime/index.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(): Promise<number> {
  const request = loadConfig(process.argv.slice(2), process.env);
  if (request.kind === 'help') {
    process.stdout.write(USAGE);
    return EXIT_CODES.OK;
  }
  if (request.kind === 'version') {
    process.stdout.write(`${version()}\n`);
    return EXIT_CODES.OK;
  }
  const sidecar = startSidecar(request.config, { input: process.stdin, output: process.stdout });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => void sidecar.stop(`received ${signal}`));
  }
  return sidecar.done;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isSidecarError(error)) {
      process.stderr.write(`mcp-sidecar: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}\n`);
      process.exit(exitCodeForError(error.code));
    }
    process.stderr.write(`mcp-sidecar: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(EXIT_CODES.INTERNAL);
  },
);
