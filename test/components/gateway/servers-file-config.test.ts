// --servers in the configuration: it excludes --proxy, and each service's settings are the
// proxy-wide ones with the service's own over them.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, type SidecarConfig } from '../../../components/config/index.js';
import { tempDir } from '../../helpers/temp-dir.js';

function serversFile(text: string): string {
  const file = join(tempDir('servers-config'), 'servers.yaml');
  writeFileSync(file, text);
  return file;
}

const FILE = [
  'servers:',
  '  - name: fs',
  '    command: node fs.js',
  '    env: { ROOT: /srv, SHARED: mine }',
  '    passEnv: [FS_*]',
  '    serverUser: mcp-fs',
  '    timeouts: { requestMs: 0, killMs: 100 }',
  '    restart: { maxRestarts: 1, backoffMs: 50 }',
  '  - name: mem',
  '    command: node mem.js',
].join('\n');

describe('--servers in the configuration', () => {
  it('should resolve each service over the proxy-wide settings', async () => {
    const file = serversFile(FILE);
    const { config } = (await loadConfig(['--servers', file, '--allow', 'node', '--pass-env', 'HOME_X', '--set-env', 'SHARED=proxy', '--set-env', 'ONLY=proxy',
      '--max-restarts', '7', '--restart-backoff-ms', '500', '--restart-backoff-max-ms', '4000', '--kill-timeout-ms', '3000', '--request-timeout-ms', '9000'], {})) as { config: SidecarConfig };
    assert.equal(config.argv.length, 0, 'no one server');
    assert.equal(config.gateway!.source, file);
    assert.equal(config.gateway!.separator, '.');
    const [fs, mem] = config.gateway!.services;
    assert.deepEqual(fs!.argv, ['node', 'fs.js']);
    assert.deepEqual(fs!.childEnv, { passThrough: ['HOME_X', 'FS_*'], set: { SHARED: 'mine', ONLY: 'proxy', ROOT: '/srv' } });
    assert.deepEqual(fs!.serverAccount, { user: 'mcp-fs', group: undefined });
    assert.equal(fs!.killTimeoutMs, 100);
    assert.equal(fs!.requestTimeoutMs, 0);
    assert.deepEqual([fs!.restart.maxRestarts, fs!.restart.backoffBaseMs, fs!.restart.backoffMaxMs], [1, 50, 4000]);
    assert.deepEqual(mem!.childEnv, { passThrough: ['HOME_X'], set: { SHARED: 'proxy', ONLY: 'proxy' } });
    assert.equal(mem!.serverAccount, undefined);
    assert.deepEqual([mem!.killTimeoutMs, mem!.requestTimeoutMs, mem!.restart.maxRestarts, mem!.restart.backoffBaseMs], [3000, 9000, 7, 500]);
  });

  it('should read the file from MCP_PROXY_SERVERS too', async () => {
    const file = serversFile(FILE);
    const { config } = (await loadConfig(['--allow', 'node'], { MCP_PROXY_SERVERS: file })) as { config: SidecarConfig };
    assert.deepEqual(config.gateway!.services.map((service) => service.name), ['fs', 'mem']);
  });

  it('should refuse --proxy with --servers, --executable-sha256 with --servers, and a bad file at its line', async () => {
    const file = serversFile(FILE);
    await assert.rejects(loadConfig(['--servers', file, '--proxy', 'node x.js'], {}), (error: Error & { code?: string }) => error.code === 'SIDECAR_ERR_USAGE' && /exclude each other/.test(error.message));
    await assert.rejects(loadConfig(['--servers', file, '--executable-sha256', 'a'.repeat(64)], {}), (error: Error & { code?: string }) => error.code === 'SIDECAR_ERR_CONFIG_INVALID');
    const bad = serversFile('servers:\n  - name: fs\n    command: node a.js; rm -rf /\n');
    await assert.rejects(loadConfig(['--servers', bad], {}), (error: Error & { code?: string }) => error.code === 'SIDECAR_ERR_CONFIG_INVALID' && error.message.includes(`${bad}:3:14: servers[0].command:`));
    await assert.rejects(loadConfig(['--servers', join(tempDir('servers-config'), 'missing.yaml')], {}), (error: Error & { code?: string }) => error.code === 'SIDECAR_ERR_CONFIG_INVALID' && /missing\.yaml/.test(error.message));
  });
});
