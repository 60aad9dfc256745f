// What the image tests share: the proxy's known flags and variables, reading the docs' code,
// finding proxy invocations in shell lines, and running a command the image would run.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { LIST_SETTINGS, SCALAR_SETTINGS, USAGE } from '../../components/config/index.js';
import { ROOT } from '../helpers/paths.js';

export { ROOT };

export const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** Every flag the proxy itself takes. */
export const PROXY_FLAGS: ReadonlySet<string> = new Set([
  '--proxy', '--stdio', '--set-env', '--help', '-h', '--version',
  ...[...SCALAR_SETTINGS, ...LIST_SETTINGS].map((setting) => `--${setting.flag}`),
]);

/** Every MCP_PROXY_* variable the proxy reads. */
export const PROXY_ENV: ReadonlySet<string> = new Set([...SCALAR_SETTINGS, ...LIST_SETTINGS].map((setting) => setting.env));

/** The flags of each subcommand (`policy`, `report`, `replay`), as --help lists them. */
export const SUBCOMMAND_FLAGS: ReadonlyMap<string, ReadonlySet<string>> = (() => {
  const flags = new Map<string, Set<string>>();
  for (const match of USAGE.matchAll(/^\s*mcp-sidecar (policy|report|replay|pin|bundle)\b(.*)$/gm)) {
    const set = flags.get(match[1]!) ?? new Set<string>();
    for (const flag of match[2]!.matchAll(/--[a-z][a-z-]*/g)) set.add(flag[0]);
    flags.set(match[1]!, set);
  }
  return flags;
})();

export const PROXY_ENV_PATTERN = /MCP_PROXY_[A-Z0-9_]+/g;

/** The flag of a command-line token (`--key=value` → `--key`), or undefined when it is not one. */
export function flagOf(token: string): string | undefined {
  if (!/^--?[A-Za-z]/.test(token)) return undefined;
  return token.split('=')[0];
}

export interface Invocation {
  /** `policy`, `report`, `replay`, `pin`, `bundle`, or undefined for the proxy itself. */
  readonly subcommand: string | undefined;
  readonly flags: readonly string[];
  readonly line: string;
}

const SEPARATORS = new Set(['|', '||', '&&', ';', '>', '>>', '<']);
const LAUNCHERS = new Set(['--', 'npx', 'node', 'exec', 'sudo']);

/** Where a shell line runs mcp-sidecar (or dist/cli.js), and with which flags. */
export function invocationsIn(line: string, words: readonly string[]): Invocation[] {
  const found: Invocation[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const atCommand = i === 0 || SEPARATORS.has(words[i - 1]!) || LAUNCHERS.has(words[i - 1]!);
    if (!atCommand || !(word === 'mcp-sidecar' || word.endsWith('dist/cli.js'))) continue;
    const rest: string[] = [];
    for (let j = i + 1; j < words.length && !SEPARATORS.has(words[j]!); j++) rest.push(words[j]!);
    const subcommand = SUBCOMMAND_FLAGS.has(rest[0] ?? '') ? rest[0] : undefined;
    found.push({ subcommand, flags: rest.map(flagOf).filter((flag): flag is string => flag !== undefined), line });
  }
  return found;
}

/** Problems with the flags of an invocation: those the proxy (or its subcommand) does not take. */
export function unknownFlags(invocation: Invocation): string[] {
  const known = invocation.subcommand === undefined ? PROXY_FLAGS : SUBCOMMAND_FLAGS.get(invocation.subcommand)!;
  return invocation.flags.filter((flag) => !known.has(flag)).map((flag) => `${flag} (in: ${invocation.line.trim()})`);
}

export interface Fenced {
  readonly lang: string;
  readonly body: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

/** The fenced code blocks of a markdown text (indented fences, inside list items, included). */
export function fencedBlocks(markdown: string): Fenced[] {
  const blocks: Fenced[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```\s*([\w-]*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(Math.min(indent, lines[j]!.length - lines[j]!.trimStart().length)));
    if (j >= lines.length) throw new Error(`line ${i + 1}: unclosed code fence`);
    blocks.push({ lang: open[2]!, body: body.join('\n'), line: i + 1 });
    i = j;
  }
  return blocks;
}

/** The inline code spans of a markdown text, outside fenced blocks. */
export function inlineCode(markdown: string): string[] {
  const outside = markdown.replace(/^\s*```[\s\S]*?^\s*```\s*$/gm, '');
  return [...outside.matchAll(/`([^`\n]+)`/g)].map((match) => match[1]!);
}

/**
 * Replaces path prefixes (image paths by repository or temporary ones) in a value, in one pass
 * and longest first, so that a replacement is never replaced again (`/tmp/` in a temporary path).
 */
export function adjustPaths(value: string, mapping: ReadonlyArray<readonly [string, string]>): string {
  if (mapping.length === 0) return value;
  const sorted = [...mapping].sort((a, b) => b[0].length - a[0].length);
  const pattern = new RegExp(sorted.map(([from]) => from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  return value.replace(pattern, (found) => sorted.find(([from]) => from === found)![1]);
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs argv (a leading `node` is this Node) with exactly this environment, asynchronously. */
export function run(argv: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 10_000): Promise<RunResult> {
  const [command, ...args] = argv;
  const child = spawn(command === 'node' ? process.execPath : command!, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
