// End to end over Streamable HTTP with authentication, through the built CLI (dist/cli.js):
// JWTs from a local JWKS (no token, a bad, expired or misaddressed one → 401; a good one → the
// caller's identity), that identity reaching the policy (a rule `when` one tenant, a rate limit
// per tenant) and the execution reports, and the token reaching no server. Then the static
// token, and what --http does with a server command it cannot start: at start (exit 78 / 69,
// before listening) and at session time (that session fails, the proxy stays up).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { INITIALIZE, messagesOf, send, type RawResponse } from '../helpers/http-raw.js';
import { ALLOW_REPO_SCRIPTS, CLI, ROOT, commandLine, quoteWord } from '../helpers/paths.js';
import { forceKill, groupPids, waitUntilGone } from '../helpers/proc-table.js';
import { ProxyProcess, type LogRecord } from '../helpers/proxy-process.js';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'governor', 'mcp-server.js');
const SERVER_COMMAND = commandLine([process.execPath, FIXTURE]);
const ISSUER = 'https://idp.e2e.example/';
const AUDIENCE = 'mcp-sidecar-e2e';
const KID = 'e2e-key-1';
const SERVING = 'serving MCP over Streamable HTTP';
const STARTED = 'started the MCP server';

/** The proxy's settings come from the test alone, never from the environment it runs in. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_')));
}

/** Starts `dist/cli.js --http 127.0.0.1:0 …` and waits until it listens. */
async function startHttpProxy(args: readonly string[]): Promise<{ proxy: ProxyProcess; port: number }> {
  const child = spawn(process.execPath, [CLI, '--http', '127.0.0.1:0', '--log-level', 'debug', ...args], { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  const proxy = new ProxyProcess(child);
  const serving = await proxy.waitForLog((r) => r.msg === SERVING, 10_000);
  return { proxy, port: (serving.address as { port: number }).port };
}

/** Every server pid the proxy logged starting (one per session). */
function serverPids(proxy: ProxyProcess): number[] {
  return proxy.logs().filter((r) => r.msg === STARTED && typeof r.pid === 'number').map((r) => r.pid as number);
}

/** Cleanup: whatever is still running of the proxy and its servers. */
async function dispose(proxy: ProxyProcess | undefined): Promise<void> {
  if (proxy === undefined) return;
  if (proxy.exit === undefined) forceKill(proxy.pid);
  for (const pid of serverPids(proxy)) forceKill(pid, true);
  await waitUntilGone(proxy.pid, 2000);
}

/** SIGTERM, then: exit 0, and no server or anything of its process group is left. */
async function stopProxy(proxy: ProxyProcess): Promise<void> {
  const pids = serverPids(proxy);
  proxy.child.kill('SIGTERM');
  assert.deepEqual(await proxy.waitForExit(10_000), { code: 0, signal: null }, proxy.stderr.bytes.toString('utf8'));
  for (const pid of pids) {
    assert.ok(await waitUntilGone(pid, 3000), `server ${pid} is gone`);
    assert.deepEqual(groupPids(pid), [], `nothing is left of its process group ${pid}`);
  }
}

const bearer = (token: string | undefined): Record<string, string> => (token === undefined ? {} : { authorization: `Bearer ${token}` });

function readReports(file: string): Array<Record<string, any>> {
  return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));
}

function verifyReports(file: string): void {
  const result = spawnSync(process.execPath, [CLI, 'report', 'verify', file], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /chain intact/);
}

/** `text` contains neither the token nor any of its dot-separated parts. */
function assertNoToken(text: string, tokens: readonly string[], where: string): void {
  for (const token of tokens) {
    for (const part of [token, ...token.split('.')]) {
      if (part.length >= 8) assert.ok(!text.includes(part), `${where} contains a bearer token (or part of one)`);
    }
  }
}

/** A 401 with a Bearer challenge and a JSON-RPC error body (-32035). Returns the error's message. */
async function assertUnauthorized(response: RawResponse, challenge: RegExp): Promise<string> {
  assert.equal(response.status, 401);
  assert.match(String(response.headers['www-authenticate']), challenge);
  assert.equal(response.headers['mcp-session-id'], undefined, 'no session');
  assert.equal(response.headers['cache-control'], 'no-store');
  const body = await response.json();
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.id, null);
  assert.equal(body.error.code, -32035);
  assert.deepEqual([body.error.data.code, body.error.data.category, body.error.data.retryable], ['SIDECAR_ERR_HTTP_UNAUTHORIZED', 'unauthorized', false]);
  return body.error.message as string;
}

