import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { createMetrics, DURATION_BUCKETS_SECONDS, KNOWN_METHODS, methodLabel, type UpstreamSource } from '../../../components/metrics/index.js';
import type { GovernorState } from '../../../components/proxy-process-governor/index.js';
import { decision, ended, observed, sample, samples, types } from './exposition.js';

// The series docs/operations.md documents, with their types.
const DOCUMENTED: Record<string, string> = {
  mcp_sidecar_frames_total: 'counter',
  mcp_sidecar_policy_decisions_total: 'counter',
  mcp_sidecar_invocations_in_flight: 'gauge',
  mcp_sidecar_invocation_duration_seconds: 'histogram',
  mcp_sidecar_upstream_restarts_total: 'counter',
  mcp_sidecar_upstream_up: 'gauge',
  mcp_sidecar_upstream_ready: 'gauge',
  mcp_sidecar_policy_info: 'gauge',
  mcp_sidecar_report_queue_length: 'gauge',
  mcp_sidecar_reports_written_total: 'counter',
  mcp_sidecar_reports_dropped_total: 'counter',
  mcp_sidecar_report_write_failures_total: 'counter',
  mcp_sidecar_http_sessions: 'gauge',
  // prom-client's defaults, prefixed (a few of them).
  mcp_sidecar_process_cpu_seconds_total: 'counter',
  mcp_sidecar_process_resident_memory_bytes: 'gauge',
  mcp_sidecar_nodejs_eventloop_lag_seconds: 'gauge',
  mcp_sidecar_nodejs_heap_size_used_bytes: 'gauge',
};

// A clock the test moves by hand (milliseconds).
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const text = async (metrics: { render(): Promise<{ body: string }> }): Promise<string> => (await metrics.render()).body;

