// A verified token's claims → the caller's Identity, by the claim names of --identity-claims
// (default tenantId=tenant_id, userId=sub, agentId=azp). Claims are read by their exact,
// top-level name (`https://example.com/tenant` is one name, dots and all). A claim that is
// absent, empty or not a string gives nothing: the identity lacks that field.
import { createHash } from 'node:crypto';
import type { IdentityClaims } from '../config/index.js';
import type { Identity } from '../policy/index.js';

const FIELDS = ['tenantId', 'userId', 'agentId'] as const;

/** The identity the claims give, frozen; undefined when they give no field at all. */
export function identityFromClaims(claims: Readonly<Record<string, unknown>>, names: IdentityClaims): Identity | undefined {
  const identity: { tenantId?: string; userId?: string; agentId?: string } = {};
  let found = false;
  for (const field of FIELDS) {
    const name = names[field];
    if (name === undefined || !Object.hasOwn(claims, name)) continue;
    const value = claims[name];
    if (typeof value !== 'string' || value === '') continue;
    identity[field] = value;
    found = true;
  }
  return found ? Object.freeze(identity) : undefined;
}

// Claims that differ between two tokens of one caller: a refreshed token keeps its sessions.
const PER_TOKEN_CLAIMS = new Set(['exp', 'iat', 'nbf', 'jti', 'auth_time', 'nonce']);

/**
 * Who a verified token's caller is, to bind HTTP sessions to: a digest of every claim (the
 * issuer and subject among them) except those that change with each token of one caller
 * (`exp`, `iat`, `nbf`, `jti`, `auth_time`, `nonce`). Two callers whose tokens lack the
 * --identity-claims therefore never share a session unless their issuer said the very same
 * things of both. A digest, so no claim value is kept as a key or can reach a log.
 */
export function principalFromClaims(claims: Readonly<Record<string, unknown>>): string {
  const kept = Object.keys(claims).filter((name) => !PER_TOKEN_CLAIMS.has(name)).sort();
  const text = `{${kept.map((name) => `${JSON.stringify(name)}:${canonicalJson(claims[name])}`).join(',')}}`;
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

/** JSON with every object's members in name order, so equal claims give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record).sort().map((name) => `${JSON.stringify(name)}:${canonicalJson(record[name])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
