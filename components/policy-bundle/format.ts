/**
 * The bundle file (`mcp-sidecar-bundle/1`): the policy YAML, verbatim, then one last line that
 * signs it:
 *
 *     <policy YAML …>
 *     #mcp-sidecar-bundle/1 jws=<protected header>..<signature>
 *
 * The last line is a YAML comment, so a bundle is still a policy file (`policy validate` and
 * `--policy` read it as is). The JWS is RFC 7515 compact serialization with a detached payload
 * (appendix F): its payload is every byte before the signature line. A file without that line
 * is an unsigned bundle.
 */

export const BUNDLE_FORMAT = 'mcp-sidecar-bundle/1';
/** The protected header's `typ`: a JWS made for something else is never read as a bundle's. */
export const BUNDLE_JWS_TYPE = 'mcp-sidecar-bundle+jws';
const SIGNATURE_PREFIX = `#${BUNDLE_FORMAT} jws=`;
/** A detached compact JWS: base64url header, nothing, base64url signature. */
const DETACHED_JWS = /^([A-Za-z0-9_-]+)\.\.([A-Za-z0-9_-]+)$/;

export interface SplitBundle {
  /** The signed bytes: the policy YAML as served. */
  readonly payload: Uint8Array;
  /** The detached JWS's two parts; undefined: an unsigned bundle. */
  readonly jws: { readonly protectedHeader: string; readonly signature: string } | undefined;
}

/** Splits a bundle into its payload and signature; throws when the signature line is malformed. */
export function splitBundle(bytes: Uint8Array): SplitBundle {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end -= 1;
  const lineStart = bytes.lastIndexOf(0x0a, end - 1) + 1;
  const lastLine = Buffer.from(bytes.buffer, bytes.byteOffset + lineStart, end - lineStart).toString('latin1');
  if (!lastLine.startsWith(`#${BUNDLE_FORMAT}`)) return { payload: bytes, jws: undefined };
  if (!lastLine.startsWith(SIGNATURE_PREFIX)) throw new Error(`the signature line does not start with "${SIGNATURE_PREFIX}"`);
  const match = DETACHED_JWS.exec(lastLine.slice(SIGNATURE_PREFIX.length).trim());
  if (match === null) throw new Error('the signature line does not hold a detached JWS (<header>..<signature>)');
  return { payload: bytes.subarray(0, lineStart), jws: { protectedHeader: match[1]!, signature: match[2]! } };
}

/** The bundle text: the payload (ended by a newline) and its signature line. */
export function joinBundle(payload: string, protectedHeader: string, signature: string): string {
  const body = payload.endsWith('\n') ? payload : `${payload}\n`;
  return `${body}${SIGNATURE_PREFIX}${protectedHeader}..${signature}\n`;
}
