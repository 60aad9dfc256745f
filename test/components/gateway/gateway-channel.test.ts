import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertEnvelopesTrue, harness, initialize, INIT_PARAMS, type Json } from './gateway-harness.js';

describe('gateway channel: initialize', () => {
  it('should send the client\'s initialize to every service under its own id and answer once with the merge', () => {
    const h = harness();
    h.fromClient({ jsonrpc: '2.0', id: 0, method: 'initialize', params: INIT_PARAMS });
    const [fs, web] = [h.lastSentTo('fs'), h.lastSentTo('web')];
    assert.deepEqual(fs['params'], INIT_PARAMS);
    assert.deepEqual(web['params'], INIT_PARAMS);
    assert.notEqual(fs['id'], web['id']);
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: fs['id'], result: { protocolVersion: '2025-06-18', capabilities: { tools: { listChanged: false }, resources: { subscribe: true } }, serverInfo: { name: 'fs', version: '1' }, instructions: 'Reads files.' } }));
    assert.equal(h.toClient.length, 0, 'no answer before every service answered');
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: web['id'], result: { protocolVersion: '2025-06-18', capabilities: { tools: { listChanged: true }, logging: {} }, serverInfo: { name: 'web', version: '2' }, instructions: 'Fetches pages.' } }));
    assert.equal(h.toClient.length, 1);
    const answer = h.clientMessages()[0]!;
    assert.equal(answer['id'], 0);
    assert.deepEqual(answer['result'], {
      protocolVersion: '2025-06-18',
      capabilities: { tools: { listChanged: true }, resources: { subscribe: true }, logging: {} },
      serverInfo: { name: 'mcp-sidecar-gateway', version: '9.9.9' },
      instructions: '[fs] Reads files.\n\n[web] Fetches pages.',
    });
    assertEnvelopesTrue(h.toClient);
  });

  it('should answer with the oldest version when the services differ, and leave out one that failed initialize', () => {
    const h = harness(['fs', 'web', 'db']);
    const answer = initialize(h, {
      fs: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'fs', version: '1' } },
      web: { protocolVersion: '2025-03-26', capabilities: {}, serverInfo: { name: 'web', version: '1' } },
      db: 'error',
    });
    assert.equal(answer['result']['protocolVersion'], '2025-03-26');
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'db.query', arguments: {} } });
    assert.deepEqual(h.localReplies.map((r) => [r.id, r.code]), [['1', 'SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE']]);
    assert.equal(h.sentTo('db').length, 1, 'only the initialize reached db');
  });

  it('should answer initialize without a service that does not answer within the bound, and leave it out', () => {
    const h = harness(['fs', 'slow'], 1000);
    h.fromClient({ jsonrpc: '2.0', id: 0, method: 'initialize', params: INIT_PARAMS });
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('fs')['id'], result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'fs', version: '1' } } }));
    assert.equal(h.toClient.length, 0);
    h.clock.advance(1000);
    assert.equal(h.toClient.length, 1);
    assert.deepEqual(h.clientMessages()[0]!['result']['capabilities'], { tools: {} });
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'slow.p' } });
    assert.equal(h.localReplies[0]!.code, 'SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE');
    assert.ok(h.sentTo('slow').every((m) => m['method'] === 'initialize'), 'initialize is never cancelled');
  });

  it('should fan notifications/initialized out to every service', () => {
    const h = harness();
    h.fromClient({ jsonrpc: '2.0', method: 'notifications/initialized' });
    assert.equal(h.lastSentTo('fs')['method'], 'notifications/initialized');
    assert.equal(h.lastSentTo('web')['method'], 'notifications/initialized');
  });
});

