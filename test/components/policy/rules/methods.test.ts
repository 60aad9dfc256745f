import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MethodsRule } from '../../../../components/policy/document/document.js';
import { createMethodsRules } from '../../../../components/policy/rules/methods.js';
import { frameContext } from '../../../helpers/frame-context.js';
import { assertRejected, policyWithRule } from '../rejections.js';

const clientRule: MethodsRule = {
  id: 'client-methods',
  methods: { from: 'client', allow: ['initialize', 'ping', 'notifications/*', 'tools/*'], deny: ['tools/call'] },
};

describe('methods rule', () => {
  it('compiles to one request-phase rule over every method, in the direction of `from`', () => {
    const [rule, ...rest] = createMethodsRules(clientRule, { mode: 'enforce' });
    assert.equal(rest.length, 0);
    assert.deepEqual(
      { id: rule!.id, kind: rule!.kind, mode: rule!.mode, direction: rule!.direction, phase: rule!.phase, methods: rule!.methods },
      { id: 'client-methods', kind: 'methods', mode: 'enforce', direction: 'client-to-server', phase: 'request', methods: ['*'] },
    );
    const [server] = createMethodsRules({ id: 's', methods: { from: 'server', deny: ['sampling/*'] } }, { mode: 'observe' });
    assert.equal(server!.direction, 'server-to-client');
    assert.equal(server!.mode, 'observe');
  });

  const [rule] = createMethodsRules(clientRule, { mode: 'enforce' });
  const table: Array<[string, Record<string, unknown>, 'continue' | 'deny']> = [
    ['an allowed request', { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }, 'continue'],
    ['an allowed notification (glob)', { jsonrpc: '2.0', method: 'notifications/initialized' }, 'continue'],
    ['a nested notification (glob covers /)', { jsonrpc: '2.0', method: 'notifications/tools/list_changed' }, 'continue'],
    ['an allowed glob', { jsonrpc: '2.0', id: 2, method: 'tools/list' }, 'continue'],
    ['a method outside allow', { jsonrpc: '2.0', id: 3, method: 'resources/read', params: { uri: 'file:///x' } }, 'deny'],
    ['an allowed method that is also denied', { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'x' } }, 'deny'],
    ['a notification outside allow', { jsonrpc: '2.0', method: 'custom/notify' }, 'deny'],
  ];
  for (const [label, message, effect] of table) {
    it(`${effect === 'deny' ? 'denies' : 'passes'} ${label}`, () => {
      const frame = frameContext(message);
      const verdict = rule!.evaluate(frame);
      if (effect === 'continue') {
        assert.deepEqual(verdict, { effect: 'continue' });
      } else {
        assert.equal(verdict.effect, 'deny');
        assert.ok(verdict.effect === 'deny');
        assert.equal(verdict.reason, 'method_not_allowed');
        assert.equal(verdict.category, 'forbidden');
        assert.equal(verdict.reply, undefined);
        assert.match(verdict.message, new RegExp(String(message['method']).replace('/', '\\/')));
      }
      assert.equal(frame.bodyReads, 0, 'the methods rule never parses the body');
    });
  }

  it('deny alone lets everything else through', () => {
    const [denyOnly] = createMethodsRules({ id: 'd', methods: { from: 'client', deny: ['resources/*'] } }, { mode: 'enforce' });
    assert.equal(denyOnly!.evaluate(frameContext({ jsonrpc: '2.0', id: 1, method: 'tools/call' })).effect, 'continue');
    assert.equal(denyOnly!.evaluate(frameContext({ jsonrpc: '2.0', id: 1, method: 'resources/read' })).effect, 'deny');
  });

  it('an empty allow list allows nothing', () => {
    const [none] = createMethodsRules({ id: 'n', methods: { from: 'server', allow: [] } }, { mode: 'enforce' });
    assert.equal(none!.evaluate(frameContext({ jsonrpc: '2.0', id: 1, method: 'sampling/createMessage' }, { direction: 'server-to-client' })).effect, 'deny');
  });

  it('never acts on responses: its phase is request only', () => {
    for (const spec of [clientRule, { id: 's', methods: { from: 'server' as const, allow: [] } }]) {
      for (const rule of createMethodsRules(spec, { mode: 'enforce' })) assert.equal(rule.phase, 'request');
    }
  });

  // Refused by the schema, at load, with the field's path (the factory compiles validated specs).
  const invalid: Array<[string, unknown, string, RegExp]> = [
    ['no allow or deny', { from: 'client' }, 'rules[0].methods', /^expected at least one of: allow, deny, found none$/],
    ['a bad from', { from: 'proxy', allow: ['ping'] }, 'rules[0].methods.from', /^expected one of: "client", "server", found "proxy"$/],
    ['a non-list allow', { from: 'client', allow: 'ping' }, 'rules[0].methods.allow', /^expected a list, found "ping"$/],
    ['an empty glob', { from: 'client', deny: [''] }, 'rules[0].methods.deny[0]', /^expected a non-empty string, found ""$/],
    ['an unknown key', { from: 'client', alow: ['ping'] }, 'rules[0].methods.alow', /^unknown key "alow"/],
  ];
  for (const [label, methods, path, message] of invalid) {
    it(`refuses ${label} at load`, () => assertRejected(policyWithRule({ id: 'bad', methods }), path, message));
  }
});
