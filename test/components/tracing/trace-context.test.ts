// W3C traceparent as the proxy reads it from params._meta, and the Collector URL as OTLP/HTTP names it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTraceparent, parseTraceparent, remoteContextOf, tracesEndpoint } from '../../../components/tracing/index.js';

describe('trace context', () => {
  it('should read a valid traceparent and refuse what W3C says is not one', () => {
    assert.deepEqual(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
      { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, traceState: undefined });
    assert.equal(parseTraceparent('cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-future')?.traceFlags, 0, 'a later version: its known fields');
    for (const bad of ['', 'garbage', 'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01', '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra']) {
      assert.equal(parseTraceparent(bad), undefined, bad);
    }
  });

  it('should find it in params._meta only, with its tracestate', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    assert.equal(remoteContextOf({ params: { _meta: { traceparent, tracestate: 'a=b' } } })?.traceState, 'a=b');
    assert.equal(remoteContextOf({ params: { traceparent } }), undefined);
    assert.equal(remoteContextOf({ params: { _meta: { traceparent: 7 } } }), undefined);
    assert.equal(formatTraceparent('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', 1), traceparent);
  });

  it('should give a Collector\'s base URL the traces path, and keep a full one', () => {
    assert.equal(tracesEndpoint('http://otel:4318'), 'http://otel:4318/v1/traces');
    assert.equal(tracesEndpoint('http://otel:4318/'), 'http://otel:4318/v1/traces');
    assert.equal(tracesEndpoint('https://otel.example/custom/traces'), 'https://otel.example/custom/traces');
  });
});
