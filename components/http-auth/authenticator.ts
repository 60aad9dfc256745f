import type { AuthSettings } from '../config/index.js';
import { createJwtAuthenticator, type JwtOptions } from './jwt.js';
import { createStaticTokenAuthenticator } from './static-token.js';
import type { Authenticator } from './types.js';

export type AuthenticatorOptions = JwtOptions;

/**
 * The authenticator of `settings` (config.auth), ready to use: a token file has been read, a
 * JWKS fetched once (or the failure logged). Throws SidecarError(SIDECAR_ERR_CONFIG_INVALID)
 * when the token file cannot be used or the JWKS URL is not https.
 */
export async function createAuthenticator(settings: AuthSettings, options: AuthenticatorOptions = {}): Promise<Authenticator> {
  if (settings.kind === 'token') return createStaticTokenAuthenticator(settings.tokenFile, options.logger);
  return createJwtAuthenticator(settings, options);
}