describe('gateway channel: lists', () => {
  it('should merge the services\' tools with each name under its namespace, in the services\' order', () => {
    const h = harness();
    h.fromClient({ jsonrpc: '2.0', id: 'list-1', method: 'tools/list' });
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('web')['id'], result: { tools: [{ name: 'fetch', inputSchema: { type: 'object' } }] } }));
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('fs')['id'], result: { tools: [{ name: 'read_file', inputSchema: { type: 'object' } }, { name: 'write_file', inputSchema: { type: 'object' } }] } }));
    const answer = h.clientMessages()[0]!;
    assert.equal(answer['id'], 'list-1');
    assert.deepEqual(answer['result']['tools'].map((t: Json) => t['name']), ['fs.read_file', 'fs.write_file', 'web.fetch']);
    assert.equal(answer['result']['nextCursor'], undefined);
    assertEnvelopesTrue(h.toClient);
  });

  it('should leave out, with a warning, a service that fails to list', () => {
    const h = harness();
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'prompts/list' });
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('fs')['id'], error: { code: -32601, message: 'Method not found' } }));
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('web')['id'], result: { prompts: [{ name: 'summarize' }] } }));
    assert.deepEqual(h.clientMessages()[0]!['result'], { prompts: [{ name: 'web.summarize' }] });
    assert.ok(h.logs.entries.some((e) => e['level'] === 40 && e['service'] === 'fs'));
  });

  it('should page across three services with an opaque cursor of its own, and refuse one it did not issue', () => {
    const h = harness(['a', 'b', 'c']);
    const pages: Record<string, string[][]> = { a: [['a1', 'a2'], ['a3']], b: [['b1']], c: [['c1'], ['c2'], ['c3']] };
    const seen: string[] = [];
    let cursor: string | undefined;
    const answered = new Set<unknown>();
    for (let round = 0; round < 10; round++) {
      h.fromClient({ jsonrpc: '2.0', id: 100 + round, method: 'tools/list', ...(cursor === undefined ? {} : { params: { cursor } }) });
      for (const name of ['a', 'b', 'c']) {
        const request = h.sentTo(name).at(-1);
        if (request === undefined || answered.has(request['id'])) continue; // not asked this round
        answered.add(request['id']);
        const own = request['params']?.['cursor'] as string | undefined;
        const page = own === undefined ? 0 : Number(own.slice(`${name}-page-`.length));
        const next = page + 1 < pages[name]!.length ? { nextCursor: `${name}-page-${page + 1}` } : {};
        h.service(name).push(JSON.stringify({ jsonrpc: '2.0', id: request['id'], result: { tools: pages[name]![page]!.map((n) => ({ name: n })), ...next } }));
      }
      const answer = h.clientMessages().at(-1)!;
      assert.equal(answer['id'], 100 + round);
      seen.push(...answer['result']['tools'].map((t: Json) => t['name']));
      cursor = answer['result']['nextCursor'];
      if (cursor === undefined) break;
      assert.doesNotMatch(cursor, /page-/, 'the services\' cursors are not shown as they are');
    }
    assert.deepEqual(seen.sort(), ['a.a1', 'a.a2', 'a.a3', 'b.b1', 'c.c1', 'c.c2', 'c.c3']);
    assert.equal(h.sentTo('b').length, 1, 'a service with no more pages is not asked again');
    h.fromClient({ jsonrpc: '2.0', id: 'forged', method: 'tools/list', params: { cursor: 'a-page-1' } });
    assert.deepEqual(h.localReplies.map((r) => [r.id, r.code]), [['"forged"', 'SIDECAR_ERR_GATEWAY_INVALID_CURSOR']]);
  });

  it('should refuse a tools cursor presented for another list', () => {
    const h = harness(['a']);
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    h.service('a').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('a')['id'], result: { tools: [], nextCursor: 'x' } }));
    const cursor = h.clientMessages()[0]!['result']['nextCursor'] as string;
    h.fromClient({ jsonrpc: '2.0', id: 2, method: 'prompts/list', params: { cursor } });
    assert.equal(h.localReplies[0]!.code, 'SIDECAR_ERR_GATEWAY_INVALID_CURSOR');
    h.fromClient({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: { cursor } });
    assert.equal(h.lastSentTo('a')['params']['cursor'], 'x', 'the service gets its own cursor back');
  });
});

