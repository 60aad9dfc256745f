import assert from 'node:assert/strict';
import { createServer as createTcpServer, connect, type Server } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { startAdminEndpoint, upstreamReadiness, type AdminEndpoint, type Readiness } from '../../../components/admin-endpoint/index.js';
import { isSidecarError } from '../../../components/errors/index.js';
import { createMetrics } from '../../../components/metrics/index.js';
import type { GovernorState } from '../../../components/proxy-process-governor/index.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { observed, sample } from '../metrics/exposition.js';

let open: AdminEndpoint[] = [];
afterEach(async () => {
  await Promise.all(open.map((endpoint) => endpoint.close()));
  open = [];
});

async function start(options: { readiness?: () => Readiness; render?: () => Promise<{ contentType: string; body: string }> } = {}) {
  const logs = captureLogs('info');
  const metrics = createMetrics({ defaultMetrics: false });
  const endpoint = await startAdminEndpoint({
    listen: { host: '127.0.0.1', port: 0 },
    metrics: options.render ? { render: options.render } : metrics,
    readiness: options.readiness ?? (() => ({ ready: true })),
    version: '9.8.7',
    logger: logs.logger,
  });
  open.push(endpoint);
  const url = (path: string): string => `http://127.0.0.1:${endpoint.address.port}${path}`;
  return { endpoint, metrics, logs, url, get: (path: string, init?: RequestInit) => fetch(url(path), init) };
}

