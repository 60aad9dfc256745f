// The tracer as a pump observer: a span per invocation with the MCP semantic conventions, the
// policy's decision and the outcome; a client's traceparent continued; --trace-inject's rewrite
// (and bytes untouched without it); lifecycle events as spans. Spans go to an in-memory exporter,
// time comes from a fake clock, ids from a seeded generator.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemorySpanExporter, SimpleSpanProcessor, type IdGenerator, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Rule, Verdict } from '../../../components/policy/index.js';
import { combineObservers, createPump, type PumpObserver } from '../../../components/pump/index.js';
import { startTracing } from '../../../components/tracing/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { seededRandom } from '../../helpers/seeded-random.js';
import { policyFromRules } from '../../helpers/test-policy.js';
import { memoryChannel } from '../pump/memory-channel.js';

function seededIds(seed: number): IdGenerator {
  const random = seededRandom(seed);
  const hex = (bytes: number) => Array.from({ length: bytes }, () => Math.floor(random() * 256).toString(16).padStart(2, '0')).join('');
  return { generateTraceId: () => hex(16), generateSpanId: () => hex(8) };
}

const deny = (reason: string): Verdict => ({ effect: 'deny', reason, message: `because ${reason}`, category: 'forbidden' });
const noRm: Rule = {
  id: 'no-rm', kind: 'tools', mode: 'enforce', direction: 'client-to-server', phase: 'request', methods: ['tools/call'],
  evaluate: (f) => ((f.body() as { params: { name: string } }).params.name === 'rm' ? deny('tool_not_allowed') : { effect: 'continue' }),
};

function setup(options: { inject?: boolean; rules?: Rule[]; extraObserver?: PumpObserver } = {}) {
  const exporter = new InMemorySpanExporter();
  const clock = new FakeClock();
  clock.advance(1_700_000_000_000);
  const tracing = startTracing({ url: 'http://127.0.0.1:4318', inject: options.inject ?? false }, {
    logger: captureLogs().logger, clock, transport: 'stdio', processor: new SimpleSpanProcessor(exporter), idGenerator: seededIds(7),
  });
  const client = memoryChannel(), server = memoryChannel();
  const observers = [tracing.observer as PumpObserver, ...(options.extraObserver === undefined ? [] : [options.extraObserver])];
  createPump({
    client, server, logger: captureLogs().logger, clock,
    events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
    policy: options.rules === undefined ? undefined : { current: policyFromRules(options.rules) },
    observer: combineObservers(observers),
  });
  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  return { tracing, client, server, clock, spans };
}

const ms = (time: readonly [number, number]) => time[0] * 1000 + time[1] / 1e6;

