// What a server lists now: its tools, prompts and resource templates, every page joined.
//
// The server runs inside a whole sidecar started in this process (startSidecar over in-memory
// streams), so it is admitted, started and stopped exactly as the proxy would: the allowlist and
// --executable-sha256, --server-user, the scrubbed environment, its own process group, the stop
// sequence over its process tree. This module is the MCP client on the other side of those
// streams, speaking NDJSON itself rather than through the SDK's Client: the SDK validates and
// reshapes results with its schemas, and a pin must be taken over what the server actually wrote
// (the run-time check sees those very bytes), including entries the SDK would drop or refuse.
import { PassThrough, type Writable } from 'node:stream';
import { loadConfig, type SidecarConfig } from '../config/index.js';
import { isSidecarError } from '../errors/index.js';
import { LineSplitter } from '../framing/index.js';
import { createLogger, redactForLog } from '../logging/index.js';
import { INITIALIZE, INITIALIZED } from '../mcp/index.js';
import { startSidecar, type SidecarHandle } from '../runtime/index.js';
import { DEFINITION_KINDS, LIST_OF, type DefinitionKind, type ListedDefinitions } from '../tool-pins/index.js';

/** A list longer than this many pages is refused: a server paging forever never ends `pin`. */
export const MAX_LIST_PAGES = 1000;
/** What `pin` asks for unless the command line or environment says otherwise. */
const PIN_DEFAULTS: ReadonlyArray<{ readonly flag: string; readonly env: string; readonly value: string }> = [
  // A server that exits while being listed is a failure to report, not one to restart and replay.
  { flag: '--max-restarts', env: 'MCP_PROXY_MAX_RESTARTS', value: '0' },
  // A server that never answers does not hang CI.
  { flag: '--request-timeout-ms', env: 'MCP_PROXY_REQUEST_TIMEOUT_MS', value: '30000' },
];
const PROTOCOL_VERSION = '2025-06-18';
const STDERR_TAIL_LINES = 20;
/** The capability in the initialize result that declares each list. */
const CAPABILITY_OF: Readonly<Record<DefinitionKind, string>> = { tool: 'tools', prompt: 'prompts', resourceTemplate: 'resources' };

/** The command line or environment is wrong: exit 2. */
export class PinUsageError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'PinUsageError';
  }
}

/** The server could not be listed: it failed to start, answered with an error, or exited. */
export class PinServerError extends Error {
  constructor(message: string, readonly stderrTail: readonly string[]) {
    super(message);
    this.name = 'PinServerError';
  }
}

export interface ListedServer {
  readonly listed: ListedDefinitions;
  /** The lists the server did not declare in its capabilities (skipped, pinned as empty). */
  readonly skipped: readonly DefinitionKind[];
}

/** Settings that change what a client would see or where the proxy listens: they have no place in `pin`. */
const NOT_FOR_PIN: ReadonlyArray<[keyof SidecarConfig, string]> = [
  ['policy', '--policy (pins are taken over what the server lists, before any rule)'], ['http', '--http'], ['reports', '--report-file'], ['record', '--record'], ['admin', '--admin'],
];

/** Starts the server given by `proxyArgs` (`--proxy`, `--allow` and the governor's other flags), lists it, stops it. */
export async function listServer(proxyArgs: readonly string[], env: NodeJS.ProcessEnv, stderr: Writable): Promise<ListedServer> {
  const config = await readConfig(proxyArgs, env);
  const tail: string[] = [];
  const logger = createLogger({ level: config.logLevel === 'debug' || config.logLevel === 'trace' ? config.logLevel : 'info', destination: logSink(tail, stderr, showsLevel(proxyArgs, env, config)) });
  const input = new PassThrough();
  const output = new PassThrough();
  let sidecar: SidecarHandle;
  try {
    sidecar = await startSidecar(config, { input, output }, { logger, env });
  } catch (error) {
    // A command the allowlist refuses is fixed on the command line (--allow): a usage error.
    if (isSidecarError(error) && error.code === 'SIDECAR_ERR_GOVERNOR_NOT_ALLOWED') throw new PinUsageError(error.message, error.hint);
    if (isSidecarError(error)) throw new PinServerError(`${error.message}${error.hint ? ` (${error.hint})` : ''}`, tail);
    throw error;
  }
  const client = new NdjsonClient(input, output, config.maxFrameBytes, sidecar.done);
  // Interrupted, the server is still stopped with the stop sequence: it runs in its own process group, and would outlive us.
  const onSignal = (signal: NodeJS.Signals): void => void sidecar.stop(`pin: received ${signal}`);
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    const listed = await listEverything(client);
    input.end();
    await sidecar.done;
    return listed;
  } catch (error) {
    await sidecar.stop(`pin: ${(error as Error).message}`);
    throw new PinServerError((error as Error).message, tail);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

async function readConfig(proxyArgs: readonly string[], env: NodeJS.ProcessEnv): Promise<SidecarConfig> {
  const defaults = PIN_DEFAULTS.filter((d) => env[d.env] === undefined).flatMap((d) => [d.flag, d.value]);
  let request;
  try {
    request = await loadConfig([...defaults, ...proxyArgs], env);
  } catch (error) {
    if (isSidecarError(error)) throw new PinUsageError(error.message, error.hint);
    throw error;
  }
  if (request.kind !== 'run') throw new PinUsageError('--help and --version are not options of `pin`');
  const config = request.config;
  for (const [key, flag] of NOT_FOR_PIN) if (config[key] !== undefined) throw new PinUsageError(`${flag} does not apply to \`pin\``);
  return config;
}

const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** The level logs are shown from: the one asked for, else warnings (a command's output, not a proxy's running log). */
function showsLevel(proxyArgs: readonly string[], env: NodeJS.ProcessEnv, config: SidecarConfig): number {
  const asked = proxyArgs.some((a) => a === '--log-level' || a.startsWith('--log-level=')) || env['MCP_PROXY_LOG_LEVEL'] !== undefined;
  return LEVELS[asked ? config.logLevel : 'warn'] ?? LEVELS['warn']!;
}

/** The logger's destination: keeps the server's stderr lines (already redacted) for the error, shows what is at or above `shown`. */
function logSink(tail: string[], stderr: Writable, shown: number): { write(line: string): void } {
  return {
    write(line: string): void {
      let record: { level?: number; source?: string; msg?: string } | undefined;
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        record = undefined;
      }
      if (record?.source === 'server' && typeof record.msg === 'string') {
        tail.push(record.msg);
        if (tail.length > STDERR_TAIL_LINES) tail.shift();
      }
      if ((record?.level ?? LEVELS['error']!) >= shown) stderr.write(line);
    },
  };
}

