/**
 * `--report-export`: the report file shipped to an OpenTelemetry Collector (OTLP/HTTP, JSON)
 * from a committed cursor, nothing lost (docs/report.md "Export"). Loaded only when configured:
 * it brings undici and p-retry.
 */
export { createReportExport, type ReportExport, type ReportExportOptions, type ReportExportStats, type ExportLogger } from './exporter.js';
export { cursorPathOf, readCursor, writeCursor, CURSOR_FORMAT, type ExportCursor } from './cursor.js';
export { encodeLogsRequest, recordFields, ATTRIBUTE, type ExportRecord, type ReportRecordFields } from './otlp.js';