describe('gateway channel: routing', () => {
  it('should route a tool call by its prefix, strip it, and keep every other byte', () => {
    const h = harness();
    const call = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"web.fetch","arguments":{"url":"https://x.test/?id=7","n":1.50}}}';
    h.fromClient(call);
    assert.equal(h.sentTo('fs').length, 0);
    const forwarded = h.service('web').sent[0]!;
    const gatewayId = JSON.parse(forwarded.line)['id'];
    assert.equal(forwarded.line, `{"jsonrpc":"2.0","id":${gatewayId},"method":"tools/call","params":{"name":"fetch","arguments":{"url":"https://x.test/?id=7","n":1.50}}}\n`);
    assert.equal(forwarded.envelope?.key, String(gatewayId));
    // The TypeScript SDK writes the id last, after a result that may hold ids of its own.
    h.service('web').push(`{"result":{"content":[{"type":"text","text":"ok","id":${gatewayId}}],"id":${gatewayId}},"jsonrpc":"2.0","id":${gatewayId}}`);
    assert.equal(h.toClient[0]!.line, `{"result":{"content":[{"type":"text","text":"ok","id":${gatewayId}}],"id":${gatewayId}},"jsonrpc":"2.0","id":7}\n`);
    assertEnvelopesTrue(h.toClient);
  });

  it('should answer a name in no namespace with -32602 and send nothing', () => {
    const h = harness();
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'db.query' } });
    h.fromClient({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'noprefix' } });
    h.fromClient({ jsonrpc: '2.0', id: 3, method: 'tasks/get', params: { taskId: 't' } });
    assert.deepEqual(h.localReplies.map((r) => [r.id, r.code]), [
      ['1', 'SIDECAR_ERR_GATEWAY_NO_ROUTE'], ['2', 'SIDECAR_ERR_GATEWAY_NO_ROUTE'], ['3', 'SIDECAR_ERR_GATEWAY_METHOD_NOT_ROUTED'],
    ]);
    assert.match(h.localReplies[0]!.detail, /db\.query/);
    assert.equal(h.sentTo('fs').length + h.sentTo('web').length, 0);
  });

  it('should route prompts/get by prefix, and a name written with escapes', () => {
    const h = harness();
    h.fromClient('{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"fs\\u002esummarize"}}');
    assert.equal(h.lastSentTo('fs')['params']['name'], 'summarize');
  });

  it('should route resources by which service listed the URI, and refuse a URI two listed unless named', () => {
    const h = harness();
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'resources/list' });
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('fs')['id'], result: { resources: [{ uri: 'file:///a', name: 'a' }, { uri: 'mem://shared', name: 's' }] } }));
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('web')['id'], result: { resources: [{ uri: 'https://b', name: 'b' }, { uri: 'mem://shared', name: 's' }] } }));
    assert.deepEqual(h.clientMessages()[0]!['result']['resources'].map((r: Json) => r['uri']), ['file:///a', 'fs+mem://shared', 'https://b', 'web+mem://shared']);
    h.fromClient({ jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'https://b' } });
    assert.equal(h.lastSentTo('web')['params']['uri'], 'https://b');
    h.fromClient({ jsonrpc: '2.0', id: 3, method: 'resources/subscribe', params: { uri: 'file:///a' } });
    assert.equal(h.lastSentTo('fs')['method'], 'resources/subscribe');
    h.fromClient({ jsonrpc: '2.0', id: 4, method: 'resources/read', params: { uri: 'mem://shared' } });
    assert.equal(h.localReplies[0]!.code, 'SIDECAR_ERR_GATEWAY_NO_ROUTE');
    assert.match(h.localReplies[0]!.detail, /fs and web/);
    h.fromClient({ jsonrpc: '2.0', id: 5, method: 'resources/read', params: { uri: 'web+mem://shared' } });
    assert.equal(h.lastSentTo('web')['params']['uri'], 'mem://shared');
  });

  it('should answer ping itself and fan logging/setLevel out, answering after all', () => {
    const h = harness();
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.deepEqual(h.clientMessages()[0], { jsonrpc: '2.0', id: 1, result: {} });
    h.fromClient({ jsonrpc: '2.0', id: 2, method: 'logging/setLevel', params: { level: 'debug' } });
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('fs')['id'], result: {} }));
    assert.equal(h.toClient.length, 1);
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('web')['id'], result: {} }));
    assert.deepEqual(h.clientMessages()[1], { jsonrpc: '2.0', id: 2, result: {} });
  });
});

