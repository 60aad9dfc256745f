import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { checkLaunch, parseCommandLine, resolveExecutable, type AllowRule } from '../../../components/proxy-process-governor/index.js';
import { tempDir } from '../../helpers/temp-dir.js';

const cwd = resolve('.');
const PATH = process.env.PATH!;
const node = resolveExecutable('node', PATH, cwd)!;

// A directory of impostors: `nodejs` and a `node` that is not the real one.
const evilDir = tempDir('allowlist');
for (const name of ['node', 'nodejs']) {
  writeFileSync(join(evilDir, name), '#!/bin/sh\nexit 0\n');
  chmodSync(join(evilDir, name), 0o755);
}

const rules = (...prefixes: string[]): AllowRule[] => prefixes.map((prefix, i) => ({ prefix, source: `--allow #${i + 1}` }));
const check = (command: string, allow: AllowRule[], pathVariable = `${PATH}:${evilDir}`) =>
  checkLaunch(parseCommandLine(command), allow, { cwd, pathVariable });

describe('checkLaunch', () => {
  const table: Array<[command: string, prefixes: string[], allowed: boolean, why?: RegExp]> = [
    ['node demo/mcp-middleware-platform/simple-mcp-server.js', ['node demo/'], true],
    ['node ./demo/x.js', ['node demo/'], true],
    [`node ${cwd}/demo/x.js`, ['node demo/'], true],
    [`${node} demo/x.js`, ['node demo/'], true],
    ['node demo/x.js --verbose extra args', ['node demo/'], true],
    ['node demo/../../etc/x.js', ['node demo/'], false, /argument 1 "demo\/..\/..\/etc\/x.js" \(.*\/etc\/x.js\) does not match "demo\/"/],
    ['node demo/../cli.js', ['node demo/'], false, /does not match "demo\/"/],
    ['node demo-evil/x.js', ['node demo/'], false, /does not match/],
    ['node demo', ['node demo/'], false, /does not match/],
    ['node', ['node demo/'], false, /argument 1 is missing/],
    ['node --require ./evil.js demo/x.js', ['node demo/'], false, /argument 1 "--require"/],
    ['nodejs demo/x.js', ['node demo/'], false, /executable .*nodejs is not .*node/],
    ['node demo/x.js', ['nodejs demo/'], false, /is not/],
    ['npx -y @modelcontextprotocol/server-everything stdio', ['npx -y @modelcontextprotocol/server-'], true],
    ['npx @modelcontextprotocol/server-everything', ['npx -y @modelcontextprotocol/server-'], false, /argument 1/],
    ['npx -y @modelcontextprotocol/server-x/../../../evil', ['npx -y @modelcontextprotocol/server-'], false, /does not match/],
    ['npx -y @evil/server-x', ['npx -y @modelcontextprotocol/server-'], false, /does not match/],
    ['node "my dir/x.js"', ['node "my dir/"'], true],
    ['node demo/x.js', ['python3 demo/', 'node demo/'], true],
    ['node stdio', ['node std'], false, /does not match "std"/],
  ];
  for (const [command, prefixes, allowed, why] of table) {
    it(`should ${allowed ? 'allow' : 'refuse'} ${JSON.stringify(command)} under ${JSON.stringify(prefixes)}`, () => {
      const decision = check(command, rules(...prefixes));
      assert.equal(decision.allowed, allowed, decision.allowed ? 'allowed' : decision.message);
      if (decision.allowed) {
        assert.match(decision.executable, /^\//, 'spawned by absolute path');
      } else {
        assert.equal(decision.reason, 'no_rule_matches');
        assert.ok(decision.message.startsWith(`refused to start ${command}:`), decision.message);
        for (const prefix of prefixes) assert.ok(decision.message.includes(JSON.stringify(prefix)), `names the rule ${prefix}`);
        if (why) assert.match(decision.message, why);
        assert.match(decision.message, /--allow/);
      }
    });
  }

  it('should resolve the executable through PATH, so an impostor earlier on PATH does not match a pinned path', () => {
    const decision = check('node demo/x.js', rules(`${node} demo/`), `${evilDir}:${PATH}`);
    assert.equal(decision.allowed, false);
    assert.match((decision as { message: string }).message, new RegExp(`${evilDir}/node is not ${node}`));
  });

  it('should refuse everything when the allowlist is empty, saying how to allow', () => {
    const decision = check('node demo/x.js', []);
    assert.deepEqual([decision.allowed, (decision as { reason: string }).reason], [false, 'allowlist_empty']);
    assert.match((decision as { message: string }).message, /allowlist is empty.*--allow.*MCP_PROXY_ALLOWED_PREFIXES/);
  });

  it('should say when the executable does not exist', () => {
    const decision = check('no-such-mcp-server --stdio', rules('no-such-mcp-server'));
    assert.deepEqual([decision.allowed, (decision as { reason: string }).reason], [false, 'not_found']);
  });

  it('should check a pinned sha256 of the executable', () => {
    const digest = createHash('sha256').update(readFileSync(node)).digest('hex');
    const ok = checkLaunch(['node', 'demo/x.js'], rules('node demo/'), { cwd, pathVariable: PATH, executableSha256: digest });
    assert.equal(ok.allowed, true);
    const bad = checkLaunch(['node', 'demo/x.js'], rules('node demo/'), { cwd, pathVariable: PATH, executableSha256: '0'.repeat(64) });
    assert.deepEqual([bad.allowed, (bad as { reason: string }).reason], [false, 'digest_mismatch']);
  });
});

// The holes an attacker found, each with real files: a path rule matched as a string prefix,
// a symlink out of an allowed folder, and a `node` planted where a relative PATH entry finds it.
describe('checkLaunch with real files', () => {
  const base = realpathSync(tempDir('allowlist-files'));
  const file = (path: string, text = '// a script\n'): void => {
    mkdirSync(dirname(join(base, path)), { recursive: true });
    writeFileSync(join(base, path), text);
  };
  for (const path of ['app/server.js', 'app/server.js.evil.js', 'srv/app/x.js', 'srv/app-evil/x.js', 'srv/app.js.evil.js', 'allowed/ok.js', 'outside/evil.js']) file(path);
  symlinkSync(join(base, 'outside/evil.js'), join(base, 'allowed/link.js'));
  symlinkSync('../outside', join(base, 'allowed/sub'));
  symlinkSync(join(base, 'outside/not-yet.js'), join(base, 'allowed/dangling.js'));
  symlinkSync('ok.js', join(base, 'allowed/inner-link.js'));
  symlinkSync('allowed', join(base, 'linkdir'));
  // Impostors a relative PATH entry would find: ./node and bin/node.
  for (const path of ['node', 'bin/node']) {
    file(path, '#!/bin/sh\ntouch "$(dirname "$0")/impostor-ran"\n');
    chmodSync(join(base, path), 0o755);
  }
  const nodeDir = dirname(node);
  const inBase = (command: string, prefixes: string[], pathVariable = PATH) => checkLaunch(parseCommandLine(command), rules(...prefixes), { cwd: base, pathVariable });

  const table: Array<[command: string, prefixes: string[], allowed: boolean, why?: RegExp]> = [
    // A path token naming a file admits only that file.
    ['node app/server.js', ['node app/server.js'], true],
    ['node ./app/../app/server.js --flag', ['node app/server.js'], true],
    ['node app/server.js.evil.js', ['node app/server.js'], false, /\/app\/server.js is a file, which admits only itself/],
    ['node app/server.js/x.js', ['node app/server.js'], false, /is a file, which admits only itself/],
    // A folder without a trailing slash admits itself and what is under it, at a `/` boundary.
    ['node srv/app', ['node srv/app'], true],
    ['node srv/app/x.js', ['node srv/app'], true],
    ['node srv/app-evil/x.js', ['node srv/app'], false, /argument 1 "srv\/app-evil\/x.js" \(.*\/srv\/app-evil\/x.js\) does not match "srv\/app" \(.*\/srv\/app\); only .*\/srv\/app and paths under .*\/srv\/app\/ match/],
    ['node srv/app.js.evil.js', ['node srv/app'], false, /only .*\/srv\/app and paths under/],
    ['node srv/app-evil/x.js', ['node srv/app/'], false, /only paths under .*\/srv\/app\/ match/],
    // Symlinks are followed, in the argument and in the rule.
    ['node allowed/ok.js', ['node allowed/'], true],
    ['node allowed/inner-link.js', ['node allowed/'], true],
    ['node allowed/link.js', ['node allowed/'], false, /"allowed\/link.js" \(.*\/allowed\/link.js, which resolves through a symlink to .*\/outside\/evil.js\) does not match "allowed\/"/],
    ['node allowed/sub/evil.js', ['node allowed/'], false, /which resolves through a symlink to .*\/outside\/evil.js/],
    ['node allowed/sub/missing.js', ['node allowed/'], false, /which resolves through a symlink to .*\/outside\/missing.js/],
    ['node allowed/dangling.js', ['node allowed/'], false, /a symlink whose target does not exist, or a loop\) does not match "allowed\/".*cannot be resolved/],
    ['node allowed/missing.js', ['node allowed/'], true], // compared as named: the server fails on it itself
    ['node allowed/ok.js', ['node linkdir/'], true],
    ['node linkdir/ok.js', ['node allowed/'], true],
    ['node linkdir/link.js', ['node allowed/'], false, /resolves through a symlink to .*\/outside\/evil.js/],
    // Only the last token admits what is under it; others must be the very path.
    ['node srv/app/x.js stdio', ['node srv/app stdio'], false, /must be that very path/],
    // npm scoped names are names, never paths.
    ['npx -y @modelcontextprotocol/server-everything@2.0.0', ['npx -y @modelcontextprotocol/server-'], true],
    ['npx -y @scope/server@10', ['npx -y @scope/server@1'], false, /does not match "@scope\/server@1"/],
    ['npx -y ./@modelcontextprotocol/server-x', ['npx -y @modelcontextprotocol/server-'], false, /does not match/],
  ];
  for (const [command, prefixes, allowed, why] of table) {
    it(`should ${allowed ? 'allow' : 'refuse'} ${JSON.stringify(command)} under ${JSON.stringify(prefixes)}`, () => {
      const decision = inBase(command, prefixes);
      assert.equal(decision.allowed, allowed, decision.allowed ? 'allowed' : decision.message);
      if (!decision.allowed) {
        assert.equal(decision.reason, 'no_rule_matches');
        if (why) assert.match(decision.message, why);
      }
    });
  }

  it('should never resolve the executable through a relative or empty PATH entry', () => {
    for (const pathVariable of [`.:${nodeDir}`, `bin:${nodeDir}`, `:${nodeDir}`, `${nodeDir}::.`]) {
      assert.equal(resolveExecutable('node', pathVariable, base), node, pathVariable);
      const decision = inBase('node app/server.js', ['node app/'], pathVariable);
      assert.deepEqual(decision.allowed && decision.executable, node, pathVariable);
    }
  });

  it('should say that relative PATH entries are not searched when nothing else has the executable', () => {
    const decision = inBase('node app/server.js', ['node app/'], '.:bin');
    assert.equal(decision.allowed, false);
    assert.equal((decision as { reason: string }).reason, 'not_found');
    assert.equal((decision as { message: string }).message,
      'cannot start node app/server.js: "node" is not an executable file on PATH (relative and empty PATH entries are never searched: ".", "bin"; name the file by its path to run it)');
  });

  it('should run a file named by its path only when a rule names that path', () => {
    assert.equal(inBase('./node app/server.js', ['node app/']).allowed, false);
    const decision = inBase('./node app/server.js', ['./node app/']);
    assert.deepEqual(decision.allowed && decision.executable, join(base, 'node'));
  });
});
