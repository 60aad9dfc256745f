import { lstatSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseCommandLine } from './command-line.js';
import { pinExecutable, type ExecutablePin } from './executable-pin.js';
import { resolveExecutable, untrustedPathEntries } from './executable.js';

/** One allowed command prefix, and where it was configured (for messages). */
export interface AllowRule {
  readonly prefix: string;
  readonly source: string;
}

export interface LaunchContext {
  readonly cwd: string;
  readonly pathVariable: string | undefined;
  /** When set, the resolved executable's contents must hash to this (hex sha256). */
  readonly executableSha256?: string | undefined;
}

export type LaunchDecision =
  | {
    readonly allowed: true; readonly executable: string; readonly argv: readonly string[]; readonly rule: AllowRule;
    /** With a pinned sha256: verified now, and to check again before every later spawn. */
    readonly pin: ExecutablePin | undefined;
  }
  | { readonly allowed: false; readonly reason: 'allowlist_empty' | 'not_found' | 'no_rule_matches' | 'digest_mismatch'; readonly message: string };

/**
 * How one argv token is compared:
 * - a word (no `/`) must be equal;
 * - an npm scoped package name (`@scope/name`, one `/`, nothing of that name on disk) is a name,
 *   never a path: a rule's last one admits names of the same scope that start with it;
 * - anything else with a `/` (or `.`, `..`) is a path, compared by where it really leads: resolved
 *   against cwd, then through every symlink.
 */
type Token =
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'package'; readonly text: string; readonly versioned: boolean }
  | {
    readonly kind: 'path'; readonly text: string;
    /** Resolved against cwd, `..` folded, symlinks not followed. */
    readonly normalized: string;
    /** With every symlink followed; for a path that does not exist, that of its longest existing ancestor plus the rest. */
    readonly real: string;
    readonly trailingSlash: boolean;
    /** What `real` is now; `unresolvable`: a symlink whose target does not exist, or a loop. */
    readonly target: 'file' | 'directory' | 'missing' | 'unresolvable';
  };
type PathToken = Extract<Token, { kind: 'path' }>;

const SCOPED_PACKAGE = /^@[A-Za-z0-9][\w.~-]*\/[\w.~-]+(@[\w.~^<>=*+-]+)?$/;

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

// The path the kernel would open. A path that does not exist is compared as normalized (the
// server will fail on it), but only below its longest existing ancestor's real path, so a
// missing file behind a symlinked folder still counts as where the link leads.
function physical(path: string): { real: string; unresolvable: boolean } {
  try {
    return { real: realpathSync.native(path), unresolvable: false };
  } catch {
    const parent = dirname(path);
    if (parent === path) return { real: path, unresolvable: false };
    const up = physical(parent);
    const entry = join(up.real, basename(path));
    // It is there but does not resolve: a dangling link (its target could appear later) or a loop.
    return { real: entry, unresolvable: up.unresolvable || exists(entry) };
  }
}

function classify(text: string, cwd: string): Token {
  if (!text.includes('/') && text !== '.' && text !== '..') return { kind: 'word', text };
  const normalized = resolve(cwd, text);
  if (SCOPED_PACKAGE.test(text) && !exists(normalized)) return { kind: 'package', text, versioned: /^@[^/]+\/[^@]+@/.test(text) };
  const { real, unresolvable } = physical(normalized);
  let target: PathToken['target'] = unresolvable ? 'unresolvable' : 'missing';
  if (!unresolvable) {
    try {
      target = statSync(real).isDirectory() ? 'directory' : 'file';
    } catch {
      // missing
    }
  }
  return { kind: 'path', text, normalized, real, trailingSlash: text.endsWith('/') && normalized !== '/', target };
}

const withSlash = (path: string): string => (path === '/' ? '/' : `${path}/`);

function describePath(token: PathToken): string {
  const shown = token.trailingSlash ? withSlash(token.normalized) : token.normalized;
  if (token.target === 'unresolvable') return ` (${shown}, a symlink whose target does not exist, or a loop)`;
  if (token.real !== token.normalized) return ` (${shown}, which resolves through a symlink to ${token.real})`;
  return shown === token.text ? '' : ` (${shown})`;
}

const describeToken = (token: Token): string => (token.kind === 'path' ? describePath(token) : '');