describe('gateway channel: ids', () => {
  it('should keep colliding client ids and colliding service ids apart, both ways', () => {
    const h = harness();
    h.fromClient({ jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'fs.read' } });
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'web.fetch' } });
    const fsId = h.lastSentTo('fs')['id'];
    const webId = h.lastSentTo('web')['id'];
    assert.equal(typeof fsId, 'number');
    assert.notEqual(fsId, webId);
    // web answers with fs's id: not its request to answer; dropped, fs's caller still waits.
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: fsId, result: { forged: true } }));
    assert.equal(h.toClient.length, 0);
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: webId, result: { from: 'web' } }));
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: fsId, result: { from: 'fs' } }));
    assert.deepEqual(h.clientMessages().map((m) => [m['id'], m['result']['from']]), [[1, 'web'], ['a', 'fs']]);
    // Both services ask the client something under the same id of their own.
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'sampling/createMessage', params: { messages: [], maxTokens: 5 } }));
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'roots/list' }));
    const [askFs, askWeb] = h.clientMessages().slice(2);
    assert.notEqual(askFs!['id'], askWeb!['id']);
    assert.equal(askFs!['method'], 'sampling/createMessage');
    h.fromClient({ jsonrpc: '2.0', id: askWeb!['id'], result: { roots: [] } });
    h.fromClient({ jsonrpc: '2.0', id: askFs!['id'], result: { role: 'assistant', content: { type: 'text', text: 'hi' }, model: 'm' } });
    assert.deepEqual(h.lastSentTo('web'), { jsonrpc: '2.0', id: 0, result: { roots: [] } });
    assert.deepEqual(h.lastSentTo('fs')['id'], 0);
    assert.equal(h.lastSentTo('fs')['result']['model'], 'm');
    assertEnvelopesTrue(h.toClient);
  });

  it('should pass a string id of the service back to it as written', () => {
    const h = harness(['fs']);
    h.service('fs').push('{"jsonrpc":"2.0","id":"elicit-\\u00e9","method":"elicitation/create","params":{"message":"?","requestedSchema":{"type":"object"}}}');
    const asked = h.clientMessages()[0]!;
    h.fromClient({ jsonrpc: '2.0', id: asked['id'], result: { action: 'decline' } });
    assert.equal(h.service('fs').sent[0]!.line, '{"jsonrpc":"2.0","id":"elicit-\\u00e9","result":{"action":"decline"}}\n');
  });

  it('should map a cancellation to the service and its id, and drop the late answer', () => {
    const h = harness();
    h.fromClient({ jsonrpc: '2.0', id: 'slow', method: 'tools/call', params: { name: 'fs.scan', _meta: { progressToken: 'p1' } } });
    const gatewayId = h.lastSentTo('fs')['id'];
    assert.equal(h.lastSentTo('fs')['params']['_meta']['progressToken'], 'p1', 'the client\'s progress token passes as it is');
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p1', progress: 1 } }));
    assert.deepEqual(h.clientMessages()[0]!['params'], { progressToken: 'p1', progress: 1 });
    h.fromClient({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow', reason: 'user' } });
    assert.deepEqual(h.lastSentTo('fs'), { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: gatewayId, reason: 'user' } });
    assert.equal(h.sentTo('web').length, 0);
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: gatewayId, result: {} }));
    assert.equal(h.toClient.length, 1, 'the late answer is dropped');
  });

  it('should name a service\'s own cancellation of its request to the client by the client\'s id', () => {
    const h = harness(['fs']);
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'roots/list' }));
    const asked = h.clientMessages()[0]!['id'];
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5 } }));
    assert.equal(h.clientMessages()[1]!['params']['requestId'], asked);
  });
});

