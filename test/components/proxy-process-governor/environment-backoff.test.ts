import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs, childEnvironment } from '../../../components/proxy-process-governor/index.js';

describe('childEnvironment', () => {
  const parent = {
    PATH: '/usr/bin', HOME: '/home/a', LANG: 'C.UTF-8', LC_ALL: 'C', TZ: 'UTC', TMPDIR: '/tmp',
    GITHUB_TOKEN: 'ghp_secret', AWS_SECRET_ACCESS_KEY: 'k', AWS_REGION: 'eu-west-1',
    MCP_PROXY_AUTH_TOKEN: 'proxy-secret', MCP_PROXY_LOG_LEVEL: 'info', DATABASE_URL: 'postgres://x',
  };

  it('should pass only the base a process needs', () => {
    assert.deepEqual(childEnvironment(parent), { PATH: '/usr/bin', HOME: '/home/a', LANG: 'C.UTF-8', LC_ALL: 'C', TZ: 'UTC', TMPDIR: '/tmp' });
  });

  it('should pass through named variables and patterns, and set explicit ones', () => {
    const env = childEnvironment(parent, { passThrough: ['AWS_*', 'DATABASE_URL'], set: { MODE: 'ro', PATH: '/opt/bin' } });
    assert.equal(env.AWS_REGION, 'eu-west-1');
    assert.equal(env.AWS_SECRET_ACCESS_KEY, 'k');
    assert.equal(env.DATABASE_URL, 'postgres://x');
    assert.equal(env.MODE, 'ro');
    assert.equal(env.PATH, '/opt/bin');
    assert.equal(env.GITHUB_TOKEN, undefined);
  });

  it('should never pass the proxy\'s own MCP_PROXY_* settings by pattern, only by exact name', () => {
    assert.equal(childEnvironment(parent, { passThrough: ['MCP_*', '*'] }).MCP_PROXY_AUTH_TOKEN, undefined);
    assert.equal(childEnvironment(parent, { passThrough: ['MCP_PROXY_LOG_LEVEL'] }).MCP_PROXY_LOG_LEVEL, 'info');
  });
});

describe('backoffDelayMs', () => {
  const options = { baseMs: 1000, maxMs: 30_000, jitter: 0.1 };
  it('should double per consecutive failure and cap at the maximum', () => {
    const noJitter = { ...options, random: () => 0.5 };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(n, noJitter)), [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
  it('should spread by ±10% with the injected random source', () => {
    assert.equal(backoffDelayMs(1, { ...options, random: () => 0 }), 900);
    assert.equal(backoffDelayMs(1, { ...options, random: () => 1 }), 1100);
    assert.equal(backoffDelayMs(6, { ...options, random: () => 1 }), 30000, "never past the cap");
    assert.equal(backoffDelayMs(6, { ...options, random: () => 0 }), 27000);
  });
});