/** A legacy MCP session over raw HTTP: initialize, notifications/initialized, then requests on it. */
class McpSession {
  #nextId = 1;
  private constructor(readonly port: number, readonly token: string | undefined, readonly id: string, readonly initializeResult: any) {}

  /** `token`: the bearer token to send, if any. */
  static async open(port: number, token: string | undefined): Promise<McpSession> {
    const response = await send(port, { body: INITIALIZE, headers: bearer(token) });
    assert.equal(response.status, 200, await response.done);
    const id = response.headers['mcp-session-id'];
    assert.equal(typeof id, 'string');
    const [message] = await messagesOf(response);
    assert.ok(message.result, JSON.stringify(message));
    const session = new McpSession(port, token, id as string, message.result);
    const initialized = await send(port, { body: { jsonrpc: '2.0', method: 'notifications/initialized' }, headers: session.headers() });
    assert.equal(initialized.status, 202);
    await initialized.done;
    return session;
  }

  headers(token: string | undefined = this.token): Record<string, string> {
    return { ...bearer(token), 'mcp-session-id': this.id, 'mcp-protocol-version': '2025-06-18' };
  }

  /** One request; its response message. */
  async request(method: string, params: Record<string, unknown>): Promise<any> {
    const id = this.#nextId++;
    const response = await send(this.port, { body: { jsonrpc: '2.0', id, method, params }, headers: this.headers() });
    assert.equal(response.status, 200, await response.done);
    const messages = await messagesOf(response);
    const answer = messages.find((m) => m.id === id);
    assert.ok(answer, `an answer to ${method} #${id}: ${JSON.stringify(messages)}`);
    return answer;
  }

  callTool(name: string, args: Record<string, unknown> = {}): Promise<any> {
    return this.request('tools/call', { name, arguments: args });
  }
}

