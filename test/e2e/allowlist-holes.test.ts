// The allowlist holes an attacker found, closed, through the built CLI with real files: a path
// rule matched as a string prefix, a symlink out of an allowed folder, and a `node` impostor in
// the working directory reached through a relative PATH entry. Each refusal exits 78 (69 for an
// executable not found), names why, and runs nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CLI } from '../helpers/paths.js';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'allowlist-e2e-')));
after(() => rmSync(base, { recursive: true, force: true }));
const marker = (name: string): string => join(base, `${name}-ran`);

// A script that, if it ever runs, leaves a marker; and a one-request server that says which node ran it.
const evil = (name: string): string => `require('node:fs').writeFileSync(${JSON.stringify(marker(name))}, 'ran');\n`;
const SERVER = `let buffer = '';
process.stdin.setEncoding('utf8').on('data', (chunk) => {
  buffer += chunk;
  for (let i; (i = buffer.indexOf('\\n')) >= 0; buffer = buffer.slice(i + 1)) {
    const message = JSON.parse(buffer.slice(0, i));
    if (message.id !== undefined) process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { execPath: process.execPath } }) + '\\n');
  }
});
`;
function write(path: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(join(base, path)), { recursive: true });
  writeFileSync(join(base, path), text, { mode });
}
write('app/server.js', SERVER);
write('app/server.js.evil.js', evil('suffix'));
write('srv/app/server.js', SERVER);
write('srv/app-evil/x.js', evil('sibling'));
write('allowed/server.js', SERVER);
write('outside/evil.js', evil('symlink'));
symlinkSync(join(base, 'outside/evil.js'), join(base, 'allowed/link.js'));
symlinkSync('../outside', join(base, 'allowed/sub'));
// The impostor: `node` in the working directory.
write('node', `#!/bin/sh\ntouch ${JSON.stringify(marker('impostor'))}\n`, 0o755);
chmodSync(join(base, 'node'), 0o755);

const REQUEST = '{"jsonrpc":"2.0","id":1,"method":"ping"}\n';
const nodeDir = dirname(process.execPath);
function proxy(command: string, allow: string, pathVariable = nodeDir) {
  return spawnSync(process.execPath, [CLI, '--proxy', command, '--allow', allow, '--stdio', '--log-level', 'error'], {
    cwd: base, encoding: 'utf8', input: REQUEST, env: { PATH: pathVariable }, timeout: 15_000,
  });
}

describe('path rules match at a "/" boundary or exactly', () => {
  test('a rule naming a file admits that file, not a longer name that starts with it', () => {
    assert.equal(proxy('node app/server.js', 'node app/server.js').status, 0);
    const result = proxy('node app/server.js.evil.js', 'node app/server.js');
    assert.equal(result.status, 78);
    assert.match(result.stderr, new RegExp(`refused to start node app/server.js.evil.js: no allow rule matches: rule "node app/server.js" \\(--allow #1\\): argument 1 "app/server.js.evil.js" \\(${base}/app/server.js.evil.js\\) does not match "app/server.js" \\(${base}/app/server.js\\); ${base}/app/server.js is a file, which admits only itself`));
    assert.equal(existsSync(marker('suffix')), false);
  });

  test('a rule naming a folder admits what is under it, not a sibling whose name starts with it', () => {
    const ok = proxy(`node ${base}/srv/app/server.js`, `node ${base}/srv/app`);
    assert.equal(ok.status, 0, ok.stderr);
    const result = proxy(`node ${base}/srv/app-evil/x.js`, `node ${base}/srv/app`);
    assert.equal(result.status, 78);
    assert.match(result.stderr, new RegExp(`does not match "${base}/srv/app"; only ${base}/srv/app and paths under ${base}/srv/app/ match`));
    assert.equal(existsSync(marker('sibling')), false);
  });
});

describe('script paths are compared where their symlinks lead', () => {
  test('a link in the allowed folder to a script outside it is refused, naming where it leads', () => {
    const result = proxy('node allowed/link.js', 'node allowed/');
    assert.equal(result.status, 78);
    assert.match(result.stderr, new RegExp(`argument 1 "allowed/link.js" \\(${base}/allowed/link.js, which resolves through a symlink to ${base}/outside/evil.js\\) does not match "allowed/" \\(${base}/allowed/\\)`));
    assert.equal(existsSync(marker('symlink')), false);
  });

  test('so is a script under a linked folder', () => {
    const result = proxy('node allowed/sub/evil.js', 'node allowed/');
    assert.equal(result.status, 78);
    assert.match(result.stderr, /which resolves through a symlink to .*\/outside\/evil.js/);
    assert.equal(existsSync(marker('symlink')), false);
  });

  test('a real script in the allowed folder runs', () => {
    const result = proxy('node allowed/server.js', 'node allowed/');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).result.execPath, process.execPath);
  });
});

describe('relative and empty PATH entries never resolve the executable', () => {
  test('with PATH=".:<node\'s folder>" the real node runs, never ./node', () => {
    for (const pathVariable of [`.:${nodeDir}`, `:${nodeDir}`]) {
      const result = proxy('node allowed/server.js', 'node allowed/', pathVariable);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(JSON.parse(result.stdout).result.execPath, process.execPath, pathVariable);
      assert.equal(existsSync(marker('impostor')), false, pathVariable);
    }
  });

  test('with only relative entries, node is not found, and the message says why ./node was not taken', () => {
    const result = proxy('node allowed/server.js', 'node allowed/', '.');
    assert.equal(result.status, 69);
    assert.match(result.stderr, /cannot start node allowed\/server.js: "node" is not an executable file on PATH \(relative and empty PATH entries are never searched: "\."; name the file by its path to run it\)/);
    assert.equal(existsSync(marker('impostor')), false);
  });
});