// Sends raw bytes and returns what came back before the server closed the connection.
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('admin endpoint', () => {
  it('should answer /healthz, /version and /metrics, on loopback', async () => {
    const s = await start();
    assert.equal(s.endpoint.address.host, '127.0.0.1');
    assert.ok(s.endpoint.address.port > 0);
    assert.match(s.logs.text(), /admin endpoint listening/);

    const health = await s.get('/healthz');
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'ok\n');
    assert.equal(health.headers.get('cache-control'), 'no-store');

    const version = await s.get('/version');
    assert.equal(version.status, 200);
    assert.match(version.headers.get('content-type')!, /^application\/json/);
    assert.deepEqual(await version.json(), { name: 'mcp-sidecar', version: '9.8.7', node: process.version });

    const metrics = await s.get('/metrics');
    assert.equal(metrics.status, 200);
    assert.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(await metrics.text(), /^# TYPE mcp_sidecar_frames_total counter$/m);
  });

  it('should show traffic on /metrics as it flows', async () => {
    const s = await start();
    const scrape = async (): Promise<string> => (await s.get('/metrics')).text();
    const labels = { direction: 'client-to-server', kind: 'request', method: 'tools/call' };
    assert.equal(sample(await scrape(), 'mcp_sidecar_frames_total', labels), undefined);
    const request = observed();
    const trace = s.metrics.observer.onFrame(request);
    let body = await scrape();
    assert.equal(sample(body, 'mcp_sidecar_frames_total', labels), 1);
    assert.equal(sample(body, 'mcp_sidecar_invocations_in_flight'), 1);
    s.metrics.observer.onRequestEnd({ trace, request, outcome: 'forwarded', reply: undefined, response: undefined, at: 0 });
    body = await scrape();
    assert.equal(sample(body, 'mcp_sidecar_invocations_in_flight'), 0);
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_count', { method: 'tools/call', outcome: 'forwarded' }), 1);
  });

  it('should answer /readyz with 200, or 503 and the reason, as readiness changes', async () => {
    let state: GovernorState = 'ready';
    const s = await start({ readiness: () => upstreamReadiness(state) });
    const ready = await s.get('/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true });

    const expected: Array<[GovernorState, number, RegExp?]> = [
      ['backoff', 503, /being restarted/], ['recovering', 503, /session is being recovered/], ['starting', 200], ['ready', 200],
      ['fatal', 503, /will not be restarted/], ['stopping', 503, /stopping/], ['stopped', 503, /stopping/],
    ];
    for (const [next, status, reason] of expected) {
      state = next;
      const response = await s.get('/readyz');
      assert.equal(response.status, status, next);
      const body = await response.json() as { ready: boolean; reason?: string };
      assert.equal(body.ready, status === 200);
      if (reason) assert.match(body.reason!, reason);
    }
  });

  it('should answer 503 when the readiness check throws, and 500 when metrics cannot be rendered, and keep serving', async () => {
    const s = await start({
      readiness: () => {
        throw new Error('no governor yet');
      },
      render: async () => {
        throw new Error('collector broke');
      },
    });
    const readyz = await s.get('/readyz');
    assert.equal(readyz.status, 503);
    assert.match((await readyz.json() as { reason: string }).reason, /readiness check failed: no governor yet/);
    const metrics = await s.get('/metrics');
    assert.equal(metrics.status, 500);
    assert.equal(await metrics.text(), 'internal error\n');
    assert.ok(s.logs.entries.some((e) => e.msg === 'the admin endpoint failed to answer' && e.err === 'collector broke'));
    assert.equal((await s.get('/healthz')).status, 200);
  });

  it('should answer 404 to other paths, 405 to other methods, HEAD like GET, and ignore the query', async () => {
    const s = await start();
    for (const path of ['/', '/metrics/', '/mcp', '/healthz/x', '/METRICS', '/%2e%2e/etc/passwd']) {
      const response = await s.get(path);
      assert.equal(response.status, 404, path);
      await response.arrayBuffer();
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const response = await s.get('/metrics', { method, body: method === 'POST' || method === 'PUT' ? 'x'.repeat(100_000) : undefined });
      assert.equal(response.status, 405, method);
      assert.equal(response.headers.get('allow'), 'GET, HEAD');
      await response.arrayBuffer();
    }
    const head = await s.get('/healthz', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.equal((await s.get('/healthz?verbose=1')).status, 200);
  });

  it('should survive malformed requests', async () => {
    const s = await start();
    const port = s.endpoint.address.port;
    assert.match(await raw(port, 'NONSENSE\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.match(await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n'), /^HTTP\/1\.1 400/);
    // Over the 16 KiB header limit, yet read whole in one go: a server that closes with bytes
    // unread resets the connection, and the client may then lose the 431 (seen on Node 26).
    assert.match(await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), /^HTTP\/1\.1 431/);
    assert.match(await raw(port, 'GET *\u0000 HTTP/1.1\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.match(await raw(port, 'GET http://elsewhere/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 404/);
    assert.equal((await s.get('/healthz')).status, 200);
  });

  it('should refuse to start on a port in use with SIDECAR_ERR_CONFIG_INVALID, saying where and what to do', async () => {
    const blocker: Server = createTcpServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(
        startAdminEndpoint({ listen: { host: '127.0.0.1', port }, metrics: createMetrics({ defaultMetrics: false }), readiness: () => ({ ready: true }), version: '1', logger: captureLogs().logger }),
        (error: unknown) => {
          assert.ok(isSidecarError(error));
          assert.equal(error.code, 'SIDECAR_ERR_CONFIG_INVALID');
          assert.match(error.message, new RegExp(`admin endpoint cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`));
          assert.match(error.hint!, /--admin/);
          assert.equal((error.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
          return true;
        },
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('should free its port on close, closing kept-alive connections, and close once', async () => {
    const s = await start();
    const { port } = s.endpoint.address;
    assert.equal((await s.get('/healthz')).status, 200); // leaves a kept-alive connection
    await s.endpoint.close();
    await s.endpoint.close();
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    const again = await startAdminEndpoint({ listen: { host: '127.0.0.1', port }, metrics: s.metrics, readiness: () => ({ ready: true }), version: '1', logger: captureLogs().logger });
    open.push(again);
    assert.equal(again.address.port, port);
  });
});
