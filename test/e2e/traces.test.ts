// --otlp-traces end to end: the built proxy exports spans over OTLP/HTTP (JSON) to a receiver
// in this test (node:http, decoding what the exporter sends): a span per invocation with the
// MCP conventions, the decision and the outcome; a client's traceparent continued; --trace-inject
// on and off (byte for byte off); the server's restart as lifecycle spans.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fixtureServer } from '../helpers/paths.js';
import { spawnProxy, type ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

interface OtlpValue { stringValue?: string; intValue?: string | number; boolValue?: boolean; arrayValue?: { values?: OtlpValue[] } }
interface OtlpSpan {
  traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number;
  attributes?: Array<{ key: string; value: OtlpValue }>; status?: { code?: number };
}
interface ExportedSpan { readonly name: string; readonly traceId: string; readonly spanId: string; readonly parentSpanId: string | undefined; readonly status: number; readonly attributes: Record<string, unknown> }

function plain(value: OtlpValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(plain);
  return value;
}

/** A Collector's OTLP/HTTP traces endpoint, in this process: every span it was sent, and what each request was sent as. */
async function startReceiver(t: TestContext): Promise<{ url: string; spans: ExportedSpan[]; contentTypes: string[] }> {
  const spans: ExportedSpan[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      contentTypes.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
      for (const resource of body.resourceSpans) {
        for (const scope of resource.scopeSpans) {
          for (const span of scope.spans) {
            spans.push({
              name: span.name, traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId || undefined, status: span.status?.code ?? 0,
              attributes: Object.fromEntries((span.attributes ?? []).map(({ key, value }) => [key, plain(value)])),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, contentTypes };
}

const POLICY = `apiVersion: mcp-sidecar/v1
kind: Policy
metadata: { name: traces, revision: 1 }
mode: enforce
rules:
  - id: no-rm
    tools: { deny: ["rm"] }
`;

function start(t: TestContext, args: string[]): ProxyProcess {
  const proxy = spawnProxy([process.execPath, fixtureServer('scripted-server.js')], { args, logLevel: 'info' });
  t.after(() => proxy.dispose());
  return proxy;
}

async function call(proxy: ProxyProcess, message: Record<string, unknown>) {
  proxy.send({ jsonrpc: '2.0', ...message });
  const { json } = await proxy.nextFrame(10_000);
  assert.equal(json.id, message['id'], JSON.stringify(json));
  return json;
}

/** What the server received for a fixture/echo, as bytes. */
const echoed = (result: { raw: string }) => Buffer.from(result.raw, 'base64').toString('utf8');

describe('traces over OTLP/HTTP', () => {
  it('should export a span per invocation: forwarded, denied, an upstream error, a client\'s trace continued', async (t) => {
    const receiver = await startReceiver(t);
    const dir = tempDir('traces');
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    const proxy = start(t, ['--otlp-traces', receiver.url, '--policy', join(dir, 'policy.yaml')]);
    const echoLine = '{"jsonrpc":"2.0","id":1,"method":"fixture/echo","params":{"n":1.0}}';
    proxy.write(`${echoLine}\n`);
    const echo = (await proxy.nextFrame(10_000)).json;
    assert.equal(echoed(echo.result), echoLine, 'without --trace-inject the server gets the bytes as sent');
    const denied = await call(proxy, { id: 2, method: 'tools/call', params: { name: 'rm', arguments: {} } });
    assert.ok(denied.error !== undefined || denied.result?.isError === true);
    await call(proxy, { id: 3, method: 'no/such', params: {} });
    await call(proxy, { id: 4, method: 'ping', params: { _meta: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } } });
    proxy.endInput();
    assert.equal((await proxy.waitForExit()).code, 0);

    assert.ok(receiver.contentTypes.every((line) => line === 'POST /v1/traces application/json'), receiver.contentTypes.join('; '));
    const byId = (id: string) => receiver.spans.find((span) => span.attributes['jsonrpc.request.id'] === id)!;
    assert.deepEqual(byId('1').attributes, {
      'mcp.method.name': 'fixture/echo', 'network.transport': 'pipe', 'mcp_sidecar.direction': 'client-to-server', 'jsonrpc.request.id': '1',
      'mcp_sidecar.outcome': 'forwarded', 'mcp_sidecar.decision': 'allow',
    });
    const deniedSpan = byId('2');
    assert.equal(deniedSpan.name, 'tools/call rm');
    assert.equal(deniedSpan.attributes['gen_ai.tool.name'], 'rm');
    assert.equal(deniedSpan.attributes['gen_ai.operation.name'], 'execute_tool');
    assert.equal(deniedSpan.attributes['mcp_sidecar.decision'], 'deny');
    assert.deepEqual(deniedSpan.attributes['mcp_sidecar.decision.rule_ids'], ['no-rm']);
    assert.equal(deniedSpan.attributes['mcp_sidecar.outcome'], 'blocked');
    assert.equal(deniedSpan.status, 2);
    const upstream = byId('3');
    assert.equal(upstream.attributes['mcp_sidecar.outcome'], 'upstream_error');
    assert.equal(upstream.attributes['error.type'], '-32601');
    const continued = byId('4');
    assert.equal(continued.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(continued.parentSpanId, 'b7ad6b7169203331');
    assert.ok(receiver.spans.some((span) => span.name === 'server spawn'), 'the server\'s start');
  });

  it('should, with --trace-inject, hand the server the proxy\'s span as params._meta.traceparent', async (t) => {
    const receiver = await startReceiver(t);
    const proxy = start(t, ['--otlp-traces', receiver.url, '--trace-inject']);
    const echo = await call(proxy, { id: 'e1', method: 'fixture/echo', params: { n: 1 } });
    const received = JSON.parse(echoed(echo.result)) as { params: { n: number; _meta: { traceparent: string } } };
    assert.equal(received.params.n, 1);
    const [, traceId, spanId] = received.params._meta.traceparent.split('-');
    proxy.endInput();
    await proxy.waitForExit();
    const span = receiver.spans.find((s) => s.attributes['jsonrpc.request.id'] === 'e1')!;
    assert.deepEqual([span.traceId, span.spanId], [traceId, spanId]);
  });

  it('should export the server\'s exit and restart as spans', async (t) => {
    const receiver = await startReceiver(t);
    const proxy = start(t, ['--otlp-traces', receiver.url, '--restart-backoff-ms', '0']);
    proxy.send({ jsonrpc: '2.0', id: 1, method: 'fixture/exit', params: { code: 3 } });
    const failed = (await proxy.nextFrame(10_000)).json;
    assert.equal(failed.id, 1);
    // Held while the server restarts, answered by the new one.
    await call(proxy, { id: 2, method: 'ping' });
    proxy.endInput();
    await proxy.waitForExit();
    const names = receiver.spans.filter((span) => span.name.startsWith('server ')).map((span) => `${span.name}#${span.attributes['mcp_sidecar.server.generation']}`);
    for (const expected of ['server spawn#0', 'server exit#0', 'server restart#0', 'server spawn#1']) assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
    const exit = receiver.spans.find((span) => span.name === 'server exit')!;
    assert.equal(exit.attributes['process.exit.code'], 3);
    const failedSpan = receiver.spans.find((span) => span.attributes['jsonrpc.request.id'] === '1')!;
    assert.equal(failedSpan.attributes['mcp_sidecar.outcome'], 'upstream_exited');
  });
});
