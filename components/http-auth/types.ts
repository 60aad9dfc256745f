import type { IncomingHttpHeaders } from 'node:http';
import type { Identity } from '../policy/index.js';

/** What authentication says of one HTTP request. */
export type AuthResult =
  | {
    readonly ok: true;
    readonly identity: Identity | undefined;
    /**
     * Who the caller is, for binding sessions (identity.ts `principalFromClaims`: all the token's
     * claims, its issuer and subject among them); undefined when callers are not told apart (a
     * static token). HTTP sessions answer only the principal that opened them.
     */
    readonly principal?: string | undefined;
  }
  | {
    readonly ok: false;
    /** 401: no or bad credentials; 403: good credentials, not allowed. */
    readonly status: 401 | 403;
    /** The `WWW-Authenticate` header value (RFC 6750): `Bearer realm="mcp-sidecar", error="invalid_token", …`. */
    readonly wwwAuthenticate: string;
    /** Why, for the client (never the token). */
    readonly message: string;
  }
  | {
    readonly ok: false;
    /** 503: the credentials could not be checked now (the JWKS cannot be fetched); not the client's fault. */
    readonly status: 503;
    /** The `Retry-After` header value, in seconds. */
    readonly retryAfterSeconds: number;
    /** Why, for the client. */
    readonly message: string;
  };

/** Checks a request's credentials (the `Authorization` header). Never throws: a failure is a result. */
export type Authenticator = (headers: IncomingHttpHeaders) => Promise<AuthResult>;

/** Where the authenticator logs what the operator should know (a weak token file, a JWKS that cannot be fetched). */
export interface AuthLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}
