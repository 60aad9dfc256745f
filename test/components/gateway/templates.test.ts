// Resource templates route reads: a URI no service listed goes to the one service whose template
// (RFC 6570 levels 1–2) matches it; two services' templates matching are refused as ambiguous
// (-32602, both named) unless the URI is marked `<service>+`. The matcher never backtracks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileUriTemplate } from '../../../components/gateway/uri-template.js';
import { harness, initialize, type Json } from './gateway-harness.js';

describe('compileUriTemplate', () => {
  const cases: Array<[string, string, boolean]> = [
    ['file:///{path}', 'file:///notes.txt', true],
    ['file:///{path}', 'file:///dir/notes.txt', false], // a simple variable never spans a '/'
    ['file:///{+path}', 'file:///dir/notes.txt', true],
    ['file:///{+path}', 'http://x/dir', false],
    ['memory://note/{id}', 'memory://note/7', true],
    ['memory://note/{id}', 'memory://note/', true], // an undefined variable expands to nothing
    ['memory://note/{id}', 'memory://notes/7', false],
    ['db://{table}/{id}', 'db://users/42', true],
    ['db://{table}/{id}', 'db://users/42/x', false],
    ['db://{a,b}', 'db://x,y', true],
    ['doc://page{#section}', 'doc://page#intro/part', true],
    ['doc://page{#section}', 'doc://pageintro', false],
    ['x://{v}', 'x://a b', false], // a space is never in a URI
  ];
  for (const [template, uri, expected] of cases) {
    it(`${template} ${expected ? 'matches' : 'does not match'} ${uri}`, () => {
      assert.equal(compileUriTemplate(template)!.matches(uri), expected);
    });
  }

  it('refuses what it cannot route by: level 3–4 operators and modifiers, unclosed braces', () => {
    for (const template of ['x://{/path}', 'x://{?q}', 'x://{.ext}', 'x://{;p}', 'x://{&q}', 'x://{v:3}', 'x://{v*}', 'x://{v', 'x://v}', 'x://{}']) {
      assert.equal(compileUriTemplate(template), undefined, template);
    }
  });

  it('a long adversarial URI is matched in one pass (a backtracking regex would explode)', () => {
    const matcher = compileUriTemplate(`x://${'{+a}a'.repeat(40)}b`)!;
    const uri = `x://${'a'.repeat(20_000)}`;
    assert.equal(matcher.matches(uri), false);
    assert.equal(matcher.matches(`${uri}b`), true);
  });
});

const CAPABILITIES = { capabilities: { resources: {} }, protocolVersion: '2025-06-18', serverInfo: { name: 's', version: '1' } };

function listTemplates(h: ReturnType<typeof harness>, templates: Record<string, string[]>, id = 5): Json {
  h.fromClient({ jsonrpc: '2.0', id, method: 'resources/templates/list' });
  for (const [name, uriTemplates] of Object.entries(templates)) {
    const sent = h.lastSentTo(name);
    h.service(name).push(JSON.stringify({ jsonrpc: '2.0', id: sent['id'], result: { resourceTemplates: uriTemplates.map((uriTemplate) => ({ uriTemplate, name: uriTemplate })) } }));
  }
  return h.clientMessages().at(-1)!;
}

const read = (id: number, uri: string) => ({ jsonrpc: '2.0', id, method: 'resources/read', params: { uri } });

