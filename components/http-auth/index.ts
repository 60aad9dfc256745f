/**
 * Authentication of HTTP clients (a static bearer token or JWTs against a JWKS) and the identity
 * their claims give.
 *
 * The HTTP layer MUST call the authenticator on every request before reading its body, and on
 * a failure answer `result.status` with `authFailureHeaders(result)` and nothing from the
 * session. On success, `result.identity` (undefined with a static token) is the caller's: it is
 * what flows on — to the policy (`evaluateFrame(…, identity)`), to rate limits and to reports.
 * The credentials never do: the server speaks JSON-RPC over stdio and never sees an HTTP header,
 * and anything that logs or records headers MUST pass them through `stripCredentials` first.
 *
 * Failures: no `Authorization: Bearer …` → 401 `WWW-Authenticate: Bearer realm="mcp-sidecar"`;
 * a malformed, wrong, expired, not-yet-valid, wrongly signed token, or one from another issuer
 * or for another audience → 401 with `error="invalid_token", error_description="…"`; a JWKS that
 * cannot be fetched (and no keys from before) → 503 with `Retry-After`.
 */
export type { AuthResult, Authenticator, AuthLogger } from './types.js';
export { createAuthenticator, type AuthenticatorOptions } from './authenticator.js';
export { authFailureHeaders, stripCredentials, REALM } from './bearer.js';
export { identityFromClaims } from './identity.js';
export { JWT_ALGORITHMS, CLOCK_TOLERANCE_SECONDS } from './jwt.js';
