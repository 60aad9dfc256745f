/**
 * Ed25519 signatures of reports (node:crypto). A report's signature is over the UTF-8 bytes of
 * its `digest` string ("sha256:<hex>"), so anyone can check it with the public key alone:
 *
 *   printf %s "$digest" > digest.txt; printf %s "$value" | base64 -d > signature.bin
 *   openssl pkeyutl -verify -pubin -inkey report.pub -rawin -in digest.txt -sigfile signature.bin
 *
 * The private key lives only inside a signer's closure: a signer serializes (JSON, inspect,
 * logs) as its key id, the PEM text read from the file is wiped once parsed, and nothing here
 * writes a key anywhere. The key id is the first 16 hex digits of sha256 of the public key's
 * SPKI DER encoding, which the verifier computes the same way from the public key file.
 */
import { createPrivateKey, createPublicKey, hash, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { SidecarError } from '../errors/index.js';

export interface ReportSigner {
  readonly keyId: string;
  /** base64 of the Ed25519 signature of the digest's UTF-8 bytes. */
  sign(digest: string): string;
}

export interface ReportPublicKey {
  readonly keyId: string;
  readonly key: KeyObject;
}

export function keyIdOf(publicKey: KeyObject): string {
  return hash('sha256', publicKey.export({ type: 'spki', format: 'der' }), 'hex').slice(0, 16);
}

function requireEd25519(key: KeyObject, path: string): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new SidecarError('SIDECAR_ERR_REPORT_KEY', `${path}: an ${key.asymmetricKeyType ?? 'unknown'} key; reports are signed with Ed25519`, {
      hint: 'create one with: openssl genpkey -algorithm ed25519 -out report.key && openssl pkey -in report.key -pubout -out report.pub',
    });
  }
}

function readKeyFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new SidecarError('SIDECAR_ERR_REPORT_KEY', `${path}: ${(error as Error).message}`, { cause: error });
  }
}

function parseKey<T>(path: string, what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof SidecarError) throw error;
    // node's message names the PEM problem, never the key material
    throw new SidecarError('SIDECAR_ERR_REPORT_KEY', `${path}: not ${what}: ${(error as Error).message}`);
  }
}

/** A signer for an Ed25519 private key. */
export function createSigner(privateKey: KeyObject): ReportSigner {
  requireEd25519(privateKey, 'the signing key');
  const keyId = keyIdOf(createPublicKey(privateKey));
  const signer = {
    keyId,
    sign: (digest: string): string => sign(null, Buffer.from(digest, 'utf8'), privateKey).toString('base64'),
    toJSON: () => ({ keyId }),
    [inspect.custom]: () => `ReportSigner { keyId: '${keyId}' }`,
  };
  return Object.freeze(signer);
}

/** Loads a PKCS#8 PEM Ed25519 private key. Throws SIDECAR_ERR_REPORT_KEY (unreadable, not PEM, not Ed25519). */
export function loadSigningKey(path: string): ReportSigner {
  const pem = readKeyFile(path);
  try {
    const key = parseKey(path, 'a PEM private key (PKCS#8)', () => createPrivateKey({ key: pem, format: 'pem' }));
    requireEd25519(key, path);
    return createSigner(key);
  } finally {
    pem.fill(0);
  }
}

/** Loads an Ed25519 public key (SPKI PEM). Throws SIDECAR_ERR_REPORT_KEY. */
export function loadPublicKey(path: string): ReportPublicKey {
  const pem = readKeyFile(path);
  const key = parseKey(path, 'a PEM public key (SPKI)', () => createPublicKey({ key: pem, format: 'pem' }));
  requireEd25519(key, path);
  return Object.freeze({ keyId: keyIdOf(key), key });
}

export type SignatureCheck = { readonly valid: true } | { readonly valid: false; readonly reason: string };

/** Checks a report's signature (over its `digest`) with the public key. */
export function verifySignature(
  report: { readonly digest: string; readonly signature?: { readonly alg: string; readonly keyId: string; readonly value: string } | undefined },
  publicKey: ReportPublicKey,
): SignatureCheck {
  const signature = report.signature;
  if (signature === undefined) return { valid: false, reason: 'the report is not signed' };
  if (signature.alg !== 'ed25519') return { valid: false, reason: `signature algorithm ${signature.alg}, expected ed25519` };
  if (signature.keyId !== publicKey.keyId) return { valid: false, reason: `signed with key ${signature.keyId}, not with the given public key ${publicKey.keyId}` };
  const ok = verify(null, Buffer.from(report.digest, 'utf8'), publicKey.key, Buffer.from(signature.value, 'base64'));
  return ok ? { valid: true } : { valid: false, reason: 'the signature does not match the digest' };
}
