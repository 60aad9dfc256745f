// `--auth-jwks-url` with `--auth-issuer` and `--auth-audience`: JWTs signed by a key of a JWKS
// (jose). A token must be signed with an asymmetric algorithm by a key of the set, come from the
// issuer, be for the audience, and carry an unexpired `exp` (30 s of clock skew tolerated).
//
// The JWKS is fetched at start (a failure is logged, not fatal), refreshed every 10 minutes,
// and fetched again when a token names a key it lacks (at most every 30 s). Keys are kept when
// a refresh fails, so an identity provider that is briefly down does not lock clients out; a
// key removed from the set stops being accepted at the next successful refresh. When there are
// no keys at all and the set cannot be fetched, requests get 503 with Retry-After (not 401: the
// token may be good), and for a second after each failure no new fetch is tried.
import { customFetch, createRemoteJWKSet, errors, jwtVerify, type FetchImplementation, type JWTVerifyGetKey } from 'jose';
import type { AuthSettings } from '../config/index.js';
import { isLoopbackHost } from '../config/index.js';
import { SidecarError } from '../errors/index.js';
import { invalidToken, malformedHeader, missingCredentials, readBearerToken, verificationUnavailable } from './bearer.js';
import { identityFromClaims, principalFromClaims } from './identity.js';
import type { AuthLogger, Authenticator } from './types.js';

export type JwtSettings = Extract<AuthSettings, { kind: 'jwt' }>;

export interface JwtOptions {
  readonly logger?: AuthLogger | undefined;
  /** Fetches the JWKS instead of the global fetch (tests). */
  readonly fetch?: FetchImplementation | undefined;
  /** Milliseconds since the epoch, for `exp` and `nbf` (tests); default Date.now. */
  readonly clock?: (() => number) | undefined;
  /** Stops the periodic JWKS refresh. */
  readonly signal?: AbortSignal | undefined;
}

/** Asymmetric only: an HMAC key would have to be shared, and `none` signs nothing. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export const CLOCK_TOLERANCE_SECONDS = 30;
const JWKS_TIMEOUT_MS = 5_000;
const JWKS_COOLDOWN_MS = 30_000;
const JWKS_REFRESH_MS = 10 * 60_000;
const JWKS_RETRY_MS = 1_000;
const RETRY_AFTER_SECONDS = 5;

/** The JWKS could not be fetched: the token was not judged. */
class KeysUnavailable extends Error {}

/** Failures that are the token's: no key of the set matches it, or its algorithm is refused. */
const TOKEN_KEY_ERRORS = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED', 'ERR_JOSE_ALG_NOT_ALLOWED', 'ERR_JWK_INVALID']);

/** The JWKS URL: https, or http to a loopback address only (keys fetched in clear could be replaced on the way). */
function checkJwksUrl(jwksUrl: string): URL {
  const url = new URL(jwksUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(host))) return url;
  throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', `--auth-jwks-url ${jwksUrl}: the keys that verify tokens must come over https:// (http:// only from a loopback address)`);
}

/** What is wrong with a token, in words for its sender: never the token, never a claim's value. */
export function describeTokenFailure(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'the token is not from the expected issuer';
    if (error.claim === 'aud') return 'the token is not for this audience';
    if (error.claim === 'nbf') return 'the token is not valid yet';
    if (error.reason === 'missing') return `the token has no ${error.claim} claim`;
    return `the token's ${error.claim} claim is invalid`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token\'s signature does not verify';
  if (error instanceof errors.JOSEAlgNotAllowed) return `the token's algorithm is not accepted (only ${JWT_ALGORITHMS.join(', ')})`;
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return 'no key of the issuer\'s key set verifies the token';
  return 'the token is not a valid signed JWT';
}

/** The JWT authenticator. Resolves once the first fetch of the JWKS has been tried. */
export async function createJwtAuthenticator(settings: JwtSettings, options: JwtOptions = {}): Promise<Authenticator> {
  const { logger, clock } = options;
  const jwks = createRemoteJWKSet(checkJwksUrl(settings.jwksUrl), {
    timeoutDuration: JWKS_TIMEOUT_MS,
    cooldownDuration: JWKS_COOLDOWN_MS,
    cacheMaxAge: Infinity, // kept until a refresh replaces it (see the header)
    ...(options.fetch !== undefined && { [customFetch]: options.fetch }),
  });
  let failedAt = -Infinity;
  const fetchFailed = (error: unknown): void => {
    failedAt = performance.now();
    logger?.warn({ jwksUrl: settings.jwksUrl, error: error instanceof Error ? error.message : String(error) }, 'the JWKS cannot be fetched: tokens cannot be verified until it can');
  };
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (!jwks.fresh && performance.now() - failedAt < JWKS_RETRY_MS) throw new KeysUnavailable();
    try {
      return await jwks(header, token);
    } catch (error) {
      if (error instanceof errors.JOSEError && TOKEN_KEY_ERRORS.has(error.code)) throw error;
      fetchFailed(error);
      throw new KeysUnavailable();
    }
  };

  await jwks.reload().catch(fetchFailed);
  const refresh = setInterval(() => void jwks.reload().catch(fetchFailed), JWKS_REFRESH_MS);
  refresh.unref();
  options.signal?.addEventListener('abort', () => clearInterval(refresh), { once: true });

  return async (headers) => {
    const presented = readBearerToken(headers);
    if (presented.kind === 'missing') return missingCredentials();
    if (presented.kind === 'malformed') return malformedHeader();
    try {
      const { payload } = await jwtVerify(presented.token, getKey, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: [...JWT_ALGORITHMS],
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        ...(clock !== undefined && { currentDate: new Date(clock()) }),
      });
      return { ok: true, identity: identityFromClaims(payload, settings.identityClaims), principal: principalFromClaims(payload) };
    } catch (error) {
      if (error instanceof KeysUnavailable) return verificationUnavailable('the keys that verify tokens cannot be fetched now', RETRY_AFTER_SECONDS);
      return invalidToken(describeTokenFailure(error));
    }
  };
}
