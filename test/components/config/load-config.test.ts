import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MAX_FRAME_BYTES, loadConfig, type SidecarConfig } from '../../../components/config/index.js';
import { tempDir } from '../../helpers/temp-dir.js';

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<SidecarConfig> {
  const request = await loadConfig(args, env);
  assert.equal(request.kind, 'run');
  return (request as { config: SidecarConfig }).config;
}

describe('loadConfig', () => {
  it('should read --proxy into argv and apply defaults', async () => {
    const config = (await run(['--proxy', 'node "a b.js" x', '--stdio']));
    assert.deepEqual(config.argv, ['node', 'a b.js', 'x']);
    assert.equal(config.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
    assert.equal(config.logLevel, 'info');
    assert.ok(Object.isFrozen(config));
  });

  it('should take flags over environment variables over defaults', async () => {
    const env = { MCP_PROXY_MAX_FRAME_BYTES: '2MiB', MCP_PROXY_LOG_LEVEL: 'debug' };
    assert.equal((await run(['--proxy', 'x'], env)).maxFrameBytes, 2 * 1024 * 1024);
    assert.equal((await run(['--proxy', 'x'], env)).logLevel, 'debug');
    assert.equal((await run(['--proxy', 'x', '--max-frame-bytes', '4096', '--log-level', 'warn'], env)).maxFrameBytes, 4096);
    assert.equal((await run(['--proxy', 'x', '--max-frame-bytes', '4096', '--log-level', 'warn'], env)).logLevel, 'warn');
  });

  it('should read the governor settings under the seed\'s variable names', async () => {
    const config = (await run(['--proxy', 'x'], { MCP_PROXY_ALLOWED_PREFIXES: 'node demo/, npx -y @modelcontextprotocol/server-', MCP_PROXY_MAX_RESTARTS: '2', MCP_PROXY_RESTART_BACKOFF_MS: '250', MCP_PROXY_KILL_TIMEOUT_MS: '1500' }));
    assert.deepEqual(config.allow, [
      { prefix: 'node demo/', source: 'MCP_PROXY_ALLOWED_PREFIXES[0]' },
      { prefix: 'npx -y @modelcontextprotocol/server-', source: 'MCP_PROXY_ALLOWED_PREFIXES[1]' },
    ]);
    assert.equal(config.restart.maxRestarts, 2);
    assert.equal(config.restart.backoffBaseMs, 250);
    assert.equal(config.killTimeoutMs, 1500);
  });

  it('should take repeated --allow flags over the environment, and default to nothing allowed', async () => {
    const config = (await run(['--proxy', 'x', '--allow', 'node a/', '--allow', 'python3 b/'], { MCP_PROXY_ALLOWED_PREFIXES: 'node demo/' }));
    assert.deepEqual(config.allow.map((r) => [r.prefix, r.source]), [['node a/', '--allow #1'], ['python3 b/', '--allow #2']]);
    assert.deepEqual((await run(['--proxy', 'x'])).allow, []);
  });

  it('should read environment pass-through and explicit values for the server', async () => {
    const config = (await run(['--proxy', 'x', '--set-env', 'MODE=read only=yes', '--set-env', 'EMPTY='], { MCP_PROXY_PASS_ENV: 'AWS_*,DATABASE_URL' }));
    assert.deepEqual(config.childEnv, { passThrough: ['AWS_*', 'DATABASE_URL'], set: { MODE: 'read only=yes', EMPTY: '' } });
  });

  it('should read the report, transcript, HTTP, auth and admin settings into their sections', async () => {
    const config = await run(['--proxy', 'x', '--report-file', 'r.ndjson', '--report-rotate-bytes', '1MiB', '--record', 't.ndjson', '--http', '8080', '--admin', '[::1]:9090',
      '--auth-jwks-url', 'https://idp.example/jwks', '--auth-issuer', 'https://idp.example', '--auth-audience', 'mcp', '--identity-claims', 'userId=email',
      '--http-allowed-host', 'proxy.local:8080']);
    assert.deepEqual([config.reports?.file, config.reports?.rotateBytes, config.reports?.fsync, config.reports?.onOverflow, config.reports?.arguments], ['r.ndjson', 1048576, 'interval', 'block', 'digest']);
    assert.deepEqual(config.record, { file: 't.ndjson', arguments: 'redacted' });
    assert.equal(config.transport, 'http');
    assert.deepEqual([config.http?.listen, config.http?.maxSessions, config.http?.maxBodyBytes, config.http?.allowedHosts], [{ host: '127.0.0.1', port: 8080 }, 4, config.maxFrameBytes, ['proxy.local:8080']]);
    assert.deepEqual(config.admin, { host: '::1', port: 9090 });
    assert.deepEqual(config.auth, { kind: 'jwt', jwksUrl: 'https://idp.example/jwks', issuer: 'https://idp.example', audience: 'mcp', identityClaims: { userId: 'email' } });
    const plain = await run(['--proxy', 'x']);
    assert.deepEqual([plain.transport, plain.reports, plain.record, plain.http, plain.auth, plain.admin], ['stdio', undefined, undefined, undefined, undefined, undefined]);
  });

  it('should read the stateless linger apart from the idle timeout: default 5000 ms, flag over environment, 0 allowed', async () => {
    const defaults = (await run(['--proxy', 'x', '--http', '8080'])).http!;
    assert.deepEqual([defaults.statelessLingerMs, defaults.idleTimeoutMs], [5000, 300_000]);
    assert.equal((await run(['--proxy', 'x', '--http', '8080'], { MCP_PROXY_HTTP_STATELESS_LINGER_MS: '250' })).http!.statelessLingerMs, 250);
    assert.equal((await run(['--proxy', 'x', '--http', '8080', '--http-stateless-linger-ms', '0'], { MCP_PROXY_HTTP_STATELESS_LINGER_MS: '250' })).http!.statelessLingerMs, 0);
  });

  it('should read the server\'s user and group from flags or environment, resolving nothing yet', async () => {
    assert.equal((await run(['--proxy', 'x'])).serverAccount, undefined);
    assert.deepEqual((await run(['--proxy', 'x', '--server-user', 'nobody'])).serverAccount, { user: 'nobody', group: undefined });
    assert.deepEqual((await run(['--proxy', 'x'], { MCP_PROXY_SERVER_USER: ' 065534 ', MCP_PROXY_SERVER_GROUP: 'nogroup' })).serverAccount, { user: '65534', group: 'nogroup' });
    assert.deepEqual((await run(['--proxy', 'x', '--server-user', 'mcp'], { MCP_PROXY_SERVER_USER: 'nobody' })).serverAccount, { user: 'mcp', group: undefined });
  });

  it('should refuse --stdio with --http as a usage error', async () => {
    await assert.rejects(() => loadConfig(['--proxy', 'x', '--stdio', '--http', '8080'], {}), (error: Error & { code?: string }) => error.code === 'SIDECAR_ERR_USAGE' && /exclude each other/.test(error.message));
  });

  it('should accept sizes with units', async () => {
    assert.equal((await run(['--proxy', 'x', '--max-frame-bytes', '64KiB'])).maxFrameBytes, 65536);
    assert.equal((await run(['--proxy', 'x', '--max-frame-bytes', '1 mib'])).maxFrameBytes, 1048576);
  });

  const bad: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--proxy', 'x'], { MCP_PROXY_MAX_FRAME_BYTES: 'abc' }, /MCP_PROXY_MAX_FRAME_BYTES must be a size in bytes from 1024 .*got "abc"/],
    [['--proxy', 'x'], { MCP_PROXY_MAX_FRAME_BYTES: '-1' }, /MCP_PROXY_MAX_FRAME_BYTES must be/],
    [['--proxy', 'x', '--max-frame-bytes', '10'], {}, /--max-frame-bytes must be a size in bytes from 1024/],
    [['--proxy', 'x', '--max-frame-bytes', '5 parsecs'], {}, /--max-frame-bytes must be/],
    [['--proxy', 'x'], { MCP_PROXY_LOG_LEVEL: 'loud' }, /MCP_PROXY_LOG_LEVEL must be one of trace, debug, info/],
    [['--proxy', 'x'], { MCP_PROXY_MAX_RESTARTS: '-1' }, /MCP_PROXY_MAX_RESTARTS must be a whole number from 0 to 100, got "-1"/],
    [['--proxy', 'x'], { MCP_PROXY_MAX_RESTARTS: 'abc' }, /MCP_PROXY_MAX_RESTARTS must be a whole number from 0 to 100, got "abc"/],
    [['--proxy', 'x'], { MCP_PROXY_RESTART_BACKOFF_MS: '1.5' }, /MCP_PROXY_RESTART_BACKOFF_MS must be a whole number from 0 to 60000/],
    [['--proxy', 'x'], { MCP_PROXY_KILL_TIMEOUT_MS: '99999999' }, /MCP_PROXY_KILL_TIMEOUT_MS must be a whole number from 0 to 60000/],
    [['--proxy', 'x', '--max-restarts', '1000'], {}, /--max-restarts must be a whole number from 0 to 100/],
    [['--proxy', 'x', '--executable-sha256', 'abc'], {}, /--executable-sha256 must be a sha256 digest/],
    [['--proxy', 'x', '--set-env', 'no-equals'], {}, /--set-env must be NAME=VALUE/],
    [['--proxy', 'x', '--allow', 'node a.js | tee'], {}, /--allow #1 "node a.js \| tee" is not a command prefix/],
    [['--proxy', 'x', '--http', 'localhost'], {}, /--http must be host:port/],
    [['--proxy', 'x', '--http', '8080'], { MCP_PROXY_HTTP_STATELESS_LINGER_MS: '-1' }, /MCP_PROXY_HTTP_STATELESS_LINGER_MS must be a whole number from 0 to 86400000, got "-1"/],
    [['--proxy', 'x'], { MCP_PROXY_ADMIN_LISTEN: '127.0.0.1:70000' }, /MCP_PROXY_ADMIN_LISTEN must be host:port/],
    [['--proxy', 'x', '--http', '0.0.0.0:8080'], {}, /reachable from other machines, and no authentication is configured/],
    [['--proxy', 'x', '--auth-token-file', 't', '--auth-jwks-url', 'https://idp/jwks'], {}, /exclude each other/],
    [['--proxy', 'x', '--auth-jwks-url', 'https://idp/jwks'], {}, /needs --auth-issuer and --auth-audience/],
    [['--proxy', 'x', '--auth-audience', 'a'], {}, /need --auth-jwks-url/],
    [['--proxy', 'x', '--auth-jwks-url', 'ftp://idp/jwks'], {}, /--auth-jwks-url must be an http/],
    [['--proxy', 'x', '--identity-claims', 'groupId=g'], {}, /--identity-claims must be a comma-separated list/],
    [['--proxy', 'x', '--report-fsync', 'sometimes'], {}, /--report-fsync must be one of always, interval, never/],
    [['--proxy', 'x', '--report-rotate-bytes', '1KiB'], {}, /--report-rotate-bytes must be a size/],
    [['--proxy', 'x'], { MCP_PROXY_REPORT_ON_OVERFLOW: 'lose' }, /MCP_PROXY_REPORT_ON_OVERFLOW must be one of block, drop/],
    [['--proxy', 'x', '--server-user', 'a b'], {}, /--server-user must be a user name \(letters, digits, _ \. -; up to 32 characters\) or a numeric uid/],
    [['--proxy', 'x', '--server-user', '4294967295'], {}, /--server-user must be a user name .* or a numeric uid below 4294967295/],
    [['--proxy', 'x', '--server-user', 'mcp'], { MCP_PROXY_SERVER_GROUP: '-wheel' }, /MCP_PROXY_SERVER_GROUP must be a group name .* or a numeric gid/],
    [['--proxy', 'x', '--server-group', 'mcp'], {}, /--server-group needs --server-user: under the proxy's own uid, the server could still read the proxy's secrets/],
  ];
  for (const [args, env, message] of bad) {
    it(`should refuse ${JSON.stringify({ args, env })} naming the setting and the accepted range`, async () => {
      await assert.rejects(() => loadConfig(args, env), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'SIDECAR_ERR_CONFIG_INVALID');
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('should refuse a missing --proxy and unknown flags as usage errors', async () => {
    await assert.rejects(() => loadConfig([], {}), { code: 'SIDECAR_ERR_USAGE', message: /--proxy/ });
    await assert.rejects(() => loadConfig(['--proxy', 'x', '--frobnicate'], {}), { code: 'SIDECAR_ERR_USAGE', message: /frobnicate/ });
  });

  it('should answer --help and --version without a command', async () => {
    assert.equal((await loadConfig(['--help'], {})).kind, 'help');
    assert.equal((await loadConfig(['--version'], {})).kind, 'version');
    // cli.ts writes the usage or the version to stdout and exits before anything is proxied: they win over --proxy/--stdio.
    assert.equal((await loadConfig(['--proxy', 'node server.js', '--stdio', '--help'], {})).kind, 'help');
    assert.equal((await loadConfig(['--stdio', '--version', '--proxy', 'node server.js'], {})).kind, 'version');
  });

  describe('with a policy file', () => {
    const file = join(tempDir('config'), 'p.yaml');
    writeFileSync(file, `apiVersion: mcp-sidecar/v1
kind: Policy
metadata: { name: p, revision: 4 }
mode: observe
governor:
  allow: ["node servers/"]
  maxRestarts: 9
  killTimeoutMs: 1234
  passEnv: [AWS_REGION]
  setEnv: { MODE: from-file, KEEP: yes }
`);

    it('should read the governor section below flags and environment, above defaults', async () => {
      const config = await run(['--proxy', 'x', '--policy', file]);
      assert.deepEqual(config.allow.map((r) => [r.prefix, r.source]), [['node servers/', `${file} governor.allow[0]`]]);
      assert.equal(config.restart.maxRestarts, 9);
      assert.equal(config.killTimeoutMs, 1234);
      assert.equal(config.restart.backoffBaseMs, 1000, 'not in the file: the default');
      assert.deepEqual(config.childEnv, { passThrough: ['AWS_REGION'], set: { MODE: 'from-file', KEEP: 'yes' } });
      assert.equal(config.policy?.document.metadata.revision, '4');
      assert.equal(config.modeOverride, undefined);
    });

    it('should let the environment and flags win over the file', async () => {
      const config = await run(['--proxy', 'x', '--policy', file, '--max-restarts', '1', '--set-env', 'MODE=flag', '--mode', 'enforce'],
        { MCP_PROXY_KILL_TIMEOUT_MS: '99', MCP_PROXY_ALLOWED_PREFIXES: 'node env/' });
      assert.equal(config.restart.maxRestarts, 1);
      assert.equal(config.killTimeoutMs, 99);
      assert.deepEqual(config.allow.map((r) => r.prefix), ['node env/']);
      assert.deepEqual(config.childEnv.set, { MODE: 'flag', KEEP: 'yes' });
      assert.equal(config.modeOverride, 'enforce');
    });

    it('should take the policy file from MCP_PROXY_POLICY and refuse an invalid one naming line and column', async () => {
      assert.equal((await run(['--proxy', 'x'], { MCP_PROXY_POLICY: file })).policy?.document.metadata.name, 'p');
      const bad = join(tempDir('config'), 'bad.yaml');
      writeFileSync(bad, 'apiVersion: mcp-sidecar/v1\nkind: Policy\nmetadata: { name: p, revision: 1 }\nmode: loud\n');
      await assert.rejects(() => loadConfig(['--proxy', 'x', '--policy', bad], {}), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'SIDECAR_ERR_POLICY_INVALID');
        assert.match(error.message, /bad\.yaml:4:7: mode: /);
        return true;
      });
      await assert.rejects(() => loadConfig(['--proxy', 'x', '--mode', 'strict'], {}), /--mode must be one of observe, enforce/);
    });
  });
});
