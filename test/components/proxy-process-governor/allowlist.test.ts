import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { checkLaunch, parseCommandLine, resolveExecutable, type AllowRule } from '../../../components/proxy-process-governor/index.js';

const cwd = resolve('.');
const PATH = process.env.PATH!;
const node = resolveExecutable('node', PATH, cwd)!;

// A directory of impostors: `nodejs` and a `node` that is not the real one.
const evilDir = mkdtempSync(join(tmpdir(), 'allowlist-'));
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
