// The Bearer scheme of RFC 6750 over an HTTP request's headers: reading the token out of
// `Authorization`, and the `WWW-Authenticate` challenges and failure results. No message or
// header written here ever contains the token.
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthResult } from './types.js';

export const REALM = 'mcp-sidecar';
/** RFC 6750 §2.1: `Bearer` (any case), one or more spaces, then a b64token. */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
/** The b64token syntax alone, for checking a static token at start. */
export const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export type PresentedToken =
  | { readonly kind: 'missing' }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'token'; readonly token: string };

/**
 * The bearer token of a request. No `Authorization` header, or one of another scheme (`Basic`),
 * is `missing`: the client did not try Bearer, so the challenge carries no error (§3.1).
 */
export function readBearerToken(headers: IncomingHttpHeaders): PresentedToken {
  const value = headers.authorization;
  if (typeof value !== 'string' || value.trim() === '') return { kind: 'missing' };
  const match = BEARER.exec(value.trim());
  if (match !== null) return { kind: 'token', token: match[1]! };
  return /^bearer(\s|$)/i.test(value.trim()) ? { kind: 'malformed' } : { kind: 'missing' };
}

/** An error description as an RFC 6750 quoted string allows: printable ASCII without `"` and `\`. */
function quoted(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?');
}

/** 401 with `WWW-Authenticate: Bearer realm="mcp-sidecar"`: no credentials (no error attribute, §3.1). */
export function missingCredentials(): AuthResult {
  return {
    ok: false,
    status: 401,
    wwwAuthenticate: `Bearer realm="${REALM}"`,
    message: 'authentication required: send Authorization: Bearer <token>',
  };
}

/** 401 with `error="invalid_token"` and a description of what is wrong (never the token itself). */
export function invalidToken(description: string): AuthResult {
  return {
    ok: false,
    status: 401,
    wwwAuthenticate: `Bearer realm="${REALM}", error="invalid_token", error_description="${quoted(description)}"`,
    message: `invalid token: ${description}`,
  };
}

/** 401 invalid_token for an `Authorization: Bearer` header that carries no well-formed token. */
export function malformedHeader(): AuthResult {
  return invalidToken('the Authorization header is not of the form \'Bearer <token>\'');
}

/** 503 with `Retry-After`: the token could not be checked now, through no fault of the client. */
export function verificationUnavailable(description: string, retryAfterSeconds: number): AuthResult {
  return { ok: false, status: 503, retryAfterSeconds, message: `authentication unavailable: ${description}` };
}

/** The headers to answer a failed authentication with (the body is the HTTP layer's: `result.message`). */
export function authFailureHeaders(result: Extract<AuthResult, { ok: false }>): Record<string, string> {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (result.status === 503) headers['retry-after'] = String(result.retryAfterSeconds);
  else headers['www-authenticate'] = result.wwwAuthenticate;
  return headers;
}

const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

/**
 * A copy of the headers without the credentials (`Authorization`, `Proxy-Authorization`,
 * `Cookie`): for anything that logs, records or passes headers on. The server never sees HTTP
 * headers (it speaks JSON-RPC over stdio); the caller's identity is all that flows on.
 */
export function stripCredentials(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const copy: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) copy[name] = value;
  return copy;
}
