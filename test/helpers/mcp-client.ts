// The official SDK client, connected to server-everything either directly or through the
// built proxy, with a tap on the wire: every raw line the client reads from the process's
// stdout, and every message it sends.
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, type StdioServerParameters } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { ClientCapabilities, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { LineReader } from './line-reader.js';
import { ALLOW_REPO_SCRIPTS, CLI, EVERYTHING_ARGV, EVERYTHING_COMMAND, ROOT } from './paths.js';
import { forceKill } from './proc-table.js';
import { logRecords, type Frame, type LogRecord } from './proxy-process.js';
import { waitForValue } from './wait.js';

// StdioClientTransport keeps its child private; the tap needs the child's stdout. Checked at
// start, so an SDK that renames the field fails loudly rather than tapping nothing.
class TappedStdioClientTransport extends StdioClientTransport {
  wire: LineReader | undefined;
  /** The started process (kept after close, which forgets it): how it exited. */
  child: ChildProcess | undefined;
  readonly sent: JSONRPCMessage[] = [];

  override async start(): Promise<void> {
    await super.start();
    const child = (this as unknown as { _process?: ChildProcess })._process;
    if (!child?.stdout) throw new Error('cannot tap StdioClientTransport: its _process field is gone');
    this.child = child;
    this.wire = new LineReader(child.stdout, 'client wire');
  }

  override send(message: JSONRPCMessage): Promise<void> {
    this.sent.push(message);
    return super.send(message);
  }
}

export interface Connection {
  readonly label: 'proxy' | 'direct';
  readonly client: Client;
  readonly transport: TappedStdioClientTransport;
  /** The process the client started: the proxy, or server-everything itself. */
  readonly pid: number;
  /** server-everything's pid (the proxy's child, or the same as `pid`). */
  readonly serverPid: number;
  /** What the started process wrote on stderr, line by line. */
  readonly stderr: LineReader;
  /** Every line the client received, parsed (each must be JSON). */
  received(): Frame[];
  /** Every raw line the client received. */
  receivedRaw(): Buffer[];
  /** The proxy's log records (empty for a direct connection). */
  logs(): LogRecord[];
}

export interface ConnectOptions {
  readonly viaProxy: boolean;
  readonly capabilities?: ClientCapabilities;
}



/** Connects an SDK client to server-everything, through the proxy or directly. */
export async function connectEverything(options: ConnectOptions): Promise<Connection> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('MCP_PROXY_')) env[name] = value;
  }
  const [command, ...args] = options.viaProxy
    ? [process.execPath, CLI, '--proxy', EVERYTHING_COMMAND, '--stdio', '--allow', ALLOW_REPO_SCRIPTS, '--log-level', 'debug']
    : EVERYTHING_ARGV;
  const params: StdioServerParameters = { command: command!, args, env, cwd: ROOT, stderr: 'pipe' };
  const transport = new TappedStdioClientTransport(params);
  const stderr = new LineReader(transport.stderr as unknown as Readable, 'stderr');
  const client = new Client({ name: 'e2e-test-client', version: '1.0.0' }, { capabilities: options.capabilities ?? {} });
  await client.connect(transport);
  const pid = transport.pid!;
  const serverPid = options.viaProxy
    ? await waitForValue(() => logRecords(stderr).find((r) => r.msg === 'started the MCP server')?.pid, "the proxy's 'started the MCP server' log")
    : pid;
  const wire = transport.wire!;
  // Parsed once per line: tests poll this, and some lines are megabytes long.
  const parsed: Frame[] = [];
  const received = (): Frame[] => {
    for (let i = parsed.length; i < wire.lines.length; i++) parsed.push(JSON.parse(wire.lines[i]!.toString('utf8')) as Frame);
    return parsed.slice();
  };
  return {
    label: options.viaProxy ? 'proxy' : 'direct',
    client,
    transport,
    pid,
    serverPid,
    stderr,
    receivedRaw: () => wire.lines,
    received,
    logs: () => (options.viaProxy ? logRecords(stderr) : []),
  };
}

/** Cleanup after a test: closes the client and kills whatever is left. Never throws. */
export async function disposeConnection(connection: Connection | undefined): Promise<void> {
  if (!connection) return;
  await connection.client.close().catch(() => {});
  const child = connection.transport.child;
  if (child && child.exitCode === null && child.signalCode === null) forceKill(connection.pid);
  // The proxy starts the server in a process group of its own; a direct server is the child above.
  if (connection.label === 'proxy') forceKill(connection.serverPid, true);
}