describe('--http with JWT auth: the caller\'s identity reaches the policy and the reports, the token reaches no server', () => {
  let dir: string;
  let jwks: Server;
  let jwksRequests = 0;
  let signingKey: CryptoKey;
  let otherKey: CryptoKey;
  let proxy: ProxyProcess | undefined;
  let port: number;
  let reportFile: string;
  let recordFile: string;
  /** Every token presented to the proxy, good or bad: none may show up anywhere. */
  const presented: string[] = [];
  const sessions: Record<'a' | 'blocked' | 'c', McpSession | undefined> = { a: undefined, blocked: undefined, c: undefined };

  const IDENTITY_A = { tenantId: 'tenant-a', userId: 'alice@a.example', agentId: 'agent-a' };
  const IDENTITY_BLOCKED = { tenantId: 'blocked-tenant', userId: 'mallory@b.example', agentId: 'agent-b' };
  const IDENTITY_C = { tenantId: 'tenant-c', userId: 'carol@c.example' }; // no azp: no agentId
  // --identity-claims tenantId=org_id,userId=email,agentId=azp; `sub` is deliberately not the userId.
  const CLAIMS_A = { sub: 'u-1', org_id: 'tenant-a', email: 'alice@a.example', azp: 'agent-a' };
  const CLAIMS_BLOCKED = { sub: 'u-2', org_id: 'blocked-tenant', email: 'mallory@b.example', azp: 'agent-b' };
  const CLAIMS_C = { sub: 'u-3', org_id: 'tenant-c', email: 'carol@c.example' };

  async function sign(claims: JWTPayload, options: { key?: CryptoKey; audience?: string; expiresAt?: number } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: KID }).setIssuedAt(now - 5).setIssuer(ISSUER)
      .setAudience(options.audience ?? AUDIENCE).setExpirationTime(options.expiresAt ?? now + 300).sign(options.key ?? signingKey);
    presented.push(token);
    return token;
  }
  const tokenFor = (() => {
    const tokens = new Map<string, string>();
    return async (who: 'a' | 'blocked' | 'c'): Promise<string> => {
      if (!tokens.has(who)) tokens.set(who, await sign(who === 'a' ? CLAIMS_A : who === 'blocked' ? CLAIMS_BLOCKED : CLAIMS_C));
      return tokens.get(who)!;
    };
  })();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'http-identity-'));
    reportFile = join(dir, 'reports.ndjson');
    recordFile = join(dir, 'received-by-servers.log');
    const pair = await generateKeyPair('ES256', { extractable: true });
    signingKey = pair.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
    jwks = createServer((_req, res) => {
      jwksRequests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, [
      'apiVersion: mcp-sidecar/v1',
      'kind: Policy',
      'metadata: { name: identity-e2e, revision: 3 }',
      'mode: enforce',
      'rules:',
      '  - id: blocked-tenant-no-echo',
      '    when: { identity: { tenantId: [blocked-tenant] } }',
      '    tools: { deny: [echo] }',
      '  - id: calls-per-tenant',
      '    rateLimit: { tools: ["*"], per: tenantId, capacity: 2, refillPerSecond: 0.01 }',
      '',
    ].join('\n'));
    ({ proxy, port } = await startHttpProxy([
      '--proxy', SERVER_COMMAND, '--allow', ALLOW_REPO_SCRIPTS,
      '--auth-jwks-url', `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`,
      '--auth-issuer', ISSUER, '--auth-audience', AUDIENCE, '--identity-claims', 'tenantId=org_id,userId=email,agentId=azp',
      '--policy', policyFile, '--mode', 'enforce', '--report-file', reportFile,
      // Each server appends every line it receives here: what reached it, verbatim.
      '--set-env', `RECORD_FILE=${recordFile}`,
    ]));
  });

  after(async () => {
    await dispose(proxy);
    await new Promise((resolve) => jwks?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const noServerYet = (): void => {
    assert.deepEqual(proxy!.logs().filter((r) => r.msg === STARTED || r.msg === 'HTTP session started'), [], 'no session and no server was started');
  };

  test('the JWKS was fetched at start', () => {
    assert.ok(jwksRequests >= 1);
  });

  test('no Authorization: 401 with a Bearer challenge and a JSON-RPC error body, and no server starts', async () => {
    const message = await assertUnauthorized(await send(port, { body: INITIALIZE }), /^Bearer realm="mcp-sidecar"$/);
    assert.match(message, /authentication required/);
    noServerYet();
  });

  test('a garbage token, or one signed by another key: 401 invalid_token', async () => {
    const garbage = 'not-a-jwt-0123456789abcdef';
    presented.push(garbage);
    const forged = await sign(CLAIMS_A, { key: otherKey });
    const cases: Array<[string, RegExp]> = [[garbage, /not a valid signed JWT/], [forged, /signature does not verify/]];
    for (const [token, why] of cases) {
      const response = await send(port, { body: INITIALIZE, headers: bearer(token) });
      const message = await assertUnauthorized(response, /^Bearer realm="mcp-sidecar", error="invalid_token", error_description="[^"]+"$/);
      assert.match(String(response.headers['www-authenticate']), why);
      assert.match(message, why);
    }
    noServerYet();
  });

  test('an expired JWT: 401, and the error says it expired', async () => {
    const expired = await sign(CLAIMS_A, { expiresAt: Math.floor(Date.now() / 1000) - 120 }); // past the 30 s of skew tolerated
    const response = await send(port, { body: INITIALIZE, headers: bearer(expired) });
    const message = await assertUnauthorized(response, /error="invalid_token", error_description="the token has expired"/);
    assert.match(message, /the token has expired/);
    noServerYet();
  });

  test('a JWT for another audience: 401', async () => {
    const elsewhere = await sign(CLAIMS_A, { audience: 'another-service' });
    const response = await send(port, { body: INITIALIZE, headers: bearer(elsewhere) });
    assert.match(await assertUnauthorized(response, /error_description="the token is not for this audience"/), /not for this audience/);
    noServerYet();
  });

  test('a good JWT for tenant A: initialize, tools/list and tools/call pass', async () => {
    const a = (sessions.a = await McpSession.open(port, await tokenFor('a')));
    assert.equal(a.initializeResult.serverInfo.name, 'governor-fixture');
    assert.ok((await a.request('tools/list', {})).result);
    const answer = await a.callTool('echo', { message: 'from tenant A' });
    assert.match(answer.result.content[0].text, /^call \d+ by \d+$/);
    assert.equal(serverPids(proxy!).length, 1, 'one server, for the one session');
  });

  test('a good JWT for the blocked tenant: the same call is denied by the rule; tenant A\'s still passes', async () => {
    const blocked = (sessions.blocked = await McpSession.open(port, await tokenFor('blocked')));
    const denied = await blocked.callTool('echo', { message: 'from the blocked tenant' });
    assert.equal(denied.result, undefined, JSON.stringify(denied));
    assert.equal(denied.error.code, -32010);
    assert.deepEqual(
      [denied.error.data.code, denied.error.data.category, denied.error.data.ruleId, denied.error.data.reason],
      ['SIDECAR_ERR_POLICY_DENIED', 'forbidden', 'blocked-tenant-no-echo', 'tool_not_allowed'],
    );
    const allowed = await sessions.a!.callTool('echo', { message: 'tenant A again' });
    assert.match(allowed.result.content[0].text, /^call \d+ by \d+$/);
    const log = await proxy!.waitForLog((r) => r.msg === 'policy denied tools/call');
    assert.equal(log.ruleId, 'blocked-tenant-no-echo');
  });

  test('the rate limit keeps one bucket per tenant: tenant A\'s third call is limited, tenant C\'s first passes', async () => {
    const limited = await sessions.a!.callTool('echo', { message: 'tenant A, third' });
    assert.equal(limited.error.code, -32011);
    assert.deepEqual([limited.error.data.ruleId, limited.error.data.reason, limited.error.data.retryable], ['calls-per-tenant', 'rate_limited', true]);
    assert.match(limited.error.message, /tenantId "tenant-a"/);
    const c = (sessions.c = await McpSession.open(port, await tokenFor('c')));
    assert.match((await c.callTool('echo', { message: 'tenant C' })).result.content[0].text, /^call \d+ by \d+$/);
  });

  test('a session answers only its own caller: another tenant\'s token with tenant A\'s session id gets 404', async () => {
    const response = await send(port, {
      body: { jsonrpc: '2.0', id: 99, method: 'tools/list', params: {} }, headers: sessions.a!.headers(await tokenFor('blocked')),
    });
    assert.equal(response.status, 404);
    assert.equal((await response.json()).error.data.code, 'SIDECAR_ERR_HTTP_SESSION_NOT_FOUND');
  });

  test('the bearer token reaches no server: not in its environment, its argv, nor anything it was sent', () => {
    const pids = serverPids(proxy!);
    assert.equal(pids.length, 3, 'one server per authenticated session, none for the refused requests');
    for (const pid of pids) {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
      assert.match(environ, /(^|\0)RECORD_FILE=/, 'the environment is readable, and the --set-env variable is there');
      assertNoToken(environ, presented, `the environment of server ${pid}`);
      assertNoToken(readFileSync(`/proc/${pid}/cmdline`, 'latin1'), presented, `the argv of server ${pid}`);
      assert.doesNotMatch(environ, /authorization|bearer/i);
    }
    const received = readFileSync(recordFile, 'utf8');
    assert.match(received, /"method":"tools\/call"/, 'the record holds what the servers got');
    assertNoToken(received, presented, 'what the servers were sent');
    assert.doesNotMatch(received, /authorization|bearer/i);
  });

  test('SIGTERM: exit 0, every server stopped, and neither the log nor the reports hold a token', async () => {
    await stopProxy(proxy!);
    assertNoToken(proxy!.stderr.bytes.toString('utf8'), presented, 'the proxy\'s stderr');
    assertNoToken(readFileSync(reportFile, 'utf8'), presented, 'the report file');
  });

  test('report verify passes, and the reports carry each caller\'s identity and the policy\'s decisions', () => {
    verifyReports(reportFile);
    const reports = readReports(reportFile);
    assert.equal(reports.filter((r) => r.kind === 'lifecycle' && r.event === 'spawn').length, 3, 'a server spawned per authenticated session, none for a 401');
    const invocations = reports.filter((r) => r.kind === 'invocation');
    // The policy is stated once per chain segment; every other invocation inherits the one last stated before it.
    assert.ok(invocations[0].policy !== undefined, 'the first invocation states the policy');
    for (const report of invocations) {
      assert.ok(report.identity, `every invocation came from a JWT caller: ${JSON.stringify(report)}`);
      const policy = reports.slice(0, reports.indexOf(report) + 1).reverse().find((r) => r.policy !== undefined)?.policy;
      assert.deepEqual([policy?.name, policy?.revision, report.mode], ['identity-e2e', '3', 'enforce']);
    }
    const initializes = invocations.filter((r) => r.method === 'initialize');
    assert.deepEqual(initializes.map((r) => r.identity), [IDENTITY_A, IDENTITY_BLOCKED, IDENTITY_C]);
    assert.ok(initializes.every((r) => r.outcome === 'forwarded'));

    const calls = (identity: object) => invocations.filter((r) => r.method === 'tools/call' && isDeepStrictEqual(r.identity, identity));
    const callsA = calls(IDENTITY_A);
    assert.deepEqual(callsA.map((r) => r.outcome), ['forwarded', 'forwarded', 'rate_limited']);
    assert.deepEqual(callsA[0]!.decisions, []);
    assert.deepEqual(callsA[2]!.decisions, [{ effect: 'deny', enforced: true, kind: 'rateLimit', phase: 'request', reason: 'rate_limited', ruleId: 'calls-per-tenant' }]);

    const [blocked, ...moreBlocked] = calls(IDENTITY_BLOCKED);
    assert.deepEqual(moreBlocked, []);
    assert.equal(blocked!.outcome, 'blocked');
    assert.deepEqual(blocked!.target, { type: 'tool', name: 'echo' });
    assert.deepEqual(blocked!.decisions, [{ effect: 'deny', enforced: true, kind: 'tools', phase: 'request', reason: 'tool_not_allowed', ruleId: 'blocked-tenant-no-echo' }]);

    assert.deepEqual(calls(IDENTITY_C).map((r) => r.outcome), ['forwarded']);
    assert.equal(invocations.filter((r) => r.method === 'tools/call').length, 5, 'every tools/call is reported, under its caller');
  });
});

describe('--http with a static token (--auth-token-file)', () => {
  let dir: string;
  let proxy: ProxyProcess | undefined;
  let port: number;
  let reportFile: string;
  const token = 'e2e-static-token_0123456789abcdefghijklmnopqrstuvwxyz';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'http-static-token-'));
    reportFile = join(dir, 'reports.ndjson');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    ({ proxy, port } = await startHttpProxy(['--proxy', SERVER_COMMAND, '--allow', ALLOW_REPO_SCRIPTS, '--auth-token-file', tokenFile, '--report-file', reportFile]));
  });

  after(async () => {
    await dispose(proxy);
    rmSync(dir, { recursive: true, force: true });
  });

  test('no token or a wrong one: 401; the right one: the session works, without an identity', async () => {
    await assertUnauthorized(await send(port, { body: INITIALIZE }), /^Bearer realm="mcp-sidecar"$/);
    const wrong = await send(port, { body: INITIALIZE, headers: bearer(`${token}x`) });
    assert.match(await assertUnauthorized(wrong, /error="invalid_token"/), /not the one this proxy accepts/);
    assert.equal(serverPids(proxy!).length, 0, 'no server for a refused request');
    const session = await McpSession.open(port, token);
    assert.match((await session.callTool('echo')).result.content[0].text, /^call \d+ by \d+$/);
    await stopProxy(proxy!);
    verifyReports(reportFile);
    const invocations = readReports(reportFile).filter((r) => r.kind === 'invocation');
    assert.deepEqual(invocations.map((r) => [r.method, r.outcome]), [['initialize', 'forwarded'], ['tools/call', 'forwarded']]);
    assert.ok(invocations.every((r) => !('identity' in r)), 'a static token says nothing about who calls');
    assertNoToken(proxy!.stderr.bytes.toString('utf8') + readFileSync(reportFile, 'utf8'), [token], 'the log or the reports');
  });
});

