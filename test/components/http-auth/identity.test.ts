// The principal a session is bound to: every claim of the token but those that change with each
// token of one caller, so callers without identity claims are still told apart.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { principalFromClaims } from '../../../components/http-auth/identity.js';

const ISSUER = 'https://idp.example/';

describe('http-auth principalFromClaims', () => {
  it('should tell apart two callers whose tokens carry none of the identity claims', () => {
    assert.notEqual(principalFromClaims({ iss: ISSUER, sub: 'alice', aud: 'mcp' }), principalFromClaims({ iss: ISSUER, sub: 'bob', aud: 'mcp' }));
    assert.notEqual(principalFromClaims({ iss: ISSUER, sub: 'alice' }), principalFromClaims({ iss: 'https://other.example/', sub: 'alice' }));
    assert.notEqual(principalFromClaims({ iss: ISSUER, scope: 'a' }), principalFromClaims({ iss: ISSUER, scope: 'b' }), 'no subject: the other claims still differ');
  });

  it('should give one caller\'s refreshed token the same principal, whatever the order of its claims', () => {
    const first = principalFromClaims({ iss: ISSUER, sub: 'alice', tenant_id: 't1', exp: 100, iat: 40, nbf: 40, jti: 'one', auth_time: 39, nonce: 'n1', org: { b: 1, a: [2, { d: 3, c: 4 }] } });
    const refreshed = principalFromClaims({ org: { a: [2, { c: 4, d: 3 }], b: 1 }, jti: 'two', exp: 900, iat: 840, tenant_id: 't1', sub: 'alice', iss: ISSUER });
    assert.equal(first, refreshed);
    assert.notEqual(first, principalFromClaims({ iss: ISSUER, sub: 'alice', tenant_id: 't2', org: { b: 1, a: [2, { d: 3, c: 4 }] } }), 'another tenant');
  });

  it('should keep no claim value in the principal', () => {
    const principal = principalFromClaims({ iss: ISSUER, sub: 'alice@example.com' });
    assert.match(principal, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!principal.includes('alice'));
  });
});
