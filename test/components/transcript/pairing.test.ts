// What a replay groups invocations by: the target a method names, from the one module of MCP
// facts (components/mcp), so transcripts and reports group the same requests the same way.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TARGET_METHODS } from '../../../components/mcp/index.js';
import { targetOf } from '../../../components/transcript/pairing.js';

describe('transcript targets', () => {
  it('should name the target of every method that names one, resources/subscribe and unsubscribe included', () => {
    assert.deepEqual(targetOf('tools/call', { params: { name: 'search' } }), { type: 'tool', name: 'search' });
    assert.deepEqual(targetOf('prompts/get', { params: { name: 'greet' } }), { type: 'prompt', name: 'greet' });
    for (const method of ['resources/read', 'resources/subscribe', 'resources/unsubscribe']) {
      assert.deepEqual(targetOf(method, { params: { uri: 'file:///a' } }), { type: 'resource', name: 'file:///a' }, method);
    }
    for (const method of TARGET_METHODS) assert.notEqual(targetOf(method, { params: { name: 'n', uri: 'u' } }).type, 'method', method);
  });

  it('should group by method when a request names no target as a string', () => {
    assert.deepEqual(targetOf('tools/call', { params: { name: 7 } }), { type: 'method', name: 'tools/call' });
    assert.deepEqual(targetOf('resources/subscribe', { params: [] }), { type: 'method', name: 'resources/subscribe' });
    assert.deepEqual(targetOf('tools/list', { params: { name: 'x' } }), { type: 'method', name: 'tools/list' });
  });
});
