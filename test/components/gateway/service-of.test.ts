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
    assert.equal(serviceOf(resultOf({}), { method: 'sampling/createMessage', direction: 'client-to-server', phase: 'response' }), undefined, 'the client\'s answer to a service');
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

  it('keeps the gateway\'s own answers the gateway\'s, and a batch\'s array undecided', () => {
    const h = harness(['fs', 'web']);
    initialize(h, { fs: RESOURCES, web: RESOURCES });
    const resolver = createNamespaceResolver('.', ['fs', 'web'], 'gateway', h.gateway);
    const seen: Array<string | null | undefined> = [];
    const original = h.toClient.push.bind(h.toClient);
    h.toClient.push = (...items) => {
      // A member's answer to a call whose tool was not read: only the gateway could tell, and here it cannot.
      seen.push(resolver.serviceOf(frameContext(resultOf({ content: [] }, 50), { method: 'tools/call' })));
      return original(...items);
    };
    h.fromClient([toolCall('fs.a', {}, 50), toolCall('web.b', {}, 51)] as unknown as Record<string, unknown>);
    h.service('fs').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('fs')['id'], result: { content: [] } }));
    h.service('web').push(JSON.stringify({ jsonrpc: '2.0', id: h.lastSentTo('web')['id'], result: { content: [] } }));
    h.fromClient({ jsonrpc: '2.0', id: 52, method: 'ping' });
    assert.equal(h.clientMessages().length, 3, 'the handshake, the batch\'s one array, the ping');
    assert.deepEqual(seen, [undefined, undefined], 'the array (two services\' answers) and the gateway\'s own answer come from no one service');
  });
});
