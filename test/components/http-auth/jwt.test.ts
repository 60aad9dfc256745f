import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { isSidecarError } from '../../../components/errors/index.js';
import { authFailureHeaders, createAuthenticator, type Authenticator, type AuthResult } from '../../../components/http-auth/index.js';

const ISSUER = 'https://idp.example/';
const AUDIENCE = 'mcp-sidecar';
const NOW_S = 1_800_000_000;
const clock = (): number => NOW_S * 1000;
const CLAIMS = { tenantId: 'tenant_id', userId: 'sub', agentId: 'azp' };

interface Jwks {
  readonly url: string;
  /** The keys served; replace to rotate. */
  keys: JWK[];
  /** 200 normally; set another status to make the set unavailable. */
  status: number;
  requests: number;
  readonly server: Server;
}

async function serveJwks(keys: JWK[]): Promise<Jwks> {
  const state = { keys, status: 200, requests: 0 } as Jwks;
  const server = createServer((_req, res) => {
    state.requests++;
    res.writeHead(state.status, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json` });
}

async function keyPair(kid: string, alg = 'ES256'): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/**
 * An accepted token's result with its principal checked and set aside: a digest of the token's
 * stable claims (what binds a session to its caller; identity.test.ts checks how it is made).
 */
function settled(result: AuthResult): AuthResult {
  if (!result.ok) return result;
  assert.match(result.principal ?? '', /^[A-Za-z0-9_-]{43}$/, 'an accepted token has a principal');
  const { principal: _principal, ...rest } = result;
  return rest as AuthResult;
}

function sign(key: CryptoKey, kid: string, claims: JWTPayload, options: { alg?: string; exp?: number | null; iss?: string; aud?: string } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'ES256', kid }).setIssuedAt(NOW_S - 10)
    .setIssuer(options.iss ?? ISSUER).setAudience(options.aud ?? AUDIENCE);
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? NOW_S + 300);
  return jwt.sign(key);
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function assertInvalidToken(result: AuthResult, description: RegExp, token?: string): void {
  assert.ok(!result.ok && result.status === 401, JSON.stringify(result));
  assert.match(result.wwwAuthenticate, /^Bearer realm="mcp-sidecar", error="invalid_token", error_description="[^"]+"$/);
  assert.match(result.wwwAuthenticate, description);
  if (token !== undefined) {
    assert.ok(!result.wwwAuthenticate.includes(token) && !result.message.includes(token), 'the token is never echoed');
    for (const part of token.split('.')) assert.ok(!result.wwwAuthenticate.includes(part) && !result.message.includes(part), 'nor any part of it');
  }
}

describe('JWT authenticator', () => {
  let jwks: Jwks;
  let a: Awaited<ReturnType<typeof keyPair>>;
  let b: Awaited<ReturnType<typeof keyPair>>;
  let authenticate: Authenticator;
  const stop = new AbortController();

  before(async () => {
    a = await keyPair('key-a');
    b = await keyPair('key-b');
    jwks = await serveJwks([a.jwk]);
    authenticate = await createAuthenticator({ kind: 'jwt', jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE, identityClaims: CLAIMS }, { clock, signal: stop.signal });
  });
  after(() => {
    stop.abort();
    jwks.server.close();
  });

  it('fetches the JWKS at start', () => {
    assert.equal(jwks.requests, 1);
  });

  it('accepts a good token and maps its claims to the identity', async () => {
    const token = await sign(a.privateKey, 'key-a', { sub: 'alice@acme.example', tenant_id: 'acme', azp: 'build-bot', scope: 'x' });
    assert.deepEqual(settled(await authenticate(bearer(token))), { ok: true, identity: { tenantId: 'acme', userId: 'alice@acme.example', agentId: 'build-bot' } });
    assert.deepEqual(settled(await authenticate({ authorization: `bearer   ${token}` })), { ok: true, identity: { tenantId: 'acme', userId: 'alice@acme.example', agentId: 'build-bot' } }, 'the scheme in any case');
  });

  it('leaves out claims that are absent, empty or not strings, and gives no identity when none is left', async () => {
    const token = await sign(a.privateKey, 'key-a', { sub: 'bob', tenant_id: 42, azp: '' });
    assert.deepEqual(settled(await authenticate(bearer(token))), { ok: true, identity: { userId: 'bob' } });
    const bare = await sign(a.privateKey, 'key-a', { tenant_id: ['acme'] });
    assert.deepEqual(settled(await authenticate(bearer(bare))), { ok: true, identity: undefined });
  });

  it('reads the claim names it is configured with', async () => {
    const custom = await createAuthenticator(
      { kind: 'jwt', jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE, identityClaims: { tenantId: 'https://acme.example/org', userId: 'email' } },
      { clock, signal: stop.signal },
    );
    const token = await sign(a.privateKey, 'key-a', { sub: 'u-1', email: 'carol@acme.example', 'https://acme.example/org': 'acme-eu', azp: 'bot' });
    assert.deepEqual(settled(await custom(bearer(token))), { ok: true, identity: { tenantId: 'acme-eu', userId: 'carol@acme.example' } });
  });

  it('answers no credentials with 401 and a challenge without an error (RFC 6750 §3.1)', async () => {
    for (const headers of [{}, { authorization: '' }, { authorization: 'Basic dXNlcjpwYXNz' }]) {
      const result = await authenticate(headers);
      assert.ok(!result.ok && result.status === 401, JSON.stringify(result));
      assert.equal(result.wwwAuthenticate, 'Bearer realm="mcp-sidecar"');
      assert.deepEqual(authFailureHeaders(result), { 'cache-control': 'no-store', 'www-authenticate': 'Bearer realm="mcp-sidecar"' });
    }
  });

  it('refuses a malformed header or token with invalid_token', async () => {
    assertInvalidToken(await authenticate({ authorization: 'Bearer' }), /not of the form 'Bearer <token>'/);
    assertInvalidToken(await authenticate({ authorization: 'Bearer a b' }), /not of the form 'Bearer <token>'/);
    assertInvalidToken(await authenticate(bearer('not-a-jwt')), /not a valid signed JWT/, 'not-a-jwt');
    assertInvalidToken(await authenticate(bearer('e30.e30.e30')), /not a valid signed JWT/);
  });

  it('refuses an expired token, beyond 30 s of clock skew', async () => {
    const recent = await sign(a.privateKey, 'key-a', { sub: 'x' }, { exp: NOW_S - 20 });
    assert.equal((await authenticate(bearer(recent))).ok, true, 'within the tolerance');
    const token = await sign(a.privateKey, 'key-a', { sub: 'x' }, { exp: NOW_S - 60 });
    assertInvalidToken(await authenticate(bearer(token)), /the token has expired/, token);
  });

  it('refuses a token without exp, or not valid yet', async () => {
    const forever = await sign(a.privateKey, 'key-a', { sub: 'x' }, { exp: null });
    assertInvalidToken(await authenticate(bearer(forever)), /the token has no exp claim/, forever);
    const early = await sign(a.privateKey, 'key-a', { sub: 'x', nbf: NOW_S + 120 });
    assertInvalidToken(await authenticate(bearer(early)), /not valid yet/, early);
  });

  it('refuses the wrong audience and the wrong issuer', async () => {
    const aud = await sign(a.privateKey, 'key-a', { sub: 'x' }, { aud: 'another-service' });
    assertInvalidToken(await authenticate(bearer(aud)), /not for this audience/, aud);
    const iss = await sign(a.privateKey, 'key-a', { sub: 'x' }, { iss: 'https://evil.example/' });
    assertInvalidToken(await authenticate(bearer(iss)), /not from the expected issuer/, iss);
  });

  it('refuses a bad signature: another key under a known kid, a tampered payload, an unknown kid', async () => {
    const forged = await sign(b.privateKey, 'key-a', { sub: 'x' });
    assertInvalidToken(await authenticate(bearer(forged)), /signature does not verify/, forged);
    const good = await sign(a.privateKey, 'key-a', { sub: 'x', tenant_id: 'acme' });
    const [header, , signature] = good.split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'x', tenant_id: 'globex', iss: ISSUER, aud: AUDIENCE, exp: NOW_S + 300 })).toString('base64url');
    assertInvalidToken(await authenticate(bearer(`${header}.${payload}.${signature}`)), /signature does not verify/);
    const unknown = await sign(b.privateKey, 'key-b', { sub: 'x' });
    assertInvalidToken(await authenticate(bearer(unknown)), /no key of the issuer's key set verifies the token/, unknown);
  });

  it('refuses symmetric and unsigned tokens', async () => {
    const hs = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256', kid: 'key-a' }).setIssuer(ISSUER).setAudience(AUDIENCE)
      .setExpirationTime(NOW_S + 300).sign(new TextEncoder().encode('a shared secret that is long enough!'));
    assertInvalidToken(await authenticate(bearer(hs)), /algorithm is not accepted/, hs);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', iss: ISSUER, aud: AUDIENCE, exp: NOW_S + 300 })).toString('base64url')}.`;
    assert.equal((await authenticate(bearer(none))).ok, false);
  });

  it('fetches the set again for a new kid (key rotation), at most once per cooldown', async () => {
    const c = await keyPair('key-c', 'RS256');
    jwks.keys = [a.jwk, c.jwk];
    const token = await sign(c.privateKey, 'key-c', { sub: 'rotated' }, { alg: 'RS256' });
    const before = jwks.requests;
    // The set was fetched at start, within the 30 s cooldown: an unknown kid does not refetch yet.
    assertInvalidToken(await authenticate(bearer(token)), /no key/);
    assert.equal(jwks.requests, before);
    const fresh = await createAuthenticator({ kind: 'jwt', jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE, identityClaims: CLAIMS }, { clock, signal: stop.signal });
    assert.deepEqual(settled(await fresh(bearer(token))), { ok: true, identity: { userId: 'rotated' } });
  });
});

