// `--auth-token-file`: one shared bearer token, read once at start. Requests are compared with
// it in constant time over sha256 digests, so neither the content nor the length of the token
// leaks through timing. A static token says nothing about who calls: the identity is undefined.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { SidecarError } from '../errors/index.js';
import { B64TOKEN, invalidToken, malformedHeader, missingCredentials, readBearerToken } from './bearer.js';
import type { AuthLogger, Authenticator, AuthResult } from './types.js';

/** Shorter than this, a token is guessable enough for a warning (32 characters of base64 ≈ 192 bits). */
const SHORT_TOKEN_LENGTH = 32;
const OK: AuthResult = Object.freeze({ ok: true, identity: undefined });

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** True when the two texts are equal; the time taken depends on neither (both are hashed first). */
export function tokensEqual(expected: Buffer, presented: string): boolean {
  return timingSafeEqual(expected, digest(presented));
}

/**
 * Reads the token: the file's text without its trailing newline (and trailing spaces). An
 * unreadable file, an empty token, or one a client could not send as a Bearer token stops the
 * proxy at start with SIDECAR_ERR_CONFIG_INVALID.
 */
export async function readTokenFile(path: string, logger?: AuthLogger): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', `--auth-token-file ${path} cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const token = text.replace(/[\r\n\t ]+$/, '');
  const hint = 'put the token on the file\'s first and only line, e.g. `openssl rand -base64 32 > token`';
  if (token === '') throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', `--auth-token-file ${path} is empty`, { hint });
  if (!B64TOKEN.test(token)) {
    throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', `--auth-token-file ${path}: the token has characters a Bearer token cannot have (letters, digits and - . _ ~ + / only, then = padding)`, { hint });
  }
  if (token.length < SHORT_TOKEN_LENGTH) logger?.warn({ tokenFile: path, length: token.length }, `the auth token is short (${token.length} characters): use ${SHORT_TOKEN_LENGTH} or more`);
  const mode = await stat(path).then((s) => s.mode, () => undefined);
  if (process.platform !== 'win32' && mode !== undefined && (mode & 0o077) !== 0) {
    logger?.warn({ tokenFile: path, mode: (mode & 0o777).toString(8) }, 'the auth token file can be read by other users: chmod 600 it');
  }
  return token;
}

/** The static-token authenticator: the token file is read now, once. */
export async function createStaticTokenAuthenticator(tokenFile: string, logger?: AuthLogger): Promise<Authenticator> {
  const expected = digest(await readTokenFile(tokenFile, logger));
  return async (headers) => {
    const presented = readBearerToken(headers);
    if (presented.kind === 'missing') return missingCredentials();
    if (presented.kind === 'malformed') return malformedHeader();
    return tokensEqual(expected, presented.token) ? OK : invalidToken('the token is not the one this proxy accepts');
  };
}
