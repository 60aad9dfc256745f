// The servers file (--servers): a valid file read with its defaults, and each way a file is
// wrong reported at the line and column that causes it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseServersText, ServersFileInvalidError } from '../../../components/gateway/index.js';

function errorsOf(text: string): string[] {
  try {
    parseServersText(text, 'servers.yaml');
  } catch (error) {
    assert.ok(error instanceof ServersFileInvalidError, String(error));
    assert.equal(error.code, 'SIDECAR_ERR_CONFIG_INVALID');
    return error.errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`);
  }
  assert.fail('the file was accepted');
}

describe('the servers file', () => {
  it('should read every field, with the separator defaulting to "."', () => {
    const file = parseServersText([
      'servers:',
      '  - name: fs',
      '    command: npx -y @modelcontextprotocol/server-filesystem "/srv/my data"',
      '    env: { ROOT: /srv }',
      '    passEnv: [HOME_DIR, AWS_*]',
      '    serverUser: mcp-fs',
      '    warm: 2',
      '    timeouts: { requestMs: 5000, killMs: 1000 }',
      '    restart: { maxRestarts: 3, backoffMs: 100, backoffMaxMs: 2000 }',
      '  - name: http_1',
      '    command: node demo/server.js',
    ].join('\n'), 'servers.yaml');
    assert.equal(file.separator, '.');
    assert.equal(file.servers.length, 2);
    assert.deepEqual(file.servers[0], {
      name: 'fs', command: 'npx -y @modelcontextprotocol/server-filesystem "/srv/my data"', env: { ROOT: '/srv' }, passEnv: ['HOME_DIR', 'AWS_*'], serverUser: 'mcp-fs', warm: 2,
      timeouts: { requestMs: 5000, killMs: 1000 }, restart: { maxRestarts: 3, backoffMs: 100, backoffMaxMs: 2000 },
    });
    assert.deepEqual(file.servers[1], { name: 'http_1', command: 'node demo/server.js' });
    assert.ok(Object.isFrozen(file.servers[0]), 'frozen all the way down');
    assert.equal(parseServersText('separator: __\nservers: [{ name: a, command: x }]', 's.yaml').separator, '__');
  });

  it('should report each invalid field at its line and column, all in one pass', () => {
    assert.deepEqual(errorsOf([
      'servers:',
      '  - name: fs',
      '    command: x',
      '    warm: -1',
      '    restart: { maxRestarts: 1000 }',
      '    colour: blue',
      '  - command: y',
      '    timeouts: { killMs: "soon" }',
    ].join('\n')), [
      '4:11 servers[0].warm: expected a whole number ≥ 0, found the number -1',
      '5:29 servers[0].restart.maxRestarts: expected a whole number ≤ 100, found the number 1000',
      '6:5 servers[0].colour: unknown key "colour" (expected one of: name, command, env, passEnv, serverUser, warm, timeouts, restart)',
      '7:5 servers[1].name: required key is missing (expected a string)',
      '8:25 servers[1].timeouts.killMs: expected a number, found "soon"',
    ]);
  });

  it('should refuse YAML errors, a duplicate key, an empty file and an empty list at their place', () => {
    assert.match(errorsOf('servers:\n  - name: fs\n    name: gs\n    command: x')[0]!, /^3:5 : duplicate key "name"/);
    assert.match(errorsOf('servers: [ { name: fs')[0]!, /^1:\d+ : invalid YAML/);
    assert.deepEqual(errorsOf(''), ['1:1 : expected a servers file (a mapping with a `servers:` list), found an empty file']);
    assert.deepEqual(errorsOf('servers: []'), ['1:10 servers: expected a non-empty list, found an empty list']);
  });

  it('should refuse two services with one name, naming the first', () => {
    assert.deepEqual(errorsOf('servers:\n  - name: fs\n    command: x\n  - name: fs\n    command: y'), [
      '4:11 servers[1].name: duplicate name "fs" (servers[0] has it): each namespace names one service',
    ]);
  });

  it('should refuse a name that is not a valid tool-name prefix, or that holds the separator', () => {
    const [space] = errorsOf('servers:\n  - name: my fs\n    command: x');
    assert.match(space!, /^2:11 servers\[0\]\.name: expected a namespace/);
    assert.match(errorsOf('servers:\n  - name: "-fs"\n    command: x')[0]!, /^2:11 .*expected a namespace/);
    assert.match(errorsOf(`servers:\n  - name: ${'a'.repeat(65)}\n    command: x`)[0]!, /^2:11 .*expected a namespace/);
    assert.deepEqual(errorsOf('servers:\n  - name: fs.v2\n    command: x'), [
      '2:11 servers[0].name: expected a namespace without the separator ".", found "fs.v2": its tool names could not be routed',
    ]);
    assert.equal(parseServersText('separator: _\nservers:\n  - name: fs.v2\n    command: x', 's.yaml').servers[0]!.name, 'fs.v2');
    assert.match(errorsOf('separator: "/"\nservers: [{ name: a, command: x }]')[0]!, /^1:12 separator: expected a separator/);
  });

  it('should refuse a command with shell syntax, at the command', () => {
    assert.deepEqual(errorsOf('servers:\n  - name: fs\n    command: node server.js | tee log'), [
      '3:14 servers[0].command: The server command uses shell syntax, and no shell is ever used to start it: "node server.js | tee log" contains the shell operator \'|\' at character 16',
    ]);
    assert.match(errorsOf('servers:\n  - name: fs\n    command: node $(whoami).js')[0]!, /^3:14 servers\[0\]\.command: .*shell operator '\$\('/);
    assert.match(errorsOf('servers:\n  - name: fs\n    command: ""')[0]!, /^3:14 servers\[0\]\.command: expected a non-empty string/);
  });
});
