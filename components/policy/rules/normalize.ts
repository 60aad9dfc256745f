// Lexical normalization of paths and URIs, so a glob or prefix is matched against what a
// server would resolve, not against what the client spelled: `/workspace/../etc/passwd` is
// `/etc/passwd`. Nothing here touches the filesystem (symlinks are the server's business).

/**
 * Resolves `.` and `..` and collapses repeated `/` in a POSIX path, keeping it absolute or
 * relative as given. `..` at the root of an absolute path stays at the root (`/../x` → `/x`);
 * leading `..` of a relative path are kept (`a/../../x` → `../x`). The empty path is `.`.
 */
export function normalizePosixPath(path: string): string {
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(segment);
  }
  const joined = out.join('/');
  if (absolute) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/**
 * True when `path` (already normalized) is `base` or lies under it at a `/` boundary. `base`
 * is a normalized prefix without a trailing slash (`/` for the root, `.` for "any relative path
 * that does not climb out").
 */
export function isUnderPrefix(path: string, base: string): boolean {
  if (base === '/') return path.startsWith('/');
  if (base === '.') return !path.startsWith('/') && path !== '..' && !path.startsWith('../');
  return path === base || path.startsWith(`${base}/`);
}

const SCHEME_FIRST = /^[A-Za-z]$/;
const SCHEME_REST = /^[A-Za-z0-9+.-]$/;
const HEX = '0123456789ABCDEF';

function isUnreserved(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39)
    || code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

/**
 * Percent-escapes in a path: unreserved characters are decoded (RFC 3986 §6.2.2.2, so `%2e%2e`
 * is `..`), an encoded `/` is decoded too (a server that decodes before resolving would climb
 * with `..%2f`, so the match assumes it does), other escapes are upper-cased. Undefined for a
 * malformed escape, and for an escaped backslash or control character: refused as written
 * (normalizeUri), decoded they could be a separator (`..%5c..`) or end the path (`%00`) for the
 * server, and where the path leads cannot be told.
 */
function decodePathEscapes(path: string): string | undefined {
  if (!path.includes('%')) return path;
  let out = '';
  let last = 0;
  for (let i = path.indexOf('%'); i !== -1; i = path.indexOf('%', i)) {
    const hi = hexValue(path.charCodeAt(i + 1));
    const lo = hexValue(path.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return undefined;
    const code = hi * 16 + lo;
    if (code < 0x20 || code === 0x7f || code === 0x5c) return undefined;
    out += path.slice(last, i);
    out += isUnreserved(code) || code === 0x2f ? String.fromCharCode(code) : `%${HEX[hi]}${HEX[lo]}`;
    i += 3;
    last = i;
  }
  return out + path.slice(last);
}

/**
 * The URI as a resource rule matches it: scheme and host lower-cased, the path's escapes
 * normalized, `.`/`..` resolved and `//` collapsed in the path; query and fragment as given.
 * Undefined when the text is not an absolute URI (no scheme, whitespace or control characters,
 * a backslash, a malformed escape, an escaped backslash or control character in the path).
 */
export function normalizeUri(uri: string): string | undefined {
  for (let i = 0; i < uri.length; i++) {
    const code = uri.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f || code === 0x5c) return undefined;
  }
  const colon = uri.indexOf(':');
  if (colon < 1) return undefined;
  if (!SCHEME_FIRST.test(uri[0]!)) return undefined;
  for (let i = 1; i < colon; i++) if (!SCHEME_REST.test(uri[i]!)) return undefined;
  const scheme = uri.slice(0, colon).toLowerCase();

  let rest = uri.slice(colon + 1);
  let suffix = '';
  const queryOrFragment = rest.search(/[?#]/);
  if (queryOrFragment !== -1) {
    suffix = rest.slice(queryOrFragment);
    rest = rest.slice(0, queryOrFragment);
  }

  let authority: string | undefined;
  let path = rest;
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    authority = rest.slice(2, slash === -1 ? rest.length : slash);
    path = slash === -1 ? '' : rest.slice(slash);
    // userinfo@host:port — only the host is case-insensitive.
    const at = authority.lastIndexOf('@');
    authority = authority.slice(0, at + 1) + authority.slice(at + 1).toLowerCase();
  }

  const decoded = decodePathEscapes(path);
  if (decoded === undefined) return undefined;
  let normalizedPath: string;
  if (decoded.startsWith('/')) {
    normalizedPath = normalizePosixPath(decoded);
    // Keep a trailing slash (`file:///workspace/`, `/a/b/..`): the URI names a directory.
    if (normalizedPath !== '/' && /\/(\.{1,2})?$/.test(decoded)) normalizedPath += '/';
  } else if (authority === undefined && decoded.includes('/')) {
    // A rootless path (`scheme:a/../b`): dot segments are removed, none may climb out.
    const normalized = normalizePosixPath(decoded);
    normalizedPath = normalized === '.' ? '' : normalized.replace(/^(\.\.\/)*(\.\.$)?/, '');
  } else {
    normalizedPath = decoded;
  }
  return `${scheme}:${authority === undefined ? '' : `//${authority}`}${normalizedPath}${suffix}`;
}