describe('metrics', () => {
  it('should list every documented series, with its type, and only mcp_sidecar_ names', async () => {
    const metrics = createMetrics();
    const rendered = await metrics.render();
    assert.equal(rendered.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const found = types(rendered.body);
    for (const [name, type] of Object.entries(DOCUMENTED)) assert.equal(found.get(name), type, name);
    for (const name of found.keys()) assert.match(name, /^mcp_sidecar_/);
    for (const [name, type] of found) if (type === 'counter') assert.match(name, /_total$/, name);
  });

  it('should count frames by direction, kind and method, and move as traffic flows', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const { observer } = metrics;
    const request = observed();
    observer.onFrame(request);
    observer.onFrame(observed({ direction: 'server-to-client', phase: 'response', kind: 'response' }));
    observer.onFrame(observed({ kind: 'notification', method: 'notifications/initialized', id: undefined }));
    let body = await text(metrics);
    assert.equal(sample(body, 'mcp_sidecar_frames_total', { direction: 'client-to-server', kind: 'request', method: 'tools/call' }), 1);
    assert.equal(sample(body, 'mcp_sidecar_frames_total', { direction: 'server-to-client', kind: 'response', method: 'tools/call' }), 1);
    assert.equal(sample(body, 'mcp_sidecar_frames_total', { direction: 'client-to-server', kind: 'notification', method: 'notifications/initialized' }), 1);

    for (let i = 0; i < 5; i++) observer.onFrame(request);
    body = await text(metrics);
    assert.equal(sample(body, 'mcp_sidecar_frames_total', { direction: 'client-to-server', kind: 'request', method: 'tools/call' }), 6);
    assert.equal(samples(body, 'mcp_sidecar_frames_total').length, 3, 'no series for what never happened');
  });

  it('should bound the method label: methods MCP does not define count as other', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    for (let i = 0; i < 5000; i++) metrics.observer.onFrame(observed({ kind: 'notification', method: `x/${i}`, id: undefined }));
    metrics.observer.onFrame(observed({ method: 'tools/call\u0000' }));
    const body = await text(metrics);
    assert.deepEqual(samples(body, 'mcp_sidecar_frames_total'), [
      'mcp_sidecar_frames_total{direction="client-to-server",kind="request",method="other"} 1',
      'mcp_sidecar_frames_total{direction="client-to-server",kind="notification",method="other"} 5000',
    ]);
    for (const method of KNOWN_METHODS) assert.equal(methodLabel(method), method);
    assert.equal(methodLabel('constructor'), 'other');
    assert.equal(methodLabel('__proto__'), 'other');
  });

  it('should count decisions by rule, effect and enforced or would-have', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observer.onFrame(observed({ decisions: [decision('no-writes', 'deny', true)], action: 'deny' }));
    metrics.observer.onFrame(observed({ decisions: [decision('no-writes', 'deny', false), decision('redact', 'rewrite', false)] }));
    metrics.observer.onFrame(observed({ direction: 'server-to-client', phase: 'response', kind: 'response', decisions: [decision('redact', 'rewrite', true)], action: 'replace' }));
    metrics.observer.onFrame(observed({ decisions: [decision('no-writes', 'deny', true)], action: 'deny' }));
    const body = await text(metrics);
    assert.equal(sample(body, 'mcp_sidecar_policy_decisions_total', { rule: 'no-writes', effect: 'deny', enforced: 'true' }), 2);
    assert.equal(sample(body, 'mcp_sidecar_policy_decisions_total', { rule: 'no-writes', effect: 'deny', enforced: 'false' }), 1);
    assert.equal(sample(body, 'mcp_sidecar_policy_decisions_total', { rule: 'redact', effect: 'rewrite', enforced: 'false' }), 1);
    assert.equal(sample(body, 'mcp_sidecar_policy_decisions_total', { rule: 'redact', effect: 'rewrite', enforced: 'true' }), 1);
    assert.equal(samples(body, 'mcp_sidecar_policy_decisions_total').length, 4);
  });

  it('should cap the rule label at 1000 ids, then count the rest as other', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    for (let i = 0; i < 1005; i++) metrics.observer.onFrame(observed({ decisions: [decision(`rule-${i}`, 'deny', true)] }));
    const body = await text(metrics);
    assert.equal(samples(body, 'mcp_sidecar_policy_decisions_total').length, 1001);
    assert.equal(sample(body, 'mcp_sidecar_policy_decisions_total', { rule: 'other', effect: 'deny', enforced: 'true' }), 5);
  });

  it('should track requests in flight and time them by method and outcome, in seconds', async () => {
    const clock = manualClock();
    const metrics = createMetrics({ clock: clock.now, defaultMetrics: false });
    const { observer } = metrics;
    const call = observed();
    const list = observed({ method: 'tools/list', id: '2' });
    const callTrace = observer.onFrame(call);
    const listTrace = observer.onFrame(list);
    assert.equal(observer.onFrame(observed({ kind: 'notification', id: undefined, method: 'notifications/progress' })), undefined, 'no trace for a notification');
    assert.equal(sample(await text(metrics), 'mcp_sidecar_invocations_in_flight'), 2);

    clock.advance(3);
    observer.onRequestEnd(ended(listTrace, list, 'blocked'));
    clock.advance(1997);
    observer.onRequestEnd(ended(callTrace, call, 'forwarded'));
    // A dropped notification ends without a trace: nothing to time.
    observer.onRequestEnd(ended(undefined, observed({ kind: 'notification', id: undefined }), 'blocked'));

    const body = await text(metrics);
    assert.equal(sample(body, 'mcp_sidecar_invocations_in_flight'), 0);
    const call_ = { method: 'tools/call', outcome: 'forwarded' };
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_count', call_), 1);
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_sum', call_), 2);
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_bucket', { ...call_, le: '1' }), 0);
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_bucket', { ...call_, le: '2.5' }), 1);
    const list_ = { method: 'tools/list', outcome: 'blocked' };
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_bucket', { ...list_, le: '0.0025' }), 0);
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_bucket', { ...list_, le: '0.005' }), 1);
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_count', { method: 'tools/call', outcome: 'blocked' }), undefined);
    // Buckets from 1 ms to 60 s.
    const les = samples(body, 'mcp_sidecar_invocation_duration_seconds_bucket').filter((l) => l.includes('tools/list')).map((l) => /le="([^"]+)"/.exec(l)![1]);
    assert.deepEqual(les, [...DURATION_BUCKETS_SECONDS.map(String), '+Inf']);
    assert.equal(DURATION_BUCKETS_SECONDS[0], 0.001);
    assert.equal(DURATION_BUCKETS_SECONDS.at(-1), 60);
  });

  it('should expose durations exactly as a prom-client Histogram would, and in getMetricsAsJSON', async () => {
    const clock = manualClock();
    const metrics = createMetrics({ clock: clock.now, defaultMetrics: false });
    const reference = new Registry();
    const histogram = new Histogram({
      name: 'mcp_sidecar_invocation_duration_seconds', help: 'Time from a request to its end (answered, denied, failed, cancelled), by method and outcome',
      labelNames: ['method', 'outcome'], buckets: [...DURATION_BUCKETS_SECONDS], registers: [reference],
    });
    const cases: Array<[string, 'forwarded' | 'upstream_error', number]> = [
      ['tools/call', 'forwarded', 0.4], ['tools/call', 'forwarded', 1], ['tools/call', 'forwarded', 2.5], ['tools/call', 'forwarded', 61_000],
      ['x/unknown', 'upstream_error', 12], ['resources/read', 'forwarded', 0], ['tools/call', 'forwarded', 7.25],
    ];
    for (const [method, outcome, ms] of cases) {
      const request = observed({ method });
      const trace = metrics.observer.onFrame(request);
      clock.advance(ms);
      metrics.observer.onRequestEnd(ended(trace, request, outcome));
      histogram.observe({ method: method === 'x/unknown' ? 'other' : method, outcome }, ms / 1000);
    }
    const block = (text: string): string[] => text.split('\n').filter((l) => l.includes('mcp_sidecar_invocation_duration_seconds')).sort();
    assert.deepEqual(block(await text(metrics)), block(await reference.metrics()));
    const json = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'mcp_sidecar_invocation_duration_seconds');
    assert.equal(json?.values.find((v) => (v as { metricName?: string }).metricName === 'mcp_sidecar_invocation_duration_seconds_count' && v.labels.method === 'other')?.value, 1);
    metrics.registry.resetMetrics();
    assert.equal(sample(await text(metrics), 'mcp_sidecar_invocation_duration_seconds_count', { method: 'tools/call', outcome: 'forwarded' }), undefined);
  });

  it('should serve several pumps at once: each request carries its own start time', async () => {
    const clock = manualClock();
    const metrics = createMetrics({ clock: clock.now, defaultMetrics: false });
    const sessionA = metrics.observer;
    const sessionB = metrics.observer;
    // The same id in two sessions, interleaved.
    const a = observed({ id: '1' });
    const b = observed({ id: '1' });
    const traceA = sessionA.onFrame(a);
    clock.advance(40);
    const traceB = sessionB.onFrame(b);
    clock.advance(10);
    sessionA.onRequestEnd(ended(traceA, a)); // 50 ms
    clock.advance(1);
    sessionB.onRequestEnd(ended(traceB, b)); // 11 ms
    const body = await text(metrics);
    const labels = { method: 'tools/call', outcome: 'forwarded' };
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_count', labels), 2);
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_sum', labels), 0.061);
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_bucket', { ...labels, le: '0.025' }), 1);
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_bucket', { ...labels, le: '0.05' }), 2);
    assert.equal(sample(body, 'mcp_sidecar_invocations_in_flight'), 0);
  });

  it('should bound the outcome label', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const request = observed();
    metrics.observer.onRequestEnd({ ...ended(metrics.observer.onFrame(request), request), outcome: 'made-up' as never });
    assert.equal(sample(await text(metrics), 'mcp_sidecar_invocation_duration_seconds_count', { method: 'tools/call', outcome: 'other' }), 1);
  });

  it('should read the servers\' state at each scrape: up, ready, restarts (kept after a session ends)', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const upstream: { state: GovernorState; generation: number } = { state: 'starting', generation: 0 };
    const untrack = metrics.trackUpstream(upstream);
    const read = async (): Promise<[number?, number?, number?]> => {
      const body = await text(metrics);
      return [sample(body, 'mcp_sidecar_upstream_up'), sample(body, 'mcp_sidecar_upstream_ready'), sample(body, 'mcp_sidecar_upstream_restarts_total')];
    };
    assert.deepEqual(await read(), [1, 1, 0]);
    upstream.state = 'ready';
    assert.deepEqual(await read(), [1, 1, 0]);
    upstream.state = 'backoff';
    assert.deepEqual(await read(), [0, 0, 0]);
    upstream.state = 'recovering';
    upstream.generation = 1;
    assert.deepEqual(await read(), [1, 0, 1]);
    upstream.state = 'ready';
    assert.deepEqual(await read(), [1, 1, 1]);

    // A second session (HTTP mode): counts add up.
    const other: UpstreamSource = { state: 'ready', generation: 2 };
    const untrackOther = metrics.trackUpstream(other);
    assert.deepEqual(await read(), [2, 2, 3]);
    untrackOther();
    untrackOther();
    assert.deepEqual(await read(), [1, 1, 3], 'its restarts stay counted, once');
    upstream.state = 'fatal';
    assert.deepEqual(await read(), [0, 0, 3]);
    untrack();
    assert.deepEqual(await read(), [0, 0, 3]);
  });

  it('should show the policy in force as an info metric, the old label set gone after a reload', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    assert.deepEqual(samples(await text(metrics), 'mcp_sidecar_policy_info'), [], 'no policy file: no series');
    let policy = { name: 'readonly', revision: '3', digest: 'sha256:aaa', mode: 'enforce' };
    metrics.watchPolicy(() => policy);
    assert.deepEqual(samples(await text(metrics), 'mcp_sidecar_policy_info'), ['mcp_sidecar_policy_info{name="readonly",revision="3",digest="sha256:aaa",mode="enforce"} 1']);
    policy = { ...policy, revision: '4', digest: 'sha256:bbb' };
    assert.deepEqual(samples(await text(metrics), 'mcp_sidecar_policy_info'), ['mcp_sidecar_policy_info{name="readonly",revision="4",digest="sha256:bbb",mode="enforce"} 1']);
  });

  it('should read the report sink\'s lag, writes, drops and failures at each scrape', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const stats = { queued: 0, written: 0, dropped: 0, failures: 0 };
    metrics.watchReportSink(() => stats);
    let body = await text(metrics);
    assert.equal(sample(body, 'mcp_sidecar_report_queue_length'), 0);
    assert.equal(sample(body, 'mcp_sidecar_reports_written_total'), 0);
    Object.assign(stats, { queued: 7, written: 120, dropped: 3, failures: 2 });
    body = await text(metrics);
    assert.equal(sample(body, 'mcp_sidecar_report_queue_length'), 7);
    assert.equal(sample(body, 'mcp_sidecar_reports_written_total'), 120);
    assert.equal(sample(body, 'mcp_sidecar_reports_dropped_total'), 3);
    assert.equal(sample(body, 'mcp_sidecar_report_write_failures_total'), 2);
  });

  it('should read the HTTP sessions, and survive a source that throws', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let sessions = 3;
    metrics.watchHttpSessions(() => sessions);
    assert.equal(sample(await text(metrics), 'mcp_sidecar_http_sessions'), 3);
    sessions = 1;
    assert.equal(sample(await text(metrics), 'mcp_sidecar_http_sessions'), 1);
    metrics.watchHttpSessions(() => {
      throw new Error('gone');
    });
    metrics.watchReportSink(() => {
      throw new Error('gone');
    });
    const body = await text(metrics);
    assert.equal(sample(body, 'mcp_sidecar_http_sessions'), 0);
    assert.equal(sample(body, 'mcp_sidecar_report_queue_length'), 0);
  });

  it('should register in a registry it is given', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry, defaultMetrics: false });
    assert.equal(metrics.registry, registry);
    assert.ok(registry.getSingleMetric('mcp_sidecar_frames_total'));
  });
});
