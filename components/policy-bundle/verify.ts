import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { base64url, compactVerify, createRemoteJWKSet, type JWSHeaderParameters } from 'jose';
import { SidecarError } from '../errors/index.js';
import { loadPolicyDocument, type LoadedPolicy } from '../policy/index.js';
import { BUNDLE_JWS_TYPE, splitBundle } from './format.js';

/** The algorithms a bundle may be signed with (the choice: Ed25519 or P-256). */
export const BUNDLE_ALGORITHMS = ['EdDSA', 'ES256'] as const;

/** Why a bundle was refused: bounded, for the failures metric. */
export type RejectionReason = 'format' | 'signature' | 'unsigned' | 'invalid' | 'revision';

export class BundleRejected extends SidecarError {
  constructor(readonly reason: RejectionReason, message: string, cause?: unknown) {
    super('SIDECAR_ERR_POLICY_BUNDLE_REJECTED', message, cause === undefined ? {} : { cause });
  }
}

/** What a bundle's signature is checked against: a public key file, or a JWKS (the header's `kid` picks the key). */
export type BundleVerifier = KeyObject | ReturnType<typeof createRemoteJWKSet>;

export interface VerifiedBundle {
  readonly loaded: LoadedPolicy;
  /** metadata.revision, a whole number: what monotonic means. */
  readonly revision: number;
  /** Signed `rollback: true`: a lower revision than the one in force is accepted. */
  readonly rollback: boolean;
  readonly signed: boolean;
}

/** The header members the signature covers besides the algorithm. */
interface BundleHeader extends JWSHeaderParameters {
  readonly revision?: unknown;
  readonly rollback?: unknown;
}

/** --policy-public-key: an SPKI PEM of an Ed25519 or P-256 key. */
export function readPublicKey(file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(file));
  } catch (error) {
    throw new SidecarError('SIDECAR_ERR_POLICY_BUNDLE_KEY', `${file}: not a readable PEM public key (${(error as Error).message})`, { cause: error });
  }
  if (algorithmFor(key) === undefined) {
    throw new SidecarError('SIDECAR_ERR_POLICY_BUNDLE_KEY', `${file}: a ${key.asymmetricKeyType ?? 'symmetric'} key; bundles are signed with Ed25519 (EdDSA) or P-256 (ES256)`);
  }
  return key;
}

/** The JWS algorithm for a key, or undefined when bundles cannot use it. */
export function algorithmFor(key: KeyObject): (typeof BUNDLE_ALGORITHMS)[number] | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return undefined;
}

export function remoteKeySet(url: string): BundleVerifier {
  return createRemoteJWKSet(new URL(url));
}

const WHOLE_NUMBER = /^(0|[1-9][0-9]{0,14})$/;

/**
 * Checks a bundle and reads its policy: the signature (unless unsigned ones are allowed and it
 * has none), then the policy YAML as a policy file is read, then that the revision the header
 * signs is the policy's own. Throws BundleRejected saying why.
 */
export async function verifyBundle(bytes: Uint8Array, source: string, verifier: BundleVerifier | undefined, allowUnsigned: boolean): Promise<VerifiedBundle> {
  let split;
  try {
    split = splitBundle(bytes);
  } catch (error) {
    throw new BundleRejected('format', `${source}: ${(error as Error).message}`);
  }
  let header: BundleHeader | undefined;
  if (split.jws === undefined) {
    if (!allowUnsigned) throw new BundleRejected('unsigned', `${source}: the bundle is not signed (no "#mcp-sidecar-bundle/1 jws=" line) and --policy-allow-unsigned is not set`);
  } else {
    if (verifier === undefined) throw new BundleRejected('signature', `${source}: the bundle is signed, and no --policy-public-key or --policy-jwks-url is configured to check it`);
    const compact = `${split.jws.protectedHeader}.${base64url.encode(split.payload)}.${split.jws.signature}`;
    try {
      // The union is one of jose's two key shapes; compactVerify takes either.
      const result = await compactVerify(compact, verifier as Parameters<typeof compactVerify>[1], { algorithms: [...BUNDLE_ALGORITHMS] });
      header = result.protectedHeader as BundleHeader;
    } catch (error) {
      throw new BundleRejected('signature', `${source}: the signature does not verify (${(error as Error).message})`, error);
    }
    if (header.typ !== BUNDLE_JWS_TYPE) throw new BundleRejected('signature', `${source}: the JWS is not a bundle signature (typ "${String(header.typ)}", expected "${BUNDLE_JWS_TYPE}")`);
  }
  const { parsePolicyText } = await loadPolicyDocument();
  let loaded: LoadedPolicy;
  try {
    loaded = parsePolicyText(Buffer.from(split.payload).toString('utf8'), source);
  } catch (error) {
    throw new BundleRejected('invalid', (error as Error).message, error);
  }
  const revisionText = loaded.document.metadata.revision;
  if (!WHOLE_NUMBER.test(revisionText)) {
    throw new BundleRejected('revision', `${source}: metadata.revision must be a whole number in a bundle (it orders bundles), found "${revisionText}"`);
  }
  const revision = Number(revisionText);
  if (header !== undefined && header.revision !== revision) {
    throw new BundleRejected('revision', `${source}: the signed revision (${String(header.revision)}) is not the policy's metadata.revision (${revision})`);
  }
  return Object.freeze({ loaded, revision, rollback: header?.rollback === true, signed: header !== undefined });
}
