// An OTLP/HTTP JSON logs receiver for the export tests (node:http): it records every record it
// acknowledges, and answers each request as the test says — 200, a 5xx, or never (a stall).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Answer = 'ok' | 'fail' | 'stall' | { readonly partialReject: number };

export interface ReceivedRecord {
  readonly body: string;
  readonly digest: string | undefined;
  readonly seq: number | undefined;
  readonly kind: string | undefined;
}

export interface OtlpReceiver {
  readonly url: string;
  /** Records of acknowledged requests, in arrival order (a re-sent batch appears again). */
  readonly acknowledged: ReceivedRecord[];
  /** Every request, answered or not: its path, content type and record count. */
  readonly requests: { path: string; contentType: string | undefined; records: number; answer: Answer }[];
  /** Decides each request's answer by its 0-based number; replaceable mid-test. */
  answer: (request: number) => Answer;
  close(): Promise<void>;
}

interface AnyValue { stringValue?: string; intValue?: string }
interface LogsRequest {
  resourceLogs: { scopeLogs: { logRecords: { body: AnyValue; attributes: { key: string; value: AnyValue }[] }[] }[] }[];
}

export function parseRecords(text: string): ReceivedRecord[] {
  const request = JSON.parse(text) as LogsRequest;
  return request.resourceLogs.flatMap((resource) => resource.scopeLogs.flatMap((scope) => scope.logRecords.map((record) => {
    const attribute = (key: string): AnyValue | undefined => record.attributes.find((entry) => entry.key === key)?.value;
    const seq = attribute('mcp_sidecar.report.seq')?.intValue;
    return { body: record.body.stringValue ?? '', digest: attribute('mcp_sidecar.report.digest')?.stringValue, seq: seq === undefined ? undefined : Number(seq), kind: attribute('mcp_sidecar.report.kind')?.stringValue };
  })));
}

export async function startOtlpReceiver(answer: (request: number) => Answer = () => 'ok', port = 0): Promise<OtlpReceiver> {
  const stalled = new Set<ServerResponse>();
  const receiver: OtlpReceiver = {
    url: '',
    acknowledged: [],
    requests: [],
    answer,
    close: () => new Promise((resolve) => {
      for (const response of stalled) response.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const number = receiver.requests.length;
      const reply = receiver.answer(number);
      const records = parseRecords(Buffer.concat(chunks).toString('utf8'));
      receiver.requests.push({ path: request.url ?? '', contentType: request.headers['content-type'], records: records.length, answer: reply });
      if (reply === 'stall') {
        stalled.add(response);
        return;
      }
      if (reply === 'fail') {
        response.writeHead(503, { 'content-type': 'application/json' }).end('{"code":14,"message":"unavailable"}');
        return;
      }
      receiver.acknowledged.push(...records);
      const partial = typeof reply === 'object' ? { partialSuccess: { rejectedLogRecords: String(reply.partialReject), errorMessage: 'refused' } } : {};
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(partial));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  (receiver as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
