// The gateway end to end, when one of its three real servers fails: server-memory is killed
// under a call (that call gets the retryable error; a call in flight at server-everything and one
// to server-filesystem are unaffected; the memory namespace answers again once its governor
// restarted it, its graph kept in its file); and the gateway's own refusals on the wire (a cursor
// it did not issue, a method it does not route). Frames are read raw, by id: answers from
// different servers come in any order.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type Frame, type LogRecord } from '../helpers/proxy-process.js';
import { GatewayChild, pauseServer, threeServers } from '../fixtures/gateway-three-servers.js';

/** The gateway as a child, with what these tests read of its logs. */
class Gateway extends GatewayChild {
  /** The log record of a start of `service`'s server (the first, or the first whose pid `which` accepts). */
  startedServer(service: string, which: (pid: number | undefined) => boolean = () => true): Promise<LogRecord> {
    return this.proxy.waitForLog((r) => r.msg === 'started the MCP server' && (r as { service?: string }).service === service && which(r.pid), 10_000);
  }

  /** The pids the governor of `service` started its server under, in order. */
  serverPids(service: string): number[] {
    return this.proxy.logs().filter((r) => r.msg === 'started the MCP server' && (r as { service?: string }).service === service).map((r) => r.pid!);
  }
}

function text(frame: Frame): string {
  assert.ok(frame.result !== undefined, `a result: ${JSON.stringify(frame)}`);
  return frame.result.content[0].text as string;
}

describe('the gateway when one of three real servers fails', () => {
  test('a server killed under a call fails that call only (retryable), the others go on, and its namespace recovers', async () => {
    const servers = threeServers({ memoryRestart: '{ maxRestarts: 3, backoffMs: 0 }' });
    const gateway = new Gateway(servers.serversFile);
    after(() => gateway.proxy.dispose());
    assert.ok((await gateway.initialize('gateway-failures')).result?.capabilities?.tools !== undefined);

    const created = await gateway.request('tools/call', { name: 'memory.create_entities', arguments: { entities: [{ name: 'Ada', entityType: 'person', observations: ['wrote the first program'] }] } });
    assert.deepEqual(created.result?.structuredContent?.entities?.map((e: { name: string }) => e.name), ['Ada'], JSON.stringify(created));
    const running = gateway.send('tools/call', { name: 'everything.trigger-long-running-operation', arguments: { duration: 1, steps: 2 } });
    const memoryPid = (await gateway.startedServer('memory')).pid;
    assert.equal(typeof memoryPid, 'number', 'the memory service\'s server pid is logged');
    // server-memory answers at once: stopped, it holds the call in its pipe, in flight at the gateway, until it is killed.
    await pauseServer(memoryPid!);
    const underKill = gateway.send('tools/call', { name: 'memory.read_graph', arguments: {} });
    await gateway.proxy.waitForLog((r) => r.msg === 'a call was forwarded to its service' && r['service'] === 'memory' && r['clientId'] === String(underKill.id), 10_000);
    process.kill(memoryPid!, 'SIGKILL');

    const failed = await underKill.answer;
    assert.equal(failed.id, underKill.id);
    assert.equal(failed.error?.code, -32003, `the killed server's call gets SIDECAR_ERR_UPSTREAM_EXITED: ${JSON.stringify(failed)}`);
    assert.equal(failed.error?.data?.retryable, true, JSON.stringify(failed.error));
    assert.match(failed.error!.message + JSON.stringify(failed.error?.data ?? {}), /memory/, 'the error names the service');

    // The other namespaces are unaffected: a call in flight during the kill, and a new one.
    assert.equal(text(await gateway.request('tools/call', { name: 'fs.read_text_file', arguments: { path: `${servers.dataDir}/hello.txt` } })), 'hello from the filesystem\n');
    assert.equal(text(await running.answer), 'Long running operation completed. Duration: 1 seconds, Steps: 2.');

    // The memory namespace answers again: its governor restarted the server and replayed the client's initialize; the graph was kept in its file.
    const graph = await gateway.request('tools/call', { name: 'memory.read_graph', arguments: {} });
    assert.deepEqual(graph.result?.structuredContent, { entities: [{ name: 'Ada', entityType: 'person', observations: ['wrote the first program'] }], relations: [] }, JSON.stringify(graph));
    await gateway.startedServer('memory', (pid) => pid !== memoryPid);
    const pids = gateway.serverPids('memory');
    assert.equal(pids.length, 2, `the memory server was started twice: ${pids.join(', ')}`);
    assert.equal(gateway.serverPids('everything').length, 1, 'server-everything was not restarted');
    assert.equal(gateway.serverPids('fs').length, 1, 'server-filesystem was not restarted');
    assert.ok(((await gateway.request('tools/list')).result.tools as Array<{ name: string }>).some((tool) => tool.name === 'memory.read_graph'), 'its tools are listed again');

    gateway.proxy.endInput();
    assert.deepEqual(await gateway.proxy.waitForExit(), { code: 0, signal: null });
    gateway.proxy.assertStdoutClean();
  });

  test('the gateway refuses a cursor it did not issue, a cursor for another list, and a method it does not route', async () => {
    const gateway = new Gateway(threeServers({ paging: true }).serversFile);
    after(() => gateway.proxy.dispose());
    await gateway.initialize('gateway-failures');
    const first = await gateway.request('resources/list');
    const cursor = first.result.nextCursor as string;
    assert.equal(typeof cursor, 'string', 'the paging server has more: the gateway issues a cursor');
    const next = await gateway.request('resources/list', { cursor });
    assert.deepEqual(next.result.resources.map((r: { uri: string }) => r.uri), Array.from({ length: 10 }, (_, i) => `page://note/${i + 11}`), 'the next page asks only the service that had more');
    const forged = `${cursor.slice(0, -2)}${cursor.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const [params, method] of [[{ cursor: forged }, 'resources/list'], [{ cursor }, 'tools/list'], [{ cursor: '11' }, 'resources/list'], [{ cursor: 'pages:11' }, 'resources/list']] as const) {
      const refused = await gateway.request(method, params);
      assert.equal(refused.error?.code, -32602, `${method} ${JSON.stringify(params)}: ${JSON.stringify(refused)}`);
    }
    const unrouted = await gateway.request('tasks/list');
    assert.equal(unrouted.error?.code, -32601, JSON.stringify(unrouted));
    gateway.proxy.endInput();
    assert.deepEqual(await gateway.proxy.waitForExit(), { code: 0, signal: null });
  });
});
