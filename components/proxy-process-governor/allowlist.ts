import { resolve } from 'node:path';
import { parseCommandLine } from './command-line.js';
import { pinExecutable, type ExecutablePin } from './executable-pin.js';
import { resolveExecutable } from './executable.js';

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

// A token that names a path is compared after resolving it against cwd, so `./demo/x.js`,
// `demo/x.js` and `/app/demo/x.js` are one path and `demo/../../etc` is outside `demo/`.
function isPathLike(token: string): boolean {
  return token.includes('/') || token === '.' || token === '..';
}

function normalizeToken(token: string, cwd: string): string {
  if (!isPathLike(token)) return token;
  const resolved = resolve(cwd, token);
  return token.endsWith('/') && resolved !== '/' ? `${resolved}/` : resolved;
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
    const expected = normalizeToken(tokens[i]!, context.cwd);
    const actual = argv[i] === undefined ? undefined : normalizeToken(argv[i]!, context.cwd);
    if (actual === expected) continue;
    // The last token of a prefix may be a path prefix: `demo/` admits `demo/server.js`.
    const isLast = i === tokens.length - 1;
    if (isLast && isPathLike(tokens[i]!) && actual !== undefined && isPathLike(argv[i]!) && actual.startsWith(expected)) continue;
    return actual === undefined
      ? `argument ${i} is missing (the rule wants ${JSON.stringify(tokens[i])})`
      : `argument ${i} ${JSON.stringify(argv[i])}${actual !== argv[i] ? ` (${actual})` : ''} does not match ${JSON.stringify(tokens[i])}${expected !== tokens[i] ? ` (${expected})` : ''}`;
  }
  return undefined;
}

const HOW_TO_ALLOW = 'to allow it, add its prefix with --allow "<prefix>" or MCP_PROXY_ALLOWED_PREFIXES="<prefix>,<prefix>" (for example --allow "node demo/")';

/**
 * Decides whether `argv` may start. Matching is by argv token, never by string prefix: the
 * executable is resolved through PATH and compared as an absolute path, later tokens must be
 * equal, and only a rule's last token may be a path prefix (compared after normalization).
 */
export function checkLaunch(argv: readonly string[], rules: readonly AllowRule[], context: LaunchContext): LaunchDecision {
  const command = argv.map((token) => (/[\s"'\\]/.test(token) ? JSON.stringify(token) : token)).join(' ');
  if (rules.length === 0) {
    return { allowed: false, reason: 'allowlist_empty', message: `refused to start ${command}: the allowlist is empty, so nothing may start; ${HOW_TO_ALLOW}` };
  }
  const executable = resolveExecutable(argv[0]!, context.pathVariable, context.cwd);
  if (executable === undefined) {
    return { allowed: false, reason: 'not_found', message: `cannot start ${command}: ${JSON.stringify(argv[0])} is not an executable file${argv[0]!.includes('/') ? '' : ' on PATH'}` };
  }
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
