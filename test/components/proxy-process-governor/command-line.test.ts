import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommandLine } from '../../../components/proxy-process-governor/index.js';

describe('parseCommandLine', () => {
  const cases: Array<[string, string[]]> = [
    ['node server.js', ['node', 'server.js']],
    ['  node   server.js  --flag  ', ['node', 'server.js', '--flag']],
    [`node "my server.js" 'a b'`, ['node', 'my server.js', 'a b']],
    [`npx -y @modelcontextprotocol/server-everything stdio`, ['npx', '-y', '@modelcontextprotocol/server-everything', 'stdio']],
    [`node server.js --json '{"a":1}'`, ['node', 'server.js', '--json', '{"a":1}']],
    [`node a\\ b.js`, ['node', 'a b.js']],
    [`node "say \\"hi\\"" 'it''s'`, ['node', 'say "hi"', 'its']],
    [`node x.js 'a;b|c&&d>e$(f)\`g\`'`, ['node', 'x.js', 'a;b|c&&d>e$(f)`g`']],
    [`node x.js ""`, ['node', 'x.js', '']],
    [`node x.js --price=5$`, ['node', 'x.js', '--price=5$']],
    [`node x.js a#b`, ['node', 'x.js', 'a#b']],
  ];
  for (const [command, argv] of cases) {
    it(`should split ${command}`, () => assert.deepEqual(parseCommandLine(command), argv));
  }

  const refused: Array<[string, string]> = [
    ['node a.js; rm -rf /', ';'],
    ['node a.js | tee log', '|'],
    ['node a.js && echo done', '&&'],
    ['node a.js || true', '||'],
    ['node a.js &', '&'],
    ['node a.js > out.txt', '>'],
    ['node a.js >> out.txt', '>>'],
    ['node a.js < in.txt', '<'],
    ['node a.js 2>&1', '>'],
    ['node $(which x)', '$('],
    ['node `which x`', '`'],
    ['node "$(which x)"', '$('],
    ['node "`id`"', '`'],
    ['node $HOME/x.js', '$H'],
    ['node ${HOME}/x.js', '${'],
    ['node "$HOME"', '$H'],
    ['(node a.js)', '('],
    ['node a.js # comment', '#'],
    ['node a.js\nrm x', 'newline'],
  ];
  for (const [command, operator] of refused) {
    it(`should refuse ${JSON.stringify(command)} naming '${operator}'`, () => {
      assert.throws(() => parseCommandLine(command), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'SIDECAR_ERR_COMMAND_SHELL_SYNTAX');
        assert.match(error.message, new RegExp(`'${operator.replace(/[$()|*+?[\]{}\\]/g, '\\$&')}`));
        assert.match(error.message, /shell/);
        return true;
      });
    });
  }

  for (const command of ['', '   ', `node 'open`, 'node "open', 'node x\\']) {
    it(`should refuse the unparseable ${JSON.stringify(command)}`, () => {
      assert.throws(() => parseCommandLine(command), { code: 'SIDECAR_ERR_COMMAND_INVALID' });
    });
  }
});
