// A verified token's claims → the caller's Identity, by the claim names of --identity-claims
// (default tenantId=tenant_id, userId=sub, agentId=azp). Claims are read by their exact,
// top-level name (`https://example.com/tenant` is one name, dots and all). A claim that is
// absent, empty or not a string gives nothing: the identity lacks that field.
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
