/**
 * Report lines as OpenTelemetry log records, in the OTLP/HTTP JSON encoding
 * (`resourceLogs` → `scopeLogs` → `logRecords`; opentelemetry-proto's JSON mapping: 64-bit
 * integers as decimal strings, enums as numbers). Each record's body is the report line itself,
 * a string, byte for byte as it is in the file: its digest is taken over that text's canonical
 * content, so a receiver can verify it as `report verify` does; a kvlist would lose that. The
 * attributes repeat what a pipeline routes and de-duplicates by: the digest, seq, kind.
 */

export interface ReportRecordFields {
  readonly digest?: string;
  readonly prevDigest?: string | null;
  readonly seq?: number;
  readonly kind?: string;
  readonly outcome?: string;
  readonly event?: string;
  /** `timing.finishedAt` ?? `timing.startedAt`, in ms since the epoch. */
  readonly timeMs?: number;
}

/** What the exporter reads from a line, for the attributes; a line that is not a report object gives `{}` (it is still exported, as its text). */
export function recordFields(line: string): ReportRecordFields {
  let report: Record<string, unknown>;
  try {
    report = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return {};
  }
  if (report === null || typeof report !== 'object') return {};
  const timing = report['timing'] as { startedAt?: unknown; finishedAt?: unknown } | undefined;
  const at = typeof timing?.finishedAt === 'string' ? timing.finishedAt : typeof timing?.startedAt === 'string' ? timing.startedAt : undefined;
  const timeMs = at === undefined ? undefined : Date.parse(at);
  const text = (key: string): string | undefined => (typeof report[key] === 'string' ? report[key] as string : undefined);
  return {
    digest: text('digest'),
    prevDigest: report['prevDigest'] === null ? null : text('prevDigest'),
    seq: Number.isSafeInteger(report['seq']) ? report['seq'] as number : undefined,
    kind: text('kind'),
    outcome: text('outcome'),
    event: text('event'),
    timeMs: timeMs !== undefined && Number.isFinite(timeMs) ? timeMs : undefined,
  };
}

export interface ExportRecord {
  readonly line: string;
  readonly fields: ReportRecordFields;
}

interface AnyValue { stringValue?: string; intValue?: string; boolValue?: boolean }
interface KeyValue { key: string; value: AnyValue }

const SEVERITY_INFO = 9;
/** Attribute names under the proxy's own namespace (no semantic convention names a report's digest). */
export const ATTRIBUTE = {
  digest: 'mcp_sidecar.report.digest',
  prevDigest: 'mcp_sidecar.report.prev_digest',
  seq: 'mcp_sidecar.report.seq',
  kind: 'mcp_sidecar.report.kind',
  outcome: 'mcp_sidecar.report.outcome',
  event: 'mcp_sidecar.report.event',
  file: 'mcp_sidecar.report.file',
} as const;

const nanos = (ms: number): string => `${BigInt(Math.round(ms)) * 1_000_000n}`;

function attributes(fields: ReportRecordFields): KeyValue[] {
  const list: KeyValue[] = [];
  if (fields.digest !== undefined) list.push({ key: ATTRIBUTE.digest, value: { stringValue: fields.digest } });
  if (typeof fields.prevDigest === 'string') list.push({ key: ATTRIBUTE.prevDigest, value: { stringValue: fields.prevDigest } });
  if (fields.seq !== undefined) list.push({ key: ATTRIBUTE.seq, value: { intValue: String(fields.seq) } });
  if (fields.kind !== undefined) list.push({ key: ATTRIBUTE.kind, value: { stringValue: fields.kind } });
  if (fields.outcome !== undefined) list.push({ key: ATTRIBUTE.outcome, value: { stringValue: fields.outcome } });
  if (fields.event !== undefined) list.push({ key: ATTRIBUTE.event, value: { stringValue: fields.event } });
  return list;
}

export interface OtlpResource {
  readonly serviceName: string;
  readonly serviceVersion?: string;
  readonly reportFile: string;
}

/** One ExportLogsServiceRequest holding `records`, as the JSON text to POST to `/v1/logs`. */
export function encodeLogsRequest(records: readonly ExportRecord[], resource: OtlpResource, observedMs: number): string {
  const observed = nanos(observedMs);
  const resourceAttributes: KeyValue[] = [
    { key: 'service.name', value: { stringValue: resource.serviceName } },
    { key: ATTRIBUTE.file, value: { stringValue: resource.reportFile } },
  ];
  if (resource.serviceVersion !== undefined) resourceAttributes.push({ key: 'service.version', value: { stringValue: resource.serviceVersion } });
  return JSON.stringify({
    resourceLogs: [{
      resource: { attributes: resourceAttributes },
      scopeLogs: [{
        scope: { name: 'mcp-sidecar.execution-report', version: '2' },
        logRecords: records.map(({ line, fields }) => ({
          timeUnixNano: fields.timeMs === undefined ? undefined : nanos(fields.timeMs),
          observedTimeUnixNano: observed,
          severityNumber: SEVERITY_INFO,
          severityText: 'INFO',
          body: { stringValue: line },
          attributes: attributes(fields),
        })),
      }],
    }],
  });
}
