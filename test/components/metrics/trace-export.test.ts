// mcp_sidecar_trace_spans_{exported,dropped}_total: what the trace exporter (--otlp-traces) got
// through to the Collector and what it dropped, read at each scrape.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../../components/metrics/index.js';
import { sample } from './exposition.js';

describe('trace export counts', () => {
  it('should mirror the exporter\'s counts, and read 0 without --otlp-traces', async () => {
    const metrics = createMetrics({ defaultMetrics: false, clock: () => 1000 });
    let body = (await metrics.render()).body;
    assert.equal(sample(body, 'mcp_sidecar_trace_spans_exported_total'), 0);
    const stats = { exported: 0, dropped: 0 };
    metrics.watchTraceExport(() => stats);
    stats.exported = 12;
    stats.dropped = 3;
    body = (await metrics.render()).body;
    assert.equal(sample(body, 'mcp_sidecar_trace_spans_exported_total'), 12);
    assert.equal(sample(body, 'mcp_sidecar_trace_spans_dropped_total'), 3);
    stats.exported = 20;
    assert.equal(sample((await metrics.render()).body, 'mcp_sidecar_trace_spans_exported_total'), 20, 'a counter that follows the exporter');
  });
});
