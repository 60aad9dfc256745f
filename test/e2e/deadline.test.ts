// Request deadlines through the built CLI (--request-timeout-ms): a call the server sits on is
// answered with SIDECAR_ERR_REQUEST_TIMEOUT, the server receives notifications/cancelled for it
// under the id it saw, and its late answer never reaches the client.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { spawnProxy } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const GOVERNOR_FIXTURE = [process.execPath, `${ROOT}/test/fixtures/governor/mcp-server.js`];

describe('request deadlines', () => {
  test('a request past its deadline gets -32008, the server is told to cancel it, and its late answer is dropped', async (t) => {
    const record = join(tempDir('deadline-e2e'), 'received');
    // The server reads nothing for 1.5 s: the call's 300 ms deadline passes while it waits.
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_'))), START_DELAY_MS: '1500', RECORD_FILE: record };
    const proxy = spawnProxy(GOVERNOR_FIXTURE, { args: ['--request-timeout-ms', '300', '--pass-env', 'START_DELAY_MS', '--pass-env', 'RECORD_FILE'], env });
    t.after(() => proxy.dispose());

    proxy.send({ jsonrpc: '2.0', id: 'call-1', method: 'tools/call', params: { name: 'slow', arguments: {} } });
    const { json: timedOut } = await proxy.nextFrame(5000);
    assert.equal(timedOut.id, 'call-1');
    const error = timedOut.error as { code: number; data: Record<string, unknown> };
    assert.equal(error.code, -32008);
    assert.deepEqual(error.data, { category: 'transient_error', code: 'SIDECAR_ERR_REQUEST_TIMEOUT', retryable: true, timeoutMs: 300 });

    // Once the server reads, it gets the call and its cancellation, and answers the call (late).
    await waitFor(() => {
      try {
        return readFileSync(record, 'utf8').includes('notifications/cancelled');
      } catch {
        return false;
      }
    }, 5000, 'the server to receive the cancellation');
    const received = readFileSync(record, 'utf8').trim().split('\n').map((line) => JSON.parse(line.slice(line.indexOf(' ') + 1)) as Record<string, any>);
    assert.deepEqual(received.map((m) => m['method']), ['tools/call', 'notifications/cancelled']);
    assert.equal(received[1]!['params'].requestId, 'call-1');

    proxy.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    const { json: next } = await proxy.nextFrame(5000);
    assert.deepEqual(next, { jsonrpc: '2.0', id: 2, result: {} }, 'the late answer to call-1 never came through');
    await proxy.waitForLog((r) => r.msg === 'dropped an answer that came after its request\'s deadline');
    proxy.assertStdoutClean();
  });
});