describe('JWT authenticator without its JWKS', () => {
  it('starts, logs, and answers 503 with Retry-After while the set cannot be fetched; recovers when it can', async () => {
    const { privateKey, jwk } = await keyPair('k');
    const jwks = await serveJwks([jwk]);
    jwks.status = 500;
    const warnings: string[] = [];
    const stop = new AbortController();
    const authenticate = await createAuthenticator(
      { kind: 'jwt', jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE, identityClaims: CLAIMS },
      { clock, signal: stop.signal, logger: { warn: (_fields, message) => warnings.push(message) } },
    );
    assert.match(warnings.join('\n'), /the JWKS cannot be fetched/);
    const token = await sign(privateKey, 'k', { sub: 'x' });
    const result = await authenticate(bearer(token));
    assert.ok(!result.ok && result.status === 503, JSON.stringify(result));
    assert.equal(result.retryAfterSeconds, 5);
    assert.deepEqual(authFailureHeaders(result), { 'cache-control': 'no-store', 'retry-after': '5' });
    assert.ok(!result.message.includes(token));
    const requests = jwks.requests;
    for (let i = 0; i < 20; i++) assert.equal((await authenticate(bearer(token))).ok, false);
    assert.equal(jwks.requests, requests, 'no fetch for a second after a failure: a flood of requests is not passed on to the identity provider');

    jwks.status = 200;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.deepEqual(settled(await authenticate(bearer(token))), { ok: true, identity: { userId: 'x' } });
    stop.abort();
    jwks.server.close();
  });

  it('answers 503 when nothing listens at the JWKS URL', async () => {
    const jwks = await serveJwks([]);
    jwks.server.close();
    const { privateKey } = await keyPair('k');
    const authenticate = await createAuthenticator({ kind: 'jwt', jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE, identityClaims: CLAIMS }, { clock });
    const result = await authenticate(bearer(await sign(privateKey, 'k', { sub: 'x' })));
    assert.equal(result.ok === false && result.status, 503);
    const none = await authenticate({});
    assert.equal(!none.ok && none.status, 401, 'no credentials is 401 whatever the state of the JWKS');
  });

  it('refuses a JWKS over plain http from another host, at start', async () => {
    await assert.rejects(
      createAuthenticator({ kind: 'jwt', jwksUrl: 'http://idp.example/jwks.json', issuer: ISSUER, audience: AUDIENCE, identityClaims: CLAIMS }),
      (error: unknown) => isSidecarError(error) && error.code === 'SIDECAR_ERR_CONFIG_INVALID' && /must come over https/.test(error.message),
    );
  });

  it('uses the fetch it is given', async () => {
    const { privateKey, jwk } = await keyPair('k');
    const urls: string[] = [];
    const authenticate = await createAuthenticator(
      { kind: 'jwt', jwksUrl: 'https://idp.example/jwks.json', issuer: ISSUER, audience: AUDIENCE, identityClaims: CLAIMS },
      { clock, fetch: async (url) => { urls.push(url); return new Response(JSON.stringify({ keys: [jwk] }), { status: 200 }); } },
    );
    assert.deepEqual(settled(await authenticate(bearer(await sign(privateKey, 'k', { sub: 'x', tenant_id: 't' })))), { ok: true, identity: { tenantId: 't', userId: 'x' } });
    assert.deepEqual(urls, ['https://idp.example/jwks.json']);
  });
});