describe('tracer observer', () => {
  it('should give a tools/call a span named for its tool, with the conventions\' attributes, the decision and the outcome', () => {
    const s = setup();
    s.client.push('{"jsonrpc":"2.0","id":"call-1","method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}');
    s.clock.advance(40);
    s.server.push('{"jsonrpc":"2.0","id":"call-1","result":{"content":[{"type":"text","text":"hi"}]}}');
    const [span] = s.spans();
    assert.equal(s.spans().length, 1);
    assert.equal(span!.name, 'tools/call echo');
    assert.deepEqual(span!.attributes, {
      'mcp.method.name': 'tools/call', 'network.transport': 'pipe', 'mcp_sidecar.direction': 'client-to-server', 'jsonrpc.request.id': 'call-1',
      'gen_ai.tool.name': 'echo', 'gen_ai.operation.name': 'execute_tool', 'mcp_sidecar.outcome': 'forwarded', 'mcp_sidecar.decision': 'allow',
    });
    assert.equal(span!.kind, 1 /* SERVER */);
    assert.equal(span!.status.code, 0 /* UNSET */);
    assert.equal(ms(span!.endTime) - ms(span!.startTime), 40);
    assert.equal(span!.parentSpanContext, undefined, 'a new trace: the client sent no context');
  });

  it('should record a denied call with the rule, the reason and an error', () => {
    const s = setup({ rules: [noRm] });
    s.client.push('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"rm"}}');
    const [span] = s.spans();
    assert.equal(s.server.sent.length, 0, 'never reached the server');
    assert.equal(span!.name, 'tools/call rm');
    assert.equal(span!.attributes['mcp_sidecar.decision'], 'deny');
    assert.deepEqual(span!.attributes['mcp_sidecar.decision.rule_ids'], ['no-rm']);
    assert.deepEqual(span!.attributes['mcp_sidecar.decision.reasons'], ['tool_not_allowed']);
    assert.equal(span!.attributes['mcp_sidecar.outcome'], 'blocked');
    assert.equal(span!.status.code, 2 /* ERROR */);
    // Denied with a JSON-RPC error (-32010 to -32013): its code is the error type.
    assert.match(String(span!.attributes['error.type']), /^-3201[0-3]$/);
    assert.equal(span!.attributes['rpc.response.status_code'], span!.attributes['error.type']);
  });

  it('should record an upstream error by its JSON-RPC code, and a tool result with isError as tool_error', () => {
    const s = setup();
    s.client.push('{"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"name":"greet"}}');
    s.server.push('{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no such prompt"}}');
    s.client.push('{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"fail"}}');
    s.server.push('{"jsonrpc":"2.0","id":4,"result":{"content":[],"isError":true}}');
    const [prompt, tool] = s.spans();
    assert.equal(prompt!.name, 'prompts/get greet');
    assert.equal(prompt!.attributes['gen_ai.prompt.name'], 'greet');
    assert.equal(prompt!.attributes['mcp_sidecar.outcome'], 'upstream_error');
    assert.equal(prompt!.attributes['error.type'], '-32601');
    assert.equal(prompt!.attributes['rpc.response.status_code'], '-32601');
    assert.equal(tool!.attributes['error.type'], 'tool_error');
    assert.equal(tool!.attributes['mcp_sidecar.outcome'], 'forwarded');
    assert.equal(tool!.status.code, 2);
  });

  it('should continue a client\'s trace from params._meta.traceparent, and never inject over it', () => {
    const s = setup({ inject: true });
    const line = '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","_meta":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"vendor=x"}}}';
    s.client.push(line);
    s.server.push('{"jsonrpc":"2.0","id":5,"result":{}}');
    const [span] = s.spans();
    assert.equal(span!.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(span!.parentSpanContext?.spanId, 'b7ad6b7169203331');
    assert.equal(span!.spanContext().traceState?.serialize(), 'vendor=x');
    assert.equal(s.server.sent[0]!.line, `${line}\n`, 'the client\'s context passes as it was');
  });

  it('should start a new trace for a traceparent that is not one', () => {
    const s = setup();
    s.client.push('{"jsonrpc":"2.0","id":6,"method":"ping","params":{"_meta":{"traceparent":"00-00000000000000000000000000000000-b7ad6b7169203331-01"}}}');
    s.server.push('{"jsonrpc":"2.0","id":6,"result":{}}');
    assert.equal(s.spans()[0]!.parentSpanContext, undefined);
  });

  it('should, with --trace-inject, send a request without context to the server with the proxy\'s span as its parent', () => {
    const s = setup({ inject: true });
    s.client.push('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"n":1.0}}}');
    s.server.push('{"jsonrpc":"2.0","id":7,"result":{}}');
    const [span] = s.spans();
    const { traceId, spanId } = span!.spanContext();
    assert.equal(s.server.sent[0]!.line, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"_meta":{"traceparent":"00-${traceId}-${spanId}-01"},"name":"echo","arguments":{"n":1.0}}}\n`);
  });

  it('should, without --trace-inject, forward every request byte for byte', () => {
    const s = setup({ inject: false });
    const lines = ['{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"echo"}}', '{"jsonrpc":"2.0","id":9,"method":"ping"}'];
    for (const line of lines) s.client.push(line);
    assert.deepEqual(s.server.sent.map((sent) => sent.line), lines.map((line) => `${line}\n`));
  });

  it('should inject beside another observer (reports), each with its own trace', () => {
    const ends: unknown[] = [];
    const s = setup({ inject: true, extraObserver: { onFrame: () => 'report-trace', onRequestEnd: (end) => void ends.push(end.trace) } });
    s.client.push('{"jsonrpc":"2.0","id":10,"method":"ping"}');
    s.server.push('{"jsonrpc":"2.0","id":10,"result":{}}');
    assert.match(s.server.sent[0]!.line, /^\{"params":\{"_meta":\{"traceparent":"00-[0-9a-f]{32}-[0-9a-f]{16}-01"\}\},"jsonrpc"/);
    assert.deepEqual(ends, ['report-trace']);
  });

  it('should give the server\'s lifecycle events spans of their own', () => {
    const s = setup();
    s.tracing.observer.lifecycle({ event: 'spawn', generation: 0, pid: 123 });
    s.tracing.observer.lifecycle({ event: 'exit', generation: 0, pid: 123, exitCode: 1, signal: null, reason: 'crashed' });
    s.tracing.observer.lifecycle({ event: 'restart', generation: 0, attempt: 1, delayMs: 1000 });
    s.tracing.observer.lifecycle({ event: 'fatal', generation: 1, exitCode: 70, reason: 'gave up' });
    const spans = s.spans();
    assert.deepEqual(spans.map((span) => span.name), ['server spawn', 'server exit', 'server restart', 'server fatal']);
    assert.equal(spans[0]!.attributes['process.pid'], 123);
    assert.equal(spans[1]!.attributes['process.exit.code'], 1);
    assert.equal(spans[1]!.attributes['mcp_sidecar.server.reason'], 'crashed');
    assert.equal(spans[2]!.attributes['mcp_sidecar.server.restart.attempt'], 1);
    assert.equal(spans[3]!.status.code, 2);
  });
});
