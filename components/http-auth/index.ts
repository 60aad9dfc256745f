/** Authentication of HTTP clients (a static bearer token or JWTs against a JWKS) and the identity their claims give. */
export type { AuthResult, Authenticator } from './types.js';
