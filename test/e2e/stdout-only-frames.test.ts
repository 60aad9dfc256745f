// In --stdio mode stdout carries only JSON-RPC frames. cli.ts writes to stdout itself in two
// places only, the usage (--help) and the version (--version), and both return before anything
// is proxied: even given with --stdio and a server command, they start no server and print only
// what they print alone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CLI, commandLine, ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp-dir.js';

const INITIALIZE = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } })}\n`;

describe('stdout in --stdio mode', () => {
  const dir = tempDir('stdout-only-frames');
  // A server that leaves a mark when it starts.
  const server = join(dir, 'marks.js');
  const marker = join(dir, 'started');
  writeFileSync(server, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'started');\n`);
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', input: INITIALIZE, timeout: 15_000 });
  const proxying = ['--stdio', '--proxy', commandLine([process.execPath, server]), '--allow', commandLine([process.execPath, `${dir}/`])];

  for (const flag of ['--help', '--version']) {
    test(`${flag} given with --stdio and a server command prints only what it prints alone, and starts no server`, () => {
      const alone = run([flag]);
      assert.equal(alone.status, 0, alone.stderr);
      assert.ok(alone.stdout.length > 0);
      for (const args of [[...proxying, flag], [flag, ...proxying]]) {
        const result = run(args);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.stdout, alone.stdout, 'nothing else on stdout');
        assert.equal(result.stderr, '', 'no log line: nothing was started');
        assert.equal(existsSync(marker), false, 'the server never started');
      }
    });
  }

  test('the same arguments without them do start the server (the mark above means something)', () => {
    run(proxying);
    assert.equal(existsSync(marker), true);
  });
});
