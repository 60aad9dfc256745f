// SDK clients (v1 and v2) on the built proxy, with a policy, in front of a server: over stdio
// (the client starts the proxy) or over Streamable HTTP (one proxy, a session per client). The
// proxy's stderr is kept as log records. For the tests of the shipped policies.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2, type ClientOptions } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { LineReader } from './line-reader.js';
import { ALLOW_REPO_SCRIPTS, CLI, commandLine, ROOT } from './paths.js';
import { forceKill, waitUntilGone } from './proc-table.js';
import { cleanEnv, logRecords, type LogRecord } from './proxy-process.js';
import { waitForValue } from './wait.js';

/** The v2 stdio transport probes `server/discover` on a sibling process unless subclassed: one process, in place. */
class InPlaceStdioV2 extends StdioV2 {}

/** The v1 transport, keeping the version the handshake settled on (the SDK tells only HTTP transports). */
class VersionedStdioV1 extends StdioV1 {
  protocolVersion: string | undefined;
  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }
}

export interface ProxiedClient<C> {
  readonly client: C;
  /** The protocol version the client settled on. */
  negotiated(): string | undefined;
  /** The proxy's stderr so far, as log records. */
  logs(): LogRecord[];
  /** Closes the client, then waits for the proxy and its server to be gone (killing what is left). */
  close(): Promise<void>;
}


function proxyParams(policyFile: string, server: readonly string[]) {
  const args = [CLI, '--proxy', commandLine(server), '--stdio', '--allow', ALLOW_REPO_SCRIPTS, '--policy', policyFile, '--log-level', 'info'];
  return { command: process.execPath, args, env: cleanEnv(), cwd: ROOT, stderr: 'pipe' as const };
}


async function finish(close: () => Promise<void>, pid: number | null | undefined, stderr: LineReader): Promise<void> {
  await close().catch(() => {});
  const server = logRecords(stderr).find((r) => r.msg === 'started the MCP server')?.pid;
  if (typeof pid === 'number' && !(await waitUntilGone(pid, 5000))) forceKill(pid);
  if (typeof server === 'number') forceKill(server, true);
  await stderr.untilEnd(2000); // every record the proxy wrote, for the assertions after close
}

/** A v1 SDK client (it offers 2025-11-25 and takes what the server answers) through the proxy. */
export async function connectV1(policyFile: string, server: readonly string[]): Promise<ProxiedClient<ClientV1>> {
  const transport = new VersionedStdioV1(proxyParams(policyFile, server));
  const stderr = new LineReader(transport.stderr as unknown as Readable, 'proxy stderr');
  const client = new ClientV1({ name: 'shipped-policies-v1', version: '1' }, { capabilities: {} });
  const logs = () => logRecords(stderr);
  try {
    await client.connect(transport);
  } catch (error) {
    await finish(() => client.close(), transport.pid, stderr);
    throw new Error(`${(error as Error).message}\nproxy stderr:\n${stderr.bytes.toString('utf8')}`);
  }
  const pid = transport.pid;
  return { client, negotiated: () => transport.protocolVersion, logs, close: () => finish(() => client.close(), pid, stderr) };
}

/** A v2 SDK client through the proxy, negotiating as `options` say (pinned to an era, or auto). */
export async function connectV2(policyFile: string, server: readonly string[], options: ClientOptions): Promise<ProxiedClient<ClientV2>> {
  const transport = new InPlaceStdioV2(proxyParams(policyFile, server));
  const stderr = new LineReader(transport.stderr as unknown as Readable, 'proxy stderr');
  const client = new ClientV2({ name: 'shipped-policies-v2', version: '2' }, options);
  const logs = () => logRecords(stderr);
  try {
    await client.connect(transport);
  } catch (error) {
    await finish(() => client.close(), transport.pid, stderr);
    throw new Error(`${(error as Error).message}\nproxy stderr:\n${stderr.bytes.toString('utf8')}`);
  }
  const pid = transport.pid;
  const close = async () => {
    // A 2026-07-28 client holds a subscriptions/listen open: end it, as an application would.
    await client.autoOpenedSubscription?.close();
    await client.close();
  };
  return { client, negotiated: () => client.getNegotiatedProtocolVersion(), logs, close: () => finish(close, pid, stderr) };
}

/** The policy decisions the proxy logged (enforced or observed). */
export function decisions(logs: readonly LogRecord[]): LogRecord[] {
  return logs.filter((r) => typeof r.msg === 'string' && /^policy (denied|would deny|rewrote|would rewrite) /.test(r.msg));
}

/** What the server wrote on its stderr, as the proxy relayed it. */
export function serverLines(logs: readonly LogRecord[]): string[] {
  return logs.filter((r) => r.source === 'server' && typeof r.msg === 'string').map((r) => r.msg!);
}

export interface HttpProxy {
  readonly url: URL;
  logs(): LogRecord[];
  /** SIGTERM, and waits for the proxy and every server it started to be gone. */
  stop(): Promise<void>;
}

/** The proxy serving Streamable HTTP on a free port, with `policyFile`, a server per session. */
export async function startHttpProxy(policyFile: string, server: readonly string[]): Promise<HttpProxy> {
  const args = [CLI, '--http', '127.0.0.1:0', '--http-max-sessions', '16', '--proxy', commandLine(server), '--allow', ALLOW_REPO_SCRIPTS, '--policy', policyFile, '--log-level', 'info'];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = new LineReader(child.stderr, 'proxy stderr');
  const logs = () => logRecords(stderr);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const serving = await waitForValue(() => logs().find((r) => r.msg === 'serving MCP over Streamable HTTP' || (r.level ?? 0) >= 50), 'the proxy to serve HTTP', 10_000);
  const address = serving.address as { port?: number } | undefined;
  if (typeof address?.port !== 'number') {
    child.kill('SIGKILL');
    throw new Error(`the proxy did not start:\n${stderr.bytes.toString('utf8')}`);
  }
  return {
    url: new URL(`http://127.0.0.1:${address.port}/mcp`),
    logs,
    async stop() {
      const servers = logs().filter((r) => r.msg === 'started the MCP server' && typeof r.pid === 'number').map((r) => r.pid!);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) forceKill(child.pid);
      for (const pid of servers) if (!(await waitUntilGone(pid, 2000))) forceKill(pid, true);
      await stderr.untilEnd(2000);
    },
  };
}

export interface HttpClient<C> {
  readonly client: C;
  negotiated(): string | undefined;
  close(): Promise<void>;
}

/** A v1 SDK client over Streamable HTTP. */
export async function connectV1Http(url: URL): Promise<HttpClient<ClientV1>> {
  const transport = new HttpV1(url);
  const client = new ClientV1({ name: 'shipped-policies-v1', version: '1' }, { capabilities: {} });
  await client.connect(transport);
  return { client, negotiated: () => transport.protocolVersion, close: () => client.close() };
}

/** A v2 SDK client over Streamable HTTP, negotiating as `options` say. */
export async function connectV2Http(url: URL, options: ClientOptions): Promise<HttpClient<ClientV2>> {
  const client = new ClientV2({ name: 'shipped-policies-v2', version: '2' }, options);
  await client.connect(new HttpV2(url));
  return { client, negotiated: () => client.getNegotiatedProtocolVersion(), close: () => client.close() };
}
