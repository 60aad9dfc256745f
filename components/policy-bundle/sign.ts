import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CompactSign } from 'jose';
import { SidecarError } from '../errors/index.js';
import { loadPolicyDocument } from '../policy/index.js';
import { BUNDLE_JWS_TYPE, joinBundle } from './format.js';
import { algorithmFor } from './verify.js';

export interface SignOptions {
  /** Signs `rollback: true`: proxies accept this bundle below the revision they hold. */
  readonly rollback?: boolean;
  /** The JWS `kid`: which key of a JWKS verifies it. */
  readonly keyId?: string;
}

/** A PKCS#8 PEM private key, Ed25519 or P-256. */
export function readPrivateKey(file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file));
  } catch (error) {
    // The message names the file, never the key.
    throw new SidecarError('SIDECAR_ERR_POLICY_BUNDLE_KEY', `${file}: not a readable PEM private key`, { cause: error });
  }
  if (algorithmFor(key) === undefined) throw new SidecarError('SIDECAR_ERR_POLICY_BUNDLE_KEY', `${file}: a ${key.asymmetricKeyType ?? 'symmetric'} key; bundles are signed with Ed25519 (EdDSA) or P-256 (ES256)`);
  return key;
}

/**
 * The bundle for a policy: its YAML as written, then the signature line. The policy is read
 * (a bundle that proxies would refuse is never written) and its metadata.revision must be a
 * whole number; the header signs it again beside `rollback`.
 */
export async function signBundle(policyYaml: string, fileName: string, key: KeyObject, options: SignOptions = {}): Promise<string> {
  const alg = algorithmFor(key);
  if (alg === undefined) throw new SidecarError('SIDECAR_ERR_POLICY_BUNDLE_KEY', 'bundles are signed with Ed25519 (EdDSA) or P-256 (ES256) keys');
  const payload = policyYaml.endsWith('\n') ? policyYaml : `${policyYaml}\n`;
  const { parsePolicyText } = await loadPolicyDocument();
  const revisionText = parsePolicyText(payload, fileName).document.metadata.revision;
  if (!/^(0|[1-9][0-9]{0,14})$/.test(revisionText)) {
    throw new SidecarError('SIDECAR_ERR_POLICY_BUNDLE_REJECTED', `${fileName}: metadata.revision must be a whole number in a bundle (it orders bundles), found "${revisionText}"`);
  }
  const header = {
    alg, typ: BUNDLE_JWS_TYPE, revision: Number(revisionText), rollback: options.rollback === true, ...(options.keyId !== undefined && { kid: options.keyId }),
  };
  const compact = await new CompactSign(Buffer.from(payload, 'utf8')).setProtectedHeader(header).sign(key);
  const [protectedHeader, , signature] = compact.split('.');
  return joinBundle(payload, protectedHeader!, signature!);
}
