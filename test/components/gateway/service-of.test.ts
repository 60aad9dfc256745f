// Which service a frame belongs to, as the policy's `server:` condition reads it in gateway mode
// (components/policy/engine/services.ts), checked against how the gateway channel routes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNamespaceResolver } from '../../../components/policy/index.js';
import { frameContext, resultOf, toolCall } from '../../helpers/frame-context.js';
import { harness, initialize } from './gateway-harness.js';

const request = (method: string, params: unknown) => ({ jsonrpc: '2.0', id: 1, method, params });

describe('the service of a frame (gateway mode)', () => {
  const resolver = createNamespaceResolver('.', ['fs', 'memory', 'a-b'], 'gateway');
  const serviceOf = (message: unknown, options: Parameters<typeof frameContext>[1] = {}) => resolver.serviceOf(frameContext(message, options));

  it('names the service of a call by its namespace, as the gateway routes it: up to the first separator', () => {
    assert.equal(serviceOf(toolCall('fs.read_file', {})), 'fs');
    assert.equal(serviceOf(toolCall('fs.dir.read', {})), 'fs');
    assert.equal(serviceOf(toolCall('a-b.x', {})), 'a-b');
    assert.equal(serviceOf(request('prompts/get', { name: 'memory.summary' })), 'memory');
    assert.equal(serviceOf(request('completion/complete', { ref: { type: 'ref/prompt', name: 'memory.summary' }, argument: { name: 'a', value: 'b' } })), 'memory');
  });

  it('is undecided for a call it cannot place (the gateway refuses those, or routes them by what it remembers)', () => {
    assert.equal(serviceOf(toolCall('read_file', {})), undefined, 'no namespace');
    assert.equal(serviceOf(toolCall('.read_file', {})), undefined, 'an empty namespace');
    assert.equal(serviceOf(toolCall('web.search', {})), undefined, 'an unknown namespace');
    assert.equal(serviceOf(toolCall(7, {})), undefined, 'a name that is not a string');
    assert.equal(serviceOf(request('resources/read', { uri: 'fs+file:///a' })), undefined, 'a URI: the gateway places it by which service listed it');
    assert.equal(serviceOf(request('completion/complete', { ref: { type: 'ref/resource', uri: 'file:///a' } })), undefined);
    assert.equal(serviceOf({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } }), undefined);
    const answer = frameContext(resultOf({}), { method: 'sampling/createMessage', direction: 'client-to-server', phase: 'response' });
    assert.equal(resolver.serviceOf(answer), undefined, 'the client\'s answer to a service: only the gateway knows who asked');
    assert.equal(answer.bodyReads, 0, 'and with no gateway to ask, no body is read for it');
    assert.equal(serviceOf({ jsonrpc: '2.0', id: 9, method: 'sampling/createMessage', params: {} }, { direction: 'server-to-client' }), undefined, 'a service\'s own request');
  });

  it('gives no service to what the gateway answers itself or sends to every service', () => {
    for (const method of ['initialize', 'tools/list', 'resources/list', 'ping', 'logging/setLevel', 'tasks/get']) {
      assert.equal(serviceOf(request(method, {})), null, method);
    }
    assert.equal(serviceOf({ jsonrpc: '2.0', method: 'notifications/initialized' }), null);
    assert.equal(serviceOf(resultOf({ tools: [] }), { method: 'tools/list' }), null, 'a merged list');
  });

  it('places a tools/call answer by the tool its request named (FrameContext.tool), and reads no body for it', () => {
    const answer = Object.assign(frameContext(resultOf({ content: [] }), { method: 'tools/call' }), { tool: 'memory.create_entities' });
    assert.equal(resolver.serviceOf(answer), 'memory');
    assert.equal(answer.bodyReads, 0);
    assert.equal(resolver.serviceOf(frameContext(resultOf({ content: [] }), { method: 'tools/call' })), undefined, 'no tool read: undecided');
  });

  it('honours a separator of several characters', () => {
    const dashed = createNamespaceResolver('__', ['fs', 'my_db'], 'gateway');
    assert.equal(dashed.serviceOf(frameContext(toolCall('my_db__query', {}))), 'my_db');
    assert.equal(dashed.serviceOf(frameContext(toolCall('my_db_query', {}))), undefined);
  });
});

