import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createReportChain } from '../../../components/execution-report/index.js';
import { cursorPathOf, encodeLogsRequest, readCursor, recordFields, writeCursor } from '../../../components/report-export/index.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { transcript } from '../execution-report/reports.js';
import { parseRecords } from './otlp-receiver.js';

describe('OTLP logs JSON encoding of report lines', () => {
  it('should carry the line as the body and the digest, seq and kind as attributes, 64-bit numbers as strings', () => {
    const chain = createReportChain({ clock: () => new Date(Date.UTC(2026, 0, 1)) });
    const report = chain.append(transcript()[1]!);
    const text = encodeLogsRequest([{ line: report.line, fields: recordFields(report.line) }], { serviceName: 'mcp-sidecar', reportFile: '/r.ndjson' }, Date.UTC(2026, 0, 2));
    const request = JSON.parse(text) as { resourceLogs: [{ resource: { attributes: { key: string }[] }; scopeLogs: [{ logRecords: [Record<string, unknown>] }] }] };
    const record = request.resourceLogs[0].scopeLogs[0].logRecords[0];
    assert.equal(record['timeUnixNano'], `${Date.UTC(2026, 0, 1)}000000`);
    assert.equal(record['observedTimeUnixNano'], `${Date.UTC(2026, 0, 2)}000000`);
    assert.equal(record['severityNumber'], 9);
    assert.deepEqual(request.resourceLogs[0].resource.attributes.map((a) => a.key), ['service.name', 'mcp_sidecar.report.file']);
    assert.deepEqual(parseRecords(text), [{ body: report.line, digest: report.digest, seq: 1, kind: 'invocation' }]);
  });

  it('should still export a line that is not a report, as its text without attributes', () => {
    assert.deepEqual(recordFields('not json'), {});
    const text = encodeLogsRequest([{ line: 'not json', fields: {} }], { serviceName: 'mcp-sidecar', reportFile: '/r' }, 0);
    assert.deepEqual(parseRecords(text), [{ body: 'not json', digest: undefined, seq: undefined, kind: undefined }]);
  });
});

describe('the export cursor file', () => {
  it('should be absent before the first commit, and read back what was written, leaving no temporary file', async () => {
    const dir = tempDir('export-cursor');
    const path = cursorPathOf(join(dir, 'reports.ndjson'));
    assert.equal(await readCursor(path), undefined);
    const cursor = { fileId: '1:2', offset: 1234, seq: 7, digest: `sha256:${'a'.repeat(64)}` };
    await writeCursor(path, cursor);
    await writeCursor(path, { ...cursor, offset: 2000, seq: 9 });
    assert.deepEqual(await readCursor(path), { ...cursor, offset: 2000, seq: 9 });
    assert.deepEqual(readdirSync(dir), ['reports.ndjson.export-cursor']);
    assert.equal(existsSync(`${path}.tmp`), false);
  });

  it('should refuse a file that is not a cursor', async () => {
    const path = join(tempDir('export-cursor'), 'c');
    writeFileSync(path, JSON.stringify({ format: 'mcp-sidecar-export-cursor/1', fileId: 'x', offset: -1, seq: 0, digest: null }));
    await assert.rejects(readCursor(path), /not an export cursor/);
  });
});
