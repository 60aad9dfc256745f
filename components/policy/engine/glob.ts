// Globs for method names, tool/prompt names and resource URIs: `*` matches any run of
// characters (`/` included: `notifications/*` covers `notifications/tools/list_changed`), `?`
// one character, everything else itself. Matched with the two-pointer wildcard algorithm:
// O(pattern × text) at worst, no backtracking blow-up, no RegExp built from user input.

export type GlobMatcher = (text: string) => boolean;

export function compileGlob(pattern: string): GlobMatcher {
  if (pattern === '*') return () => true;
  if (!hasWildcard(pattern)) return (text) => text === pattern;
  if (isPrefixGlob(pattern)) {
    const prefix = pattern.slice(0, -1);
    return (text) => text.startsWith(prefix);
  }
  return (text) => matchGlob(pattern, text);
}

/**
 * Compiles several globs into one matcher that is true when any of them matches, without a
 * closure or an allocation per call (it runs on every frame): names without wildcards (most of
 * an allowlist) are one Set lookup, `prefix*` globs a startsWith each, the other globs the
 * wildcard match. A `*` among them matches everything.
 */
export function compileGlobs(patterns: readonly string[]): GlobMatcher {
  if (patterns.length === 1) return compileGlob(patterns[0]!);
  if (patterns.includes('*')) return () => true;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const wild: string[] = [];
  for (const pattern of patterns) {
    if (!hasWildcard(pattern)) exact.add(pattern);
    else if (isPrefixGlob(pattern)) prefixes.push(pattern.slice(0, -1));
    else wild.push(pattern);
  }
  if (prefixes.length === 0 && wild.length === 0) return (text) => exact.has(text);
  return (text) => {
    if (exact.has(text)) return true;
    for (let i = 0; i < prefixes.length; i++) if (text.startsWith(prefixes[i]!)) return true;
    for (let i = 0; i < wild.length; i++) if (matchGlob(wild[i]!, text)) return true;
    return false;
  };
}

function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** `prefix*`: one `*`, at the end, and no `?`. */
function isPrefixGlob(pattern: string): boolean {
  return pattern.indexOf('*') === pattern.length - 1 && !pattern.includes('?');
}

export function matchGlob(pattern: string, text: string): boolean {
  let p = 0, t = 0, starP = -1, starT = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c === '*') {
      starP = p++;
      starT = t;
    } else if (c !== undefined && (c === '?' || c === text[t])) {
      p++;
      t++;
    } else if (starP !== -1) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