describe('--http and a server command that cannot start', () => {
  // Holding the port: if the proxy tried to listen before checking the command, it would exit 2
  // (cannot listen), not 78 or 69.
  let taken: ReturnType<typeof createNetServer>;
  let takenPort: number;
  before(async () => {
    taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    takenPort = (taken.address() as AddressInfo).port;
  });
  after(() => new Promise((resolve) => taken.close(resolve)));

  const run = (args: readonly string[]) => spawnSync(process.execPath, [CLI, '--http', `127.0.0.1:${takenPort}`, '--log-level', 'info', ...args], {
    cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 10_000,
  });

  test('an admitted command on a port in use: exit 2, cannot listen (the control for the tests below)', () => {
    const result = run(['--proxy', SERVER_COMMAND, '--allow', ALLOW_REPO_SCRIPTS]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /cannot listen \(EADDRINUSE\)/);
  });

  test('a command the allowlist refuses: exit 78 at start, before listening, and no server', () => {
    const result = run(['--proxy', SERVER_COMMAND, '--allow', `${quoteWord(process.execPath)} /nowhere/`]);
    assert.equal(result.status, 78, result.stderr);
    assert.match(result.stderr, /refused to start .*mcp-server\.js: no allow rule matches/);
    assert.doesNotMatch(result.stderr, new RegExp(`${SERVING}|${STARTED}|cannot listen`));
  });

  test('an empty allowlist: exit 78 at start', () => {
    const result = run(['--proxy', SERVER_COMMAND]);
    assert.equal(result.status, 78, result.stderr);
    assert.match(result.stderr, /the allowlist is empty/);
    assert.doesNotMatch(result.stderr, new RegExp(`${SERVING}|cannot listen`));
  });

  test('a command that does not exist: exit 69 at start', () => {
    const result = run(['--proxy', '/nonexistent/mcp-server', '--allow', '/nonexistent/']);
    assert.equal(result.status, 69, result.stderr);
    assert.match(result.stderr, /"\/nonexistent\/mcp-server" is not an executable file/);
    assert.doesNotMatch(result.stderr, new RegExp(`${SERVING}|cannot listen`));
  });

  describe('a server that vanished after start', () => {
    let dir: string;
    let script: string;
    let proxy: ProxyProcess | undefined;
    let port: number;
    const writeScript = (): void => {
      writeFileSync(script, `#!/bin/sh\nexec ${commandLine([process.execPath, FIXTURE])}\n`);
      chmodSync(script, 0o755);
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'http-vanished-'));
      script = join(dir, 'mcp-server.sh');
      writeScript();
      ({ proxy, port } = await startHttpProxy(['--proxy', quoteWord(script), '--allow', quoteWord(script), '--warm-servers', '0'])); // the spawn under test is the session's own
    });
    after(async () => {
      await dispose(proxy);
      rmSync(dir, { recursive: true, force: true });
    });

    test('fails only its session (-32003, the cause logged); the proxy stays up and the next session works', async () => {
      rmSync(script);
      const failed = await send(port, { body: INITIALIZE });
      assert.equal(failed.status, 200);
      assert.equal(failed.headers['mcp-session-id'], undefined, 'a session that failed to start is not offered');
      const [answer] = await messagesOf(failed);
      assert.equal(answer.id, 0);
      assert.equal(answer.error.code, -32003);
      assert.deepEqual([answer.error.data.code, answer.error.data.retryable], ['SIDECAR_ERR_UPSTREAM_EXITED', true]);
      assert.match(answer.error.message, /ENOENT/);
      // The session may end (its initialize failed) before the governor would give up: either way the cause is logged.
      const logged = await proxy!.waitForLog((r: LogRecord) => r.level === 50 && /^the MCP server could not be started: spawn .*ENOENT/.test(r.msg ?? ''));
      const sessionId = logged.session;
      assert.equal(typeof sessionId, 'string', 'the log names the session');
      await proxy!.waitForLog((r) => r.msg === 'HTTP session ending' && r.session === sessionId);
      const gone = await send(port, { body: { jsonrpc: '2.0', id: 1, method: 'ping' }, headers: { 'mcp-session-id': sessionId as string, 'mcp-protocol-version': '2025-06-18' } });
      assert.equal(gone.status, 404, 'that session has ended');
      await gone.done;

      assert.equal(proxy!.exit, undefined, 'the proxy is still up');
      writeScript();
      const next = await McpSession.open(port, undefined);
      assert.equal(next.initializeResult.serverInfo.name, 'governor-fixture');
      await stopProxy(proxy!);
    });
  });
});