/** Why the argv token does not match the rule's token, or undefined when it does. */
function tokenMismatch(expected: Token, actual: Token, isLast: boolean): string | undefined {
  if (expected.kind === 'word') return actual.text === expected.text ? undefined : '';
  if (expected.kind === 'package') {
    if (actual.kind !== 'package') return '';
    if (actual.text === expected.text) return undefined;
    // A rule's last package name admits that family: `@scope/server-` admits `@scope/server-everything`.
    return isLast && !expected.versioned && actual.text.startsWith(expected.text) ? undefined : '';
  }
  if (actual.kind !== 'path') return '';
  if (actual.target === 'unresolvable') return `; ${actual.normalized} cannot be resolved, so where it leads cannot be checked`;
  if (expected.target === 'unresolvable') return `; the rule's ${expected.normalized} cannot be resolved`;
  // Equal paths; a rule with a trailing slash (`demo/`) names only what is under the folder.
  if (actual.real === expected.real && (!expected.trailingSlash || actual.trailingSlash)) return undefined;
  const under = actual.real.startsWith(withSlash(expected.real)) && actual.real !== expected.real;
  if (!isLast) return '; a path that is not the rule\'s last token must be that very path';
  if (expected.target === 'file') return `; ${expected.real} is a file, which admits only itself`;
  if (under) return undefined;
  return `; only ${expected.trailingSlash ? '' : `${expected.real} and `}paths under ${withSlash(expected.real)} match`;
}

/** Why `argv` does not match `rule`, or undefined when it does. */
function mismatch(rule: AllowRule, argv: readonly string[], executable: string, context: LaunchContext): string | undefined {
  let tokens: string[];
  try {
    tokens = parseCommandLine(rule.prefix);
  } catch (error) {
    return `the rule cannot be parsed (${(error as Error).message})`;
  }
  const ruleExecutable = resolveExecutable(tokens[0]!, context.pathVariable, context.cwd);
  if (ruleExecutable === undefined) return `the rule's executable ${JSON.stringify(tokens[0])} is not found`;
  if (ruleExecutable !== executable) return `executable ${executable} is not ${ruleExecutable}`;
  for (let i = 1; i < tokens.length; i++) {
    const expected = classify(tokens[i]!, context.cwd);
    if (argv[i] === undefined) return `argument ${i} is missing (the rule wants ${JSON.stringify(tokens[i])})`;
    const actual = classify(argv[i]!, context.cwd);
    const why = tokenMismatch(expected, actual, i === tokens.length - 1);
    if (why === undefined) continue;
    return `argument ${i} ${JSON.stringify(actual.text)}${describeToken(actual)} does not match ${JSON.stringify(expected.text)}${describeToken(expected)}${why}`;
  }
  return undefined;
}

const HOW_TO_ALLOW = 'to allow it, add its prefix with --allow "<prefix>" or MCP_PROXY_ALLOWED_PREFIXES="<prefix>,<prefix>" (for example --allow "node demo/")';

function notFound(command: string, name: string, pathVariable: string | undefined): string {
  if (name.includes('/')) return `cannot start ${command}: ${JSON.stringify(name)} is not an executable file`;
  const skipped = untrustedPathEntries(pathVariable);
  const note = skipped.length === 0 ? '' : ` (relative and empty PATH entries are never searched: ${skipped.map((dir) => JSON.stringify(dir)).join(', ')}; name the file by its path to run it)`;
  return `cannot start ${command}: ${JSON.stringify(name)} is not an executable file on PATH${note}`;
}

/**
 * Decides whether `argv` may start. Matching is by argv token, never by string prefix: the
 * executable is resolved through PATH's absolute entries and compared as named, later tokens
 * must be equal, paths compared where they really lead (symlinks followed), and only a rule's
 * last path token admits what is under it, at a `/` boundary.
 */
export function checkLaunch(argv: readonly string[], rules: readonly AllowRule[], context: LaunchContext): LaunchDecision {
  const command = argv.map((token) => (/[\s"'\\]/.test(token) ? JSON.stringify(token) : token)).join(' ');
  if (rules.length === 0) {
    return { allowed: false, reason: 'allowlist_empty', message: `refused to start ${command}: the allowlist is empty, so nothing may start; ${HOW_TO_ALLOW}` };
  }
  const executable = resolveExecutable(argv[0]!, context.pathVariable, context.cwd);
  if (executable === undefined) return { allowed: false, reason: 'not_found', message: notFound(command, argv[0]!, context.pathVariable) };
  const reasons: string[] = [];
  for (const rule of rules) {
    const why = mismatch(rule, argv, executable, context);
    if (why === undefined) {
      const pin = context.executableSha256 === undefined ? undefined : pinExecutable(executable, context.executableSha256, command);
      const refusal = pin?.check();
      if (refusal !== undefined) return { allowed: false, ...refusal };
      return { allowed: true, executable, argv, rule, pin };
    }
    reasons.push(`rule ${JSON.stringify(rule.prefix)} (${rule.source}): ${why}`);
  }
  return { allowed: false, reason: 'no_rule_matches', message: `refused to start ${command}: no allow rule matches: ${reasons.join('; ')}; ${HOW_TO_ALLOW}` };
}