describe('gateway channel: notifications and isolation', () => {
  it('should re-announce list_changed from any service', () => {
    const h = harness();
    h.service('web').push('{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}');
    h.service('fs').push('{"jsonrpc":"2.0","method":"notifications/resources/list_changed"}');
    assert.deepEqual(h.toClient.map((f) => f.line), [
      '{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n',
      '{"jsonrpc":"2.0","method":"notifications/resources/list_changed"}\n',
    ]);
  });

  it('should fail only a down service\'s call, answer the other\'s, and refuse its namespace after', () => {
    const h = harness();
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'fs.read' } });
    h.fromClient({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'web.fetch' } });
    const webId = h.lastSentTo('web')['id'];
    h.gateway.serviceDown('fs', 'it exited 6 times');
    assert.deepEqual(h.localReplies.map((r) => [r.id, r.code]), [['1', 'SIDECAR_ERR_UPSTREAM_EXITED']]);
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: webId, result: { ok: true } }));
    assert.deepEqual(h.clientMessages()[0], { jsonrpc: '2.0', id: 2, result: { ok: true } });
    h.fromClient({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'fs.read' } });
    assert.deepEqual(h.localReplies.map((r) => r.code).at(-1), 'SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE');
    h.fromClient({ jsonrpc: '2.0', id: 4, method: 'tools/list' });
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('web')['id'], result: { tools: [{ name: 'fetch' }] } }));
    assert.deepEqual(h.clientMessages().at(-1)!['result'], { tools: [{ name: 'web.fetch' }] }, 'a down service is not asked to list');
  });

  it('should fail a restarted service\'s lost requests only, sparing those its restart queue still holds', () => {
    const h = harness();
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'fs.a' } });
    const lost = h.lastSentTo('fs')['id'];
    h.fromClient({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fs.b' } });
    const held = h.lastSentTo('fs')['id'];
    h.fromClient({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'web.c' } });
    h.service('fs').handlers.onReset!('the MCP server exited (code 1)', new Set([String(held)]));
    assert.deepEqual(h.localReplies.map((r) => [r.id, r.code]), [['1', 'SIDECAR_ERR_UPSTREAM_EXITED']]);
    assert.notEqual(lost, held);
    h.service('fs').handlers.onLocalReply!({ id: String(held), key: String(held), method: 'tools/call' }, 'SIDECAR_ERR_UPSTREAM_RESTARTING', 'it did not come back');
    assert.deepEqual(h.localReplies.map((r) => [r.id, r.code]).at(-1), ['2', 'SIDECAR_ERR_UPSTREAM_RESTARTING']);
    assert.equal(h.localReplies.length, 2, 'web\'s call is untouched');
  });

  it('should fail a call whose answer is unreadable, and report congestion once for many services', () => {
    const h = harness();
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'fs.a' } });
    const id = h.lastSentTo('fs')['id'];
    h.service('fs').push(`{"jsonrpc":"2.0","id":${id},"result":{"a":1,"a":2}}`);
    assert.deepEqual(h.localReplies.map((r) => [r.id, r.code]), [['1', 'SIDECAR_ERR_UPSTREAM_INVALID_FRAME']]);
    h.service('fs').handlers.onCongested();
    h.service('web').handlers.onCongested();
    assert.equal(h.congestion(), 1);
    h.service('fs').handlers.onDrained();
    assert.equal(h.congestion(), 1);
    h.service('web').handlers.onDrained();
    assert.equal(h.congestion(), 0);
  });
});
