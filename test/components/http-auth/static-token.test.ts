import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isSidecarError } from '../../../components/errors/index.js';
import { createAuthenticator, identityFromClaims, stripCredentials, type AuthResult } from '../../../components/http-auth/index.js';
import { tokensEqual } from '../../../components/http-auth/static-token.js';

const TOKEN = 'n0t-a-real-s3cret_but.long~enough+for/the/test==';
const CLAIMS = { tenantId: 'tenant_id', userId: 'sub', agentId: 'azp' };
const dir = mkdtempSync(join(tmpdir(), 'http-auth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function tokenFile(name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

const authenticatorFor = (path: string, warnings: string[] = []) =>
  createAuthenticator({ kind: 'token', tokenFile: path, identityClaims: CLAIMS }, { logger: { warn: (_f, message) => warnings.push(message) } });

function assertInvalid(result: AuthResult): void {
  assert.ok(!result.ok && result.status === 401, JSON.stringify(result));
  assert.match(result.wwwAuthenticate, /^Bearer realm="mcp-sidecar", error="invalid_token", error_description="/);
  assert.ok(!result.wwwAuthenticate.includes(TOKEN) && !result.message.includes(TOKEN));
}

describe('static token authenticator', () => {
  it('accepts the file\'s token, trailing newline removed, with no identity', async () => {
    const warnings: string[] = [];
    const authenticate = await authenticatorFor(tokenFile('token', `${TOKEN}\n`), warnings);
    assert.deepEqual(await authenticate({ authorization: `Bearer ${TOKEN}` }), { ok: true, identity: undefined });
    assert.deepEqual(await authenticate({ authorization: `BEARER ${TOKEN}` }), { ok: true, identity: undefined });
    assert.deepEqual(warnings, []);
    const crlf = await authenticatorFor(tokenFile('token-crlf', `${TOKEN}\r\n`));
    assert.equal((await crlf({ authorization: `Bearer ${TOKEN}` })).ok, true);
  });

  it('refuses any other token, whatever its length, with invalid_token', async () => {
    const authenticate = await authenticatorFor(tokenFile('token', TOKEN));
    for (const other of [TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase(), 'x', TOKEN.repeat(20), `${TOKEN.slice(0, -1)}A`]) {
      assertInvalid(await authenticate({ authorization: `Bearer ${other}` }));
    }
  });

  it('answers a missing or non-Bearer Authorization with a bare challenge, a malformed one with invalid_token', async () => {
    const authenticate = await authenticatorFor(tokenFile('token', TOKEN));
    for (const headers of [{}, { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` }]) {
      const result = await authenticate(headers);
      assert.ok(!result.ok && result.status === 401 && result.wwwAuthenticate === 'Bearer realm="mcp-sidecar"', JSON.stringify(result));
    }
    assertInvalid(await authenticate({ authorization: 'Bearer' }));
    assertInvalid(await authenticate({ authorization: `Bearer ${TOKEN} extra` }));
  });

  it('compares sha256 digests in constant time: equal-length buffers whatever is presented, never a throw', () => {
    const expected = createHash('sha256').update(TOKEN).digest();
    assert.equal(tokensEqual(expected, TOKEN), true);
    assert.equal(tokensEqual(expected, ''), false);
    assert.equal(tokensEqual(expected, TOKEN.repeat(1000)), false, 'a longer input does not throw (timingSafeEqual would, on unequal lengths)');
    assert.equal(tokensEqual(expected, TOKEN.slice(0, 1)), false);
  });

  it('stops at start on an empty, unreadable or unusable token file (SIDECAR_ERR_CONFIG_INVALID)', async () => {
    const cases: Array<[string, RegExp]> = [
      [tokenFile('empty', '\n'), /is empty/],
      [join(dir, 'missing'), /cannot be read/],
      [tokenFile('spaces', 'two words\n'), /characters a Bearer token cannot have/],
      [tokenFile('lines', `${TOKEN}\n${TOKEN}\n`), /characters a Bearer token cannot have/],
    ];
    for (const [path, message] of cases) {
      await assert.rejects(authenticatorFor(path), (error: unknown) => isSidecarError(error) && error.code === 'SIDECAR_ERR_CONFIG_INVALID' && message.test(error.message) && error.message.includes(path));
    }
  });

  it('warns about a short token and a file others can read, without logging the token', async () => {
    const warnings: string[] = [];
    await authenticatorFor(tokenFile('weak', 'short\n', 0o644), warnings);
    if (process.platform === 'win32') return;
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0]!, /short \(5 characters\)/);
    assert.match(warnings[1]!, /can be read by other users: chmod 600/);
    assert.ok(warnings.every((w) => !w.includes('short\n')));
  });
});

describe('stripCredentials', () => {
  it('drops Authorization, Proxy-Authorization and Cookie, and keeps the rest', () => {
    const headers = { authorization: `Bearer ${TOKEN}`, 'proxy-authorization': 'Basic x', cookie: 'a=b', host: 'localhost', 'mcp-session-id': 's1' };
    assert.deepEqual(stripCredentials(headers), { host: 'localhost', 'mcp-session-id': 's1' });
    assert.equal(headers.authorization, `Bearer ${TOKEN}`, 'the original is not changed');
  });
});

describe('identityFromClaims', () => {
  it('maps the named claims, exactly by name, strings only', () => {
    assert.deepEqual(identityFromClaims({ tenant_id: 't', sub: 'u', azp: 'a' }, CLAIMS), { tenantId: 't', userId: 'u', agentId: 'a' });
    assert.deepEqual(identityFromClaims({ 'org.id': 'o', org: { id: 'nested' } }, { tenantId: 'org.id' }), { tenantId: 'o' });
    assert.equal(identityFromClaims({ sub: 1, tenant_id: null, azp: '' }, CLAIMS), undefined);
    assert.equal(identityFromClaims({ sub: 'u' }, {}), undefined);
    assert.equal(identityFromClaims(Object.create({ sub: 'inherited' }) as Record<string, unknown>, CLAIMS), undefined);
    assert.ok(Object.isFrozen(identityFromClaims({ sub: 'u' }, CLAIMS)));
  });
});
