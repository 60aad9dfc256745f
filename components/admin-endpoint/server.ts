import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SidecarError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { Readiness } from './readiness.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** The metrics as the endpoint serves them: the metrics component's `Metrics` fits. */
export interface MetricsSource {
  render(): Promise<{ contentType: string; body: string }>;
}

export interface AdminEndpointOptions {
  /** Where to listen; port 0 picks a free one (see `address`). */
  readonly listen: ListenAddress;
  readonly metrics: MetricsSource;
  /** Asked at each GET /readyz. */
  readonly readiness: () => Readiness;
  /** Where the policy in force came from (--policy-url), shown in /readyz's body; never affects readiness. */
  readonly policyState?: () => string | undefined;
  /** The proxy's version, for /version. */
  readonly version: string;
  readonly logger: Logger;
}

export interface AdminEndpoint {
  /** Where it listens. */
  readonly address: ListenAddress;
  /** Stops listening and closes open connections; resolves once closed. */
  close(): Promise<void>;
}

type Reply = (res: ServerResponse) => void | Promise<void>;

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
// A scraper or a probe sends a few headers and no body: anything slower is cut short.
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}
const sendJson = (res: ServerResponse, status: number, value: unknown): void => send(res, status, JSON_TYPE, `${JSON.stringify(value)}\n`);

function formatAddress({ host, port }: ListenAddress): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const LISTEN_HINTS: Record<string, string> = {
  EADDRINUSE: 'another process listens on that port: give --admin (MCP_PROXY_ADMIN_LISTEN) another one',
  EACCES: 'ports below 1024 need privileges: give --admin a higher port',
  EADDRNOTAVAIL: 'the host is not an address of this machine: use 127.0.0.1, 0.0.0.0 or one of its addresses',
  ENOTFOUND: 'the host name does not resolve: use an IP address',
};

function listenError(listen: ListenAddress, error: NodeJS.ErrnoException): SidecarError {
  const why = error.code ?? error.message;
  return new SidecarError('SIDECAR_ERR_CONFIG_INVALID', `the admin endpoint cannot listen on ${formatAddress(listen)} (${why})`, { cause: error, hint: LISTEN_HINTS[error.code ?? ''] });
}

// Serves /metrics, /healthz, /readyz and /version over plain HTTP (GET or HEAD). Never keeps
// the process alive by itself, and never lets a request's failure reach the rest of the proxy.
export async function startAdminEndpoint(options: AdminEndpointOptions): Promise<AdminEndpoint> {
  const { listen, metrics, readiness, policyState, version, logger } = options;
  const versionBody = { name: 'mcp-sidecar', version, node: process.version };
  const routes = new Map<string, Reply>([
    ['/metrics', async (res) => {
      const { contentType, body } = await metrics.render();
      send(res, 200, contentType, body);
    }],
    ['/healthz', (res) => send(res, 200, TEXT, 'ok\n')],
    ['/readyz', (res) => {
      let state: Readiness;
      try {
        state = readiness();
      } catch (error) {
        state = { ready: false, reason: `the readiness check failed: ${error instanceof Error ? error.message : String(error)}` };
      }
      let policy: string | undefined;
      try {
        policy = policyState?.();
      } catch {
        policy = undefined;
      }
      const body = state.ready ? { ready: true } : { ready: false, reason: state.reason ?? 'not ready' };
      sendJson(res, state.ready ? 200 : 503, policy === undefined ? body : { ...body, policy });
    }],
    ['/version', (res) => sendJson(res, 200, versionBody)],
  ]);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const route = routes.get(query < 0 ? url : url.slice(0, query));
    if (route === undefined) return send(res, 404, TEXT, 'not found: try /metrics, /healthz, /readyz or /version\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // The body (if any) is not read: close rather than drain it.
      res.setHeader('Allow', 'GET, HEAD');
      res.setHeader('Connection', 'close');
      return send(res, 405, TEXT, 'method not allowed: GET or HEAD\n');
    }
    await route(res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ path: req.url, err: error instanceof Error ? error.message : String(error) }, 'the admin endpoint failed to answer');
      if (!res.headersSent) send(res, 500, TEXT, 'internal error\n');
      else res.destroy();
    });
  });
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(listenError(listen, error));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: listen.host, port: listen.port });
  });
  server.on('error', (error) => logger.error({ err: error.message }, 'admin endpoint error'));
  server.unref();

  const bound = server.address() as AddressInfo;
  const address: ListenAddress = Object.freeze({ host: bound.address, port: bound.port });
  logger.info({ address: `http://${formatAddress(address)}` }, 'admin endpoint listening: /metrics /healthz /readyz /version');

  let closed: Promise<void> | undefined;
  return {
    address,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
