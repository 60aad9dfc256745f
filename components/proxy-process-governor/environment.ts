// The environment the server starts with. Not the proxy's: the proxy may hold tokens and keys
// meant for it alone. A small base a process needs to run, plus what is configured.
import type { ServerAccount } from './server-user.js';

/** Passed through when set: what a process (Node included) needs to find its tools, home, locale and time. */
export const BASE_ENVIRONMENT = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TERM', 'SYSTEMROOT', 'NODE_EXTRA_CA_CERTS'] as const;
const BASE_PATTERNS = [/^LC_[A-Z]+$/];

export interface ChildEnvironmentOptions {
  /** Extra variable names (or `PREFIX_*` patterns) passed through from the proxy's environment. */
  readonly passThrough?: readonly string[];
  /** Variables set explicitly; these win over anything passed through. */
  readonly set?: Readonly<Record<string, string>>;
  /**
   * With --server-user: the server's own account. Its USER, LOGNAME and HOME replace the proxy's
   * (as `su` does), or are removed when it has no passwd entry; `set` still wins. Only for the
   * server's tools: access is the kernel's business, never these variables'.
   */
  readonly account?: Pick<ServerAccount, 'entry'> | undefined;
}

function matches(name: string, pattern: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

export function childEnvironment(parent: NodeJS.ProcessEnv, options: ChildEnvironmentOptions = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const passThrough = options.passThrough ?? [];
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined) continue;
    const isBase = (BASE_ENVIRONMENT as readonly string[]).includes(name) || BASE_PATTERNS.some((p) => p.test(name));
    // The proxy's own settings never leak by a pattern; only by naming them exactly.
    const isPassed = passThrough.some((p) => matches(name, p) && (!name.startsWith('MCP_PROXY_') || p === name));
    if (isBase || isPassed) env[name] = value;
  }
  if (options.account !== undefined) {
    for (const name of ['USER', 'LOGNAME', 'HOME']) delete env[name];
    const entry = options.account.entry;
    if (entry !== undefined) Object.assign(env, { USER: entry.name, LOGNAME: entry.name, HOME: entry.home });
  }
  return Object.assign(env, options.set);
}
