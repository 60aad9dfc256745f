// Globs for method names, tool/prompt names and resource URIs: `*` matches any run of
// characters (`/` included: `notifications/*` covers `notifications/tools/list_changed`), `?`
// one character, everything else itself. Matched with the two-pointer wildcard algorithm:
// O(pattern × text) at worst, no backtracking blow-up, no RegExp built from user input.

export type GlobMatcher = (text: string) => boolean;

export function compileGlob(pattern: string): GlobMatcher {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*') && !pattern.includes('?')) return (text) => text === pattern;
  const lastStar = pattern.lastIndexOf('*');
  if (lastStar === pattern.length - 1 && pattern.indexOf('*') === lastStar && !pattern.includes('?')) {
    const prefix = pattern.slice(0, -1);
    return (text) => text.startsWith(prefix);
  }
  return (text) => matchGlob(pattern, text);
}

/**
 * Compiles several globs into one matcher that is true when any of them matches. Names without
 * wildcards (most of an allowlist) are one Set lookup; the globs with wildcards are tried after.
 */
export function compileGlobs(patterns: readonly string[]): GlobMatcher {
  if (patterns.length === 1) return compileGlob(patterns[0]!);
  const exact = new Set(patterns.filter((pattern) => !pattern.includes('*') && !pattern.includes('?')));
  const wild = patterns.filter((pattern) => !exact.has(pattern)).map(compileGlob);
  if (exact.size === 0) return (text) => wild.some((match) => match(text));
  if (wild.length === 0) return (text) => exact.has(text);
  return (text) => exact.has(text) || wild.some((match) => match(text));
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
