// An in-test control plane: serves one bundle at /bundle with an ETag, answers If-None-Match
// with 304, and can be told to stall, to fail, or to stop listening.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BundleServer {
  readonly url: string;
  /** What GET /bundle serves from now on. */
  serve(body: string | Buffer): void;
  /** Answers each request after headers are sent and never finishes the body (or never answers at all). */
  stall(how: 'headers' | 'body' | false): void;
  failWith(status: number | false): void;
  readonly requests: Array<{ ifNoneMatch: string | undefined; status: number }>;
  close(): Promise<void>;
}

export async function startBundleServer(): Promise<BundleServer> {
  let body: Buffer = Buffer.from('');
  let stalled: 'headers' | 'body' | false = false;
  let failing: number | false = false;
  const requests: BundleServer['requests'] = [];
  const held = new Set<ServerResponse>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const ifNoneMatch = req.headers['if-none-match'];
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    const answer = (status: number): void => void requests.push({ ifNoneMatch, status });
    if (stalled === 'headers') {
      answer(0);
      held.add(res);
      return;
    }
    if (failing !== false) {
      answer(failing);
      res.writeHead(failing).end('control plane trouble');
      return;
    }
    if (stalled === 'body') {
      answer(200);
      res.writeHead(200, { etag, 'content-length': body.length }).write(body.subarray(0, 1));
      held.add(res);
      return;
    }
    if (ifNoneMatch === etag) {
      answer(304);
      res.writeHead(304, { etag }).end();
      return;
    }
    answer(200);
    res.writeHead(200, { etag, 'content-type': 'application/yaml' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/bundle`,
    serve: (next) => void (body = Buffer.isBuffer(next) ? next : Buffer.from(next)),
    stall: (how) => void (stalled = how),
    failWith: (status) => void (failing = status),
    requests,
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A bundle's policy: one rule allowing one tool (read_file unless named), at `revision`. */
export const policyYaml = (revision: number | string, tool = 'read_file'): string => `apiVersion: mcp-sidecar/v1
kind: Policy
metadata: { name: fleet, revision: ${revision} }
rules:
  - id: reads
    tools: { allow: [${tool}] }
`;
