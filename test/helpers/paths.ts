// Where the things the end-to-end tests start live, and how to name them in a --proxy string.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The built proxy: `npm run build` must have run (npm test does it). */
export const CLI = join(ROOT, 'dist', 'cli.js');
export const EVERYTHING_ENTRY = join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');

export function fixtureServer(name: string): string {
  return join(ROOT, 'test', 'fixtures', 'servers', name);
}

/** Quotes one word for the proxy's --proxy parser (POSIX single quotes). */
export function quoteWord(word: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A --proxy command string that starts exactly this argv. */
export function commandLine(argv: readonly string[]): string {
  return argv.map(quoteWord).join(' ');
}

/** The allow rule the end-to-end tests start their servers under: node, with any script in this repository. */
export const ALLOW_REPO_SCRIPTS = commandLine([process.execPath, ROOT.endsWith('/') ? ROOT : `${ROOT}/`]);

/** server-everything over stdio, as argv and as a --proxy string. */
export const EVERYTHING_ARGV: readonly string[] = [process.execPath, EVERYTHING_ENTRY, 'stdio'];
export const EVERYTHING_COMMAND = commandLine(EVERYTHING_ARGV);