describe('gateway: resources/read routed by resource templates', () => {
  it('a URI matching one service\'s template goes to that service, unchanged', () => {
    const h = harness(['fs', 'mem']);
    initialize(h, { fs: CAPABILITIES, mem: CAPABILITIES });
    listTemplates(h, { fs: ['file:///{+path}'], mem: ['memory://note/{id}'] });
    const before = h.sentTo('mem').length;
    h.fromClient(read(7, 'file:///a/b.txt'));
    assert.equal(h.sentTo('mem').length, before, 'not sent to the other service');
    const sent = h.lastSentTo('fs');
    assert.equal(sent['method'], 'resources/read');
    assert.equal(sent['params']['uri'], 'file:///a/b.txt');
    h.fromClient(read(8, 'memory://note/3'));
    assert.equal(h.lastSentTo('mem')['params']['uri'], 'memory://note/3');
    assert.equal(h.localReplies.length, 0);
  });

  it('two services\' templates matching: refused as ambiguous (-32602) naming both; a marked URI goes to the one it names', () => {
    const h = harness(['left', 'right']);
    initialize(h, { left: CAPABILITIES, right: CAPABILITIES });
    listTemplates(h, { left: ['memory://note/{id}'], right: ['memory://{+any}'] });
    h.fromClient(read(9, 'memory://note/1'));
    const refusal = h.localReplies.at(-1)!;
    assert.equal(refusal.code, 'SIDECAR_ERR_GATEWAY_NO_ROUTE');
    assert.match(refusal.detail, /left and right/);
    h.fromClient(read(10, 'right+memory://note/1'));
    assert.equal(h.lastSentTo('right')['params']['uri'], 'memory://note/1');
    // A URI only one of them matches is not ambiguous.
    h.fromClient(read(11, 'memory://other/1'));
    assert.equal(h.lastSentTo('right')['params']['uri'], 'memory://other/1');
  });

  it('a first page renews what a service\'s templates are; a URI nobody matches is refused', () => {
    const h = harness(['fs', 'mem']);
    initialize(h, { fs: CAPABILITIES, mem: CAPABILITIES });
    listTemplates(h, { fs: ['file:///{+path}'], mem: [] });
    listTemplates(h, { fs: ['disk:///{+path}'], mem: [] }, 6);
    h.fromClient(read(12, 'file:///a'));
    assert.equal(h.localReplies.at(-1)!.code, 'SIDECAR_ERR_GATEWAY_NO_ROUTE', 'the old template is forgotten');
    h.fromClient(read(13, 'disk:///a'));
    assert.equal(h.lastSentTo('fs')['params']['uri'], 'disk:///a');
  });
});

describe('gateway: a resource template two services list', () => {
  it('is given as <service>+<template> for each (as a shared URI is), and a URI expanded from a marked one goes to that service, unmarked', () => {
    const h = harness(['left', 'right']);
    initialize(h, { left: CAPABILITIES, right: CAPABILITIES });
    // The same text twice (one RFC 6570 level 3: not routed by, yet still told apart), and one each of their own.
    const listed = listTemplates(h, { left: ['memory://note/{id}', 'left://{x}', 'q://s{?page}'], right: ['memory://note/{id}', 'q://s{?page}'] });
    assert.deepEqual(listed['result']['resourceTemplates'].map((t: Json) => t['uriTemplate']), [
      'left+memory://note/{id}', 'left://{x}', 'left+q://s{?page}', 'right+memory://note/{id}', 'right+q://s{?page}',
    ]);
    assert.deepEqual(listed['result']['resourceTemplates'].map((t: Json) => t['name']), ['memory://note/{id}', 'left://{x}', 'q://s{?page}', 'memory://note/{id}', 'q://s{?page}'], 'only the template text is marked');

    h.fromClient(read(20, 'right+memory://note/1'));
    assert.equal(h.lastSentTo('right')['params']['uri'], 'memory://note/1');
    h.fromClient(read(21, 'left+memory://note/2'));
    assert.equal(h.lastSentTo('left')['params']['uri'], 'memory://note/2');
    h.fromClient(read(22, 'memory://note/3'));
    assert.match(h.localReplies.at(-1)!.detail, /left and right/, 'unmarked: ambiguous, refused naming both');
    assert.equal(h.localReplies.length, 1);
  });

  it('is marked by what each service listed last: once one stops listing it, the other\'s is given bare', () => {
    const h = harness(['left', 'right']);
    initialize(h, { left: CAPABILITIES, right: CAPABILITIES });
    listTemplates(h, { left: ['memory://note/{id}'], right: ['memory://note/{id}'] });
    const next = listTemplates(h, { left: ['memory://note/{id}'], right: [] }, 6);
    assert.deepEqual(next['result']['resourceTemplates'].map((t: Json) => t['uriTemplate']), ['memory://note/{id}']);
    h.fromClient(read(23, 'memory://note/1'));
    assert.equal(h.lastSentTo('left')['params']['uri'], 'memory://note/1');
  });
});
