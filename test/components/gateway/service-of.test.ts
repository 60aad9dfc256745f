// Which service a frame belongs to, as the policy's `server:` condition reads it in gateway mode
// (components/policy/engine/services.ts), checked against how the gateway channel routes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNamespaceResolver } from '../../../components/policy/index.js';
import { frameContext, resultOf, toolCall } from '../../helpers/frame-context.js';

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
