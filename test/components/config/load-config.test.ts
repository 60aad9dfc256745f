import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_FRAME_BYTES, loadConfig, type SidecarConfig } from '../../../components/config/index.js';

function run(args: string[], env: NodeJS.ProcessEnv = {}): SidecarConfig {
  const request = loadConfig(args, env);
  assert.equal(request.kind, 'run');
  return (request as { config: SidecarConfig }).config;
}

describe('loadConfig', () => {
  it('should read --proxy into argv and apply defaults', () => {
    const config = run(['--proxy', 'node "a b.js" x', '--stdio']);
    assert.deepEqual(config.argv, ['node', 'a b.js', 'x']);
    assert.equal(config.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
    assert.equal(config.logLevel, 'info');
    assert.ok(Object.isFrozen(config));
  });

  it('should take flags over environment variables over defaults', () => {
    const env = { MCP_PROXY_MAX_FRAME_BYTES: '2MiB', MCP_PROXY_LOG_LEVEL: 'debug' };
    assert.equal(run(['--proxy', 'x'], env).maxFrameBytes, 2 * 1024 * 1024);
    assert.equal(run(['--proxy', 'x'], env).logLevel, 'debug');
    assert.equal(run(['--proxy', 'x', '--max-frame-bytes', '4096', '--log-level', 'warn'], env).maxFrameBytes, 4096);
    assert.equal(run(['--proxy', 'x', '--max-frame-bytes', '4096', '--log-level', 'warn'], env).logLevel, 'warn');
  });

  it('should accept sizes with units', () => {
    assert.equal(run(['--proxy', 'x', '--max-frame-bytes', '64KiB']).maxFrameBytes, 65536);
    assert.equal(run(['--proxy', 'x', '--max-frame-bytes', '1 mib']).maxFrameBytes, 1048576);
  });

  const bad: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--proxy', 'x'], { MCP_PROXY_MAX_FRAME_BYTES: 'abc' }, /MCP_PROXY_MAX_FRAME_BYTES must be a size in bytes from 1024 .*got "abc"/],
    [['--proxy', 'x'], { MCP_PROXY_MAX_FRAME_BYTES: '-1' }, /MCP_PROXY_MAX_FRAME_BYTES must be/],
    [['--proxy', 'x', '--max-frame-bytes', '10'], {}, /--max-frame-bytes must be a size in bytes from 1024/],
    [['--proxy', 'x', '--max-frame-bytes', '5 parsecs'], {}, /--max-frame-bytes must be/],
    [['--proxy', 'x'], { MCP_PROXY_LOG_LEVEL: 'loud' }, /MCP_PROXY_LOG_LEVEL must be one of trace, debug, info/],
  ];
  for (const [args, env, message] of bad) {
    it(`should refuse ${JSON.stringify({ args, env })} naming the setting and the accepted range`, () => {
      assert.throws(() => loadConfig(args, env), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'SIDECAR_ERR_CONFIG_INVALID');
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('should refuse a missing --proxy and unknown flags as usage errors', () => {
    assert.throws(() => loadConfig([], {}), { code: 'SIDECAR_ERR_USAGE', message: /--proxy/ });
    assert.throws(() => loadConfig(['--proxy', 'x', '--frobnicate'], {}), { code: 'SIDECAR_ERR_USAGE', message: /frobnicate/ });
  });

  it('should answer --help and --version without a command', () => {
    assert.equal(loadConfig(['--help'], {}).kind, 'help');
    assert.equal(loadConfig(['--version'], {}).kind, 'version');
  });
});