async function listEverything(client: NdjsonClient): Promise<ListedServer> {
  const initialized = await client.request(INITIALIZE, { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mcp-sidecar-pin', version: '1' } });
  client.notify(INITIALIZED);
  const capabilities = isRecord(initialized) && isRecord(initialized['capabilities']) ? initialized['capabilities'] : {};
  const listed = {} as Record<DefinitionKind, unknown[]>;
  const skipped: DefinitionKind[] = [];
  for (const kind of DEFINITION_KINDS) {
    if (capabilities[CAPABILITY_OF[kind]] === undefined) {
      skipped.push(kind);
      listed[kind] = [];
      continue;
    }
    listed[kind] = await listAllPages(client, kind);
  }
  return { listed, skipped };
}

/** Follows `nextCursor` to the end: at most MAX_LIST_PAGES pages, and a cursor seen twice is a loop, refused. */
async function listAllPages(client: NdjsonClient, kind: DefinitionKind): Promise<unknown[]> {
  const { method, member } = LIST_OF[kind];
  const entries: unknown[] = [];
  const cursors = new Set<string>();
  let cursor: string | undefined;
  for (let page = 1; ; page += 1) {
    const result = await client.request(method, cursor === undefined ? {} : { cursor });
    const items = isRecord(result) ? result[member] : undefined;
    if (!Array.isArray(items)) throw new Error(`${method} page ${page}: the result has no "${member}" array`);
    entries.push(...items);
    const next = isRecord(result) ? result['nextCursor'] : undefined;
    if (next === undefined || next === null) return entries;
    if (typeof next !== 'string') throw new Error(`${method} page ${page}: nextCursor is not a string`);
    if (cursors.has(next)) throw new Error(`${method} page ${page}: nextCursor ${JSON.stringify(redactForLog(next))} was given before (the server pages in a loop)`);
    if (page >= MAX_LIST_PAGES) throw new Error(`${method}: more than ${MAX_LIST_PAGES} pages`);
    cursors.add(next);
    cursor = next;
  }
}

/** Requests and their answers over the in-memory streams the sidecar serves. */
class NdjsonClient {
  readonly #input: PassThrough;
  readonly #waiting = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void; method: string }>();
  #nextId = 1;
  #ended: Error | undefined;

  constructor(input: PassThrough, output: PassThrough, maxFrameBytes: number, done: Promise<unknown>) {
    this.#input = input;
    const splitter = new LineSplitter(maxFrameBytes, {
      onLine: (line) => this.#receive(line.toString('utf8')),
      onOversized: (line) => this.#failAll(new Error(`an answer of ${line.bytes} bytes is over --max-frame-bytes`)),
    });
    output.on('data', (chunk: Buffer) => splitter.push(chunk));
    void done.then((code) => this.#failAll(new Error(`the proxy stopped (exit code ${String(code)}) before the server answered`)));
  }

  request(method: string, params: Record<string, unknown>): Promise<unknown> {
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, method });
      this.#input.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  notify(method: string): void {
    this.#input.write(`${JSON.stringify({ jsonrpc: '2.0', method })}\n`);
  }

  #receive(text: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // The pump already refused anything unreadable the server wrote.
    }
    if (!isRecord(frame)) return;
    if (typeof frame['method'] === 'string') {
      // A server's own request (sampling, roots, ping…): `pin` declares no capabilities, so it answers no.
      if (frame['id'] !== undefined) {
        const answer = frame['method'] === 'ping' ? { result: {} } : { error: { code: -32601, message: 'mcp-sidecar pin answers no requests' } };
        this.#input.write(`${JSON.stringify({ jsonrpc: '2.0', id: frame['id'], ...answer })}\n`);
      }
      return;
    }
    if (typeof frame['id'] !== 'number') return;
    const waiting = this.#waiting.get(frame['id']);
    if (waiting === undefined) return;
    this.#waiting.delete(frame['id']);
    const error = frame['error'];
    if (error !== undefined) {
      const message = isRecord(error) && typeof error['message'] === 'string' ? error['message'] : JSON.stringify(error);
      const code = isRecord(error) ? error['code'] : undefined;
      waiting.reject(new Error(`${waiting.method} failed: ${redactForLog(message)}${typeof code === 'number' ? ` (${code})` : ''}`));
      return;
    }
    waiting.resolve(frame['result']);
  }

  #failAll(error: Error): void {
    this.#ended ??= error;
    for (const waiting of this.#waiting.values()) waiting.reject(new Error(`${waiting.method}: ${error.message}`));
    this.#waiting.clear();
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