// What the gateway routes by its state, the resolver asks the gateway channel itself (GatewayRoutes):
// the same routing the channel uses, read-only.
describe('the service of a frame the gateway routes by its state', () => {
  const RESOURCES = { protocolVersion: '2025-06-18', capabilities: { resources: {}, tools: {} }, serverInfo: { name: 's', version: '1' } };

  function listed() {
    const h = harness(['fs', 'web']);
    initialize(h, { fs: RESOURCES, web: RESOURCES });
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'resources/list' });
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('fs')['id'], result: { resources: [{ uri: 'file:///a', name: 'a' }, { uri: 'shared://x', name: 'x' }] } }));
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('web')['id'], result: { resources: [{ uri: 'https://b', name: 'b' }, { uri: 'shared://x', name: 'x' }] } }));
    h.fromClient({ jsonrpc: '2.0', id: 2, method: 'resources/templates/list' });
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('fs')['id'], result: { resourceTemplates: [{ uriTemplate: 'file:///{+path}', name: 't' }] } }));
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('web')['id'], result: { resourceTemplates: [] } }));
    const resolver = createNamespaceResolver('.', ['fs', 'web'], 'gateway', h.gateway);
    return { h, resolver, serviceOf: (message: unknown, options: Parameters<typeof frameContext>[1] = {}) => resolver.serviceOf(frameContext(message, options)) };
  }

  it('places a resource URI where the gateway sends it: listed, marked, by template; undecided where it refuses', () => {
    const { h, serviceOf } = listed();
    for (const method of ['resources/read', 'resources/subscribe', 'resources/unsubscribe']) {
      assert.equal(serviceOf(request(method, { uri: 'file:///a' })), 'fs', method);
      assert.equal(serviceOf(request(method, { uri: 'https://b' })), 'web', method);
    }
    assert.equal(serviceOf(request('resources/read', { uri: 'web+shared://x' })), 'web', 'marked');
    assert.equal(serviceOf(request('resources/read', { uri: 'file:///dir/c.txt' })), 'fs', 'by its template');
    assert.equal(serviceOf(request('completion/complete', { ref: { type: 'ref/resource', uri: 'https://b' }, argument: { name: 'a', value: 'b' } })), 'web');
    assert.equal(serviceOf(request('resources/read', { uri: 'shared://x' })), undefined, 'two services listed it: the gateway refuses it');
    assert.equal(serviceOf(request('resources/read', { uri: 'nobody://z' })), undefined, 'no one listed it, no template: refused');
    assert.equal(serviceOf(request('resources/read', { uri: 7 })), undefined, 'not a URI');
    assert.equal(serviceOf(request('resources/read', {})), undefined, 'no URI');
    // The gateway agrees: each one the resolver placed goes there, each undecided one is refused.
    h.fromClient(request('resources/read', { uri: 'file:///dir/c.txt' }));
    assert.equal(h.lastSentTo('fs')['params']['uri'], 'file:///dir/c.txt');
    const refusedBefore = h.localReplies.length;
    h.fromClient({ ...request('resources/read', { uri: 'shared://x' }), id: 9 });
    h.fromClient({ ...request('resources/read', { uri: 'nobody://z' }), id: 10 });
    assert.equal(h.localReplies.length, refusedBefore + 2);
  });

  it('places a cancellation at the service holding the request; a fan-out\'s at none; one for nothing in flight is undecided', () => {
    const { h, serviceOf } = listed();
    h.fromClient(toolCall('web.search', {}, 30));
    h.fromClient({ jsonrpc: '2.0', id: 'list-1', method: 'tools/list' });
    const cancel = (requestId: unknown) => ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId } });
    assert.equal(serviceOf(cancel(30)), 'web');
    assert.equal(serviceOf(cancel(30.0)), 'web', 'by the id\'s value, as the gateway finds it');
    assert.equal(serviceOf(cancel('list-1')), null, 'a fan-out: every service asked');
    assert.equal(serviceOf(cancel(31)), undefined);
    assert.equal(serviceOf(cancel({})), undefined);
  });

  it('places a service\'s own frames at that service while the gateway hands them over, and at none after', () => {
    const h = harness(['fs', 'web']);
    initialize(h, { fs: RESOURCES, web: RESOURCES });
    const resolver = createNamespaceResolver('.', ['fs', 'web'], 'gateway', h.gateway);
    // The pump evaluates each frame while the gateway hands it over (handlers.onFrame is synchronous).
    const seen: Array<string | null | undefined> = [];
    const record = h.gateway.sourceOfDelivery;
    assert.equal(record(), undefined, 'nothing on its way');
    h.fromClient(toolCall('fs.read', {}, 40));
    h.fromClient(request('resources/read', { uri: 'web+https://b' }));
    const frames: Array<[string, Record<string, unknown>, Parameters<typeof frameContext>[1]]> = [
      ['web', { jsonrpc: '2.0', id: 7, method: 'sampling/createMessage', params: {} }, { direction: 'server-to-client' }],
      ['fs', { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } }, { direction: 'server-to-client' }],
      ['fs', { jsonrpc: '2.0', id: h.lastSentTo('fs')['id'], result: { content: [] } }, { method: 'tools/call' }],
      ['web', { jsonrpc: '2.0', id: h.lastSentTo('web')['id'], result: { contents: [] } }, { method: 'resources/read' }],
    ];
    const before = h.toClient.length;
    for (const [service, message, options] of frames) {
      const push = h.service(service).handlers.onFrame;
      // A pump stand-in: what the rules would read of the frame, at the moment it is handed over.
      const original = h.toClient.push.bind(h.toClient);
      h.toClient.push = (...items) => {
        seen.push(resolver.serviceOf(frameContext(message, options)));
        return original(...items);
      };
      push(Buffer.from(`${JSON.stringify(message)}\n`));
      h.toClient.push = original;
    }
    assert.equal(h.toClient.length, before + frames.length);
    assert.deepEqual(seen, ['web', 'fs', 'fs', 'web']);
    assert.equal(resolver.serviceOf(frameContext(frames[0]![1], { direction: 'server-to-client' })), undefined, 'read after the hand-over: undecided, never a stale service');
    assert.equal(record(), undefined);
  });

  it('places the client\'s answer to a service\'s request at the service that asked, by the id the gateway gave it', () => {
    const h = harness(['fs', 'web']);
    initialize(h, { fs: RESOURCES, web: RESOURCES });
    const resolver = createNamespaceResolver('.', ['fs', 'web'], 'gateway', h.gateway);
    const answerOf = (method: string) => ({ direction: 'client-to-server', phase: 'response', method } as const);
    // Both services ask under the same id of their own: the gateway gives each request its own.
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'sampling/createMessage', params: { messages: [], maxTokens: 1 } }));
    const webKey = h.clientMessages().at(-1)!['id'] as number;
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'roots/list' }));
    const fsKey = h.clientMessages().at(-1)!['id'] as number;
    assert.notEqual(webKey, fsKey);

    assert.equal(resolver.serviceOf(frameContext(resultOf({ role: 'assistant' }, webKey), answerOf('sampling/createMessage'))), 'web');
    assert.equal(resolver.serviceOf(frameContext({ jsonrpc: '2.0', id: fsKey, error: { code: -1, message: 'no' } }, answerOf('roots/list'))), 'fs', 'an error answer too');
    assert.equal(resolver.serviceOf(frameContext(null, { ...answerOf('roots/list'), line: `{"jsonrpc":"2.0","id":${fsKey}.0,"result":{"roots":[]}}\n` })), 'fs', 'by the id\'s value, as the gateway finds it');
    assert.equal(resolver.serviceOf(frameContext(resultOf({}, String(webKey)), answerOf('sampling/createMessage'))), undefined, 'the same digits as a string: another id');
    assert.equal(resolver.serviceOf(frameContext(resultOf({}, 987654), answerOf('sampling/createMessage'))), undefined, 'a key the gateway never issued');
    assert.equal(resolver.serviceOf(frameContext({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'x' } }, answerOf('sampling/createMessage'))), undefined, 'no id');

    // The gateway agrees: the placed answers go to those services, the undecided one nowhere.
    h.fromClient(resultOf({}, String(webKey)));
    h.fromClient(`{"jsonrpc":"2.0","id":${fsKey}.0,"result":{"roots":[]}}`);
    h.fromClient(resultOf({ role: 'assistant' }, webKey));
    assert.deepEqual([h.sentTo('fs').at(-1), h.sentTo('web').at(-1)], [{ jsonrpc: '2.0', id: 7, result: { roots: [] } }, { jsonrpc: '2.0', id: 7, result: { role: 'assistant' } }]);
    assert.equal(h.sentTo('web').filter((message) => message['id'] === 7).length, 1, 'the string id reached no service');
    // Answered: the gateway awaits it no more, so a second answer under that key is undecided (and dropped).
    assert.equal(resolver.serviceOf(frameContext(resultOf({}, webKey), answerOf('sampling/createMessage'))), undefined);
  });

  it('places each answer in a client batch before the gateway routes it, and none to a service that went down', () => {
    const h = harness(['fs', 'web']);
    initialize(h, { fs: RESOURCES, web: RESOURCES });
    const resolver = createNamespaceResolver('.', ['fs', 'web'], 'gateway', h.gateway);
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: 'w', method: 'elicitation/create', params: {} }));
    const webKey = h.clientMessages().at(-1)!['id'] as number;
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: 'f', method: 'roots/list' }));
    const fsKey = h.clientMessages().at(-1)!['id'] as number;
    const members = [resultOf({ action: 'decline' }, webKey), resultOf({ roots: [] }, fsKey)];
    // The pump judges every member of a client batch before it forwards the batch.
    const placed = members.map((member, index) => resolver.serviceOf(frameContext(member, { direction: 'client-to-server', phase: 'response', method: index === 0 ? 'elicitation/create' : 'roots/list' })));
    assert.deepEqual(placed, ['web', 'fs']);
    h.fromClient(members as unknown as Record<string, unknown>);
    assert.deepEqual([h.lastSentTo('web')['id'], h.lastSentTo('fs')['id']], ['w', 'f']);

    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: 'g', method: 'roots/list' }));
    const downKey = h.clientMessages().at(-1)!['id'] as number;
    h.gateway.serviceDown('fs', 'test');
    assert.equal(resolver.serviceOf(frameContext(resultOf({ roots: [] }, downKey), { direction: 'client-to-server', phase: 'response', method: 'roots/list' })), undefined, 'whoever asked is gone');
  });

  it('places each answer in a batch\'s array at the service that answered it (a tools/call\'s by its tool), a fan-out\'s at none', () => {
    const h = harness(['fs', 'web']);
    initialize(h, { fs: RESOURCES, web: RESOURCES });
    const resolver = createNamespaceResolver('.', ['fs', 'web'], 'gateway', h.gateway);
    const seen: Array<Array<string | null | undefined>> = [];
    const original = h.toClient.push.bind(h.toClient);
    h.toClient.push = (...items) => {
      // What the pump reads of each member while the gateway hands the array over (a tools/call's tool read at admission).
      seen.push([
        resolver.serviceOf(Object.assign(frameContext(resultOf({ content: [] }, 60), { method: 'tools/call' }), { tool: 'fs.a' })),
        resolver.serviceOf(frameContext(resultOf({ contents: [] }, 61), { method: 'resources/read' })),
        resolver.serviceOf(frameContext(resultOf({}, 62), { method: 'ping' })),
        resolver.serviceOf(frameContext(resultOf({ contents: [] }, 99), { method: 'resources/read' })),
      ]);
      return original(...items);
    };
    h.fromClient([toolCall('fs.a', {}, 60), { ...request('resources/read', { uri: 'web+https://b' }), id: 61 }, { jsonrpc: '2.0', id: 62, method: 'ping' }] as unknown as Record<string, unknown>);
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('fs')['id'], result: { content: [] } }));
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('web')['id'], result: { contents: [] } }));
    h.toClient.push = original;
    assert.equal(h.clientMessages().at(-1)!.length, 3, 'one array of three answers');
    assert.deepEqual(seen, [['fs', 'web', null, undefined]], 'an id no member has stays undecided');
  });

  it('places a batch member by its id while its array is handed over, and nothing after it (the gateway\'s own answer)', () => {
    const h = harness(['fs', 'web']);
    initialize(h, { fs: RESOURCES, web: RESOURCES });
    const resolver = createNamespaceResolver('.', ['fs', 'web'], 'gateway', h.gateway);
    const seen: Array<string | null | undefined> = [];
    const original = h.toClient.push.bind(h.toClient);
    h.toClient.push = (...items) => {
      // A member's answer to a call whose tool was not read: the gateway tells by the member's id, while it hands the array over.
      seen.push(resolver.serviceOf(frameContext(resultOf({ content: [] }, 50), { method: 'tools/call' })));
      return original(...items);
    };
    h.fromClient([toolCall('fs.a', {}, 50), toolCall('web.b', {}, 51)] as unknown as Record<string, unknown>);
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('fs')['id'], result: { content: [] } }));
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('web')['id'], result: { content: [] } }));
    h.fromClient({ jsonrpc: '2.0', id: 52, method: 'ping' });
    assert.equal(h.clientMessages().length, 3, 'the handshake, the batch\'s one array, the ping');
    assert.deepEqual(seen, ['fs', undefined], 'id 50 answered by fs in the array; once the array is gone, the same question has no answer');
  });
});
