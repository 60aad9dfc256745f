// A left-out service joins once its restarted server answers, end to end through dist/cli.js: a
// server that fails the client's initialize and then crashes (test/fixtures/gateway-flaky-init-server.mjs)
// beside one that answers (gateway-paging-server.mjs). The gateway answers the client without it;
// its governor restarts it, session recovery replays the client's initialize, and the new server's
// answer lets it join: the client is told to list tools again, and its namespace answers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT, commandLine } from '../helpers/paths.js';
import { ProxyProcess, type Frame } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { PAGING_FIXTURE, cleanEnv, gatewayArgs } from '../fixtures/gateway-three-servers.js';

const FLAKY = join(ROOT, 'test', 'fixtures', 'gateway-flaky-init-server.mjs');

describe('a left-out service whose server restarts (gateway)', () => {
  it('joins when the restarted server answers the replayed initialize', async () => {
    const dir = tempDir('gateway-rejoin');
    const servers = join(dir, 'servers.yaml');
    writeFileSync(servers, [
      'servers:',
      `  - { name: pages, command: ${JSON.stringify(commandLine([process.execPath, PAGING_FIXTURE]))} }`,
      `  - name: flaky`,
      `    command: ${JSON.stringify(commandLine([process.execPath, FLAKY, join(dir, 'flaky.state')]))}`,
      '    restart: { maxRestarts: 3, backoffMs: 10, backoffMaxMs: 10 }',
      '',
    ].join('\n'));
    const proxy = new ProxyProcess(spawn(process.execPath, gatewayArgs(servers), { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] }));
    after(() => proxy.dispose());
    const next = async (): Promise<Frame> => (await proxy.nextFrame(15_000)).json;

    proxy.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'rejoin', version: '1' } } });
    const init = await next();
    assert.equal(init.id, 1);
    assert.equal(init.result?.capabilities?.tools, undefined, `flaky is left out of the handshake: ${JSON.stringify(init)}`);
    proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });

    // Its server exits, is restarted and answers the replay: the client hears it joined.
    const announced = await next();
    assert.equal(announced.method, 'notifications/tools/list_changed', JSON.stringify(announced));
    proxy.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const list = await next();
    assert.deepEqual((list.result?.tools as Array<{ name: string }>).map((tool) => tool.name), ['flaky.hello'], JSON.stringify(list));
    proxy.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'flaky.hello', arguments: {} } });
    const called = await next();
    assert.equal(called.result?.content?.[0]?.text, 'hello again', JSON.stringify(called));

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    proxy.assertStdoutClean();
    assert.ok(proxy.logs().some((record) => record['service'] === 'flaky' && /it joins/.test(String(record['msg']))), 'the join is logged');
  });
});
