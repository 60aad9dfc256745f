import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runPolicyValidate } from '../../../components/policy/document/index.js';

async function run(files: string[], compile?: Parameters<typeof runPolicyValidate>[2]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runPolicyValidate(files, { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } }, compile);
  return { code, stdout, stderr };
}

describe('runPolicyValidate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-validate-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const good = write('good.yaml', 'apiVersion: mcp-sidecar/v1\nkind: Policy\nmetadata: { name: readonly, revision: 3 }\nrules:\n  - { id: a, hide: { tools: [x] } }\n  - { id: b, tools: { deny: [y] } }\n');
  const one = write('one.yaml', 'apiVersion: mcp-sidecar/v1\nkind: Policy\nmetadata: { name: single, revision: r1 }\nrules: [{ id: a, hide: { tools: [x] } }]\n');
  const bad = write('bad.yaml', 'apiVersion: mcp-sidecar/v1\nkind: Policy\nmetadata: { name: p, revision: 1 }\nmode: block\nrulez: []\n');

  it('should print ok with name, revision and rule count for each valid file, and exit 0', async () => {
    assert.deepEqual((await run([good, one])), {
      code: 0,
      stdout: `ok ${good} (readonly revision 3, 2 rules)\nok ${one} (single revision r1, 1 rule)\n`,
      stderr: '',
    });
  });

  it('should print every error of an invalid file on stderr as file:line:col: path: message, and exit 1', async () => {
    assert.deepEqual((await run([good, bad])), {
      code: 1,
      stdout: `ok ${good} (readonly revision 3, 2 rules)\n`,
      stderr: `${bad}:4:7: mode: expected one of: "observe", "enforce", found "block"\n`
        + `${bad}:5:1: rulez: unknown key "rulez" (expected one of: apiVersion, kind, metadata, mode, governor, limits, rules)\n`,
    });
  });

  it('should report a file that cannot be read, and go on with the others', async () => {
    const missing = join(dir, 'missing.yaml');
    const result = (await run([missing, good]));
    assert.equal(result.code, 1);
    assert.equal(result.stdout, `ok ${good} (readonly revision 3, 2 rules)\n`);
    assert.equal(result.stderr, `${missing}: cannot read the file: ENOENT: no such file or directory, open '${missing}'\n`);
  });

  it('should exit 2 when no file is given', async () => {
    const result = (await run([]));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /give at least one policy file/);
  });

  it('should also refuse, through the engine\'s compile step, what the schema lets through but no rule can compile', async () => {
    const file = write('uncompilable.yaml', 'apiVersion: mcp-sidecar/v1\nkind: Policy\nmetadata: { name: p, revision: 1 }\nrules:\n  - { id: r, redact: { detectors: all, patterns: [{ name: empty, pattern: "x*" }] } }\n');
    const compile = () => {
      throw Object.assign(new Error(`${file}: rule "r": pattern "empty" matches the empty string`), { code: 'SIDECAR_ERR_POLICY_INVALID' });
    };
    const result = await run([file], compile);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /matches the empty string/);
  });
});
