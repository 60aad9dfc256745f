// Starts the built proxy (dist/cli.js) as a child process and speaks raw NDJSON to it:
// frames go in as bytes, frames come out as lines, the proxy's stderr is kept as log records.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import assert from 'node:assert/strict';
import { LineReader } from './line-reader.js';
import { ALLOW_REPO_SCRIPTS, CLI, ROOT, commandLine } from './paths.js';
import { forceKill, waitUntilGone } from './proc-table.js';

/** A JSON-RPC message as the tests look at it. */
export interface Frame {
  jsonrpc?: string;
  id?: unknown;
  method?: string;
  params?: any;
  result?: any;
  error?: { code: number; message: string; data?: any };
  [key: string]: unknown;
}

/** One frame read from the proxy's stdout: its exact bytes and its parsed value. */
export interface ReadFrame {
  readonly raw: Buffer;
  readonly json: Frame;
}

/** One line of the proxy's stderr: a pino record (or `{ unparsed }` if the line is not JSON). */
export interface LogRecord {
  level?: number;
  msg?: string;
  source?: string;
  pid?: number;
  unparsed?: string;
  [key: string]: unknown;
}

export interface ProxyExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnProxyOptions {
  /** Extra proxy arguments, e.g. ['--max-frame-bytes', '64KiB']. */
  readonly args?: readonly string[];
  /** Default 'debug', so that the tests see as much logging as possible (and can check none of it reaches stdout). */
  readonly logLevel?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** A proxy's stderr lines as log records (`{ unparsed }` for a line that is not JSON). */
export function logRecords(stderr: LineReader): LogRecord[] {
  return stderr.lines.map((line) => {
    const text = line.toString('utf8');
    try {
      return JSON.parse(text) as LogRecord;
    } catch {
      return { unparsed: text };
    }
  });
}

/** The test's environment without MCP_PROXY_* settings, so a developer's own cannot change what a spawned proxy does. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('MCP_PROXY_')) env[name] = value;
  }
  return env;
}

// Keys every pino record has: a stdout line with these is a log line that went to the wrong stream.
const LOG_KEYS = ['level', 'time', 'msg'];

export class ProxyProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: LineReader;
  readonly stderr: LineReader;
  readonly exited: Promise<ProxyExit>;
  #exit: ProxyExit | undefined;

  constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child;
    this.stdout = new LineReader(child.stdout, 'proxy stdout');
    this.stderr = new LineReader(child.stderr, 'proxy stderr');
    // EPIPE when the proxy has gone while a test still writes: the test's assertions say what matters.
    child.stdin.on('error', () => {});
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** How the proxy ended, or undefined while it runs. */
  get exit(): ProxyExit | undefined {
    return this.#exit;
  }

  /** Writes bytes to the proxy's stdin exactly as given. */
  write(data: string | Buffer): void {
    this.child.stdin.write(data);
  }

  /** Writes one message as an NDJSON line. */
  send(message: unknown): void {
    this.write(`${JSON.stringify(message)}\n`);
  }

  /** Closes the proxy's stdin (the client's EOF). */
  endInput(): void {
    this.child.stdin.end();
  }

  /** The next line on the proxy's stdout, which must be JSON. */
  async nextFrame(timeoutMs = 5000): Promise<ReadFrame> {
    const raw = await this.stdout.nextLine(timeoutMs);
    let json: Frame;
    try {
      json = JSON.parse(raw.toString('utf8')) as Frame;
    } catch {
      assert.fail(`the proxy wrote a line that is not JSON on stdout: ${JSON.stringify(raw.toString('utf8').slice(0, 300))}`);
    }
    return { raw, json };
  }

  /** Sends a request and reads the next frame, which must answer it (its id); `timeoutMs` for the answer. */
  async call(id: number, method: string, params?: object, timeoutMs = 10_000): Promise<Frame> {
    this.send({ jsonrpc: '2.0', id, method, ...(params && { params }) });
    const { json } = await this.nextFrame(timeoutMs);
    assert.equal(json.id, id, JSON.stringify(json));
    return json;
  }

  /** The proxy's stderr so far, as log records. */
  logs(): LogRecord[] {
    return logRecords(this.stderr);
  }

  /** Waits for a log record matching `predicate`. */
  async waitForLog(predicate: (record: LogRecord) => boolean, timeoutMs = 5000): Promise<LogRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs().find(predicate);
      if (found) return found;
      if (this.stderr.ended || Date.now() > deadline) {
        throw new Error(`no matching log record within ${timeoutMs} ms; stderr so far:\n${this.stderr.bytes.toString('utf8')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** The server's pid, from the proxy's 'started the MCP server' log record. */
  async serverPid(timeoutMs = 5000): Promise<number> {
    const record = await this.waitForLog((r) => r.msg === 'started the MCP server', timeoutMs);
    assert.equal(typeof record.pid, 'number', 'the start record carries the server pid');
    return record.pid!;
  }

  /** Waits for the proxy to exit; fails the test (and kills it) if it does not within `timeoutMs`. */
  async waitForExit(timeoutMs = 15_000): Promise<ProxyExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    const exit = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (exit === undefined) {
      await this.dispose();
      assert.fail(`the proxy did not exit within ${timeoutMs} ms; stderr:\n${this.stderr.bytes.toString('utf8')}`);
    }
    // Let the pipes finish delivering what was written before the exit.
    await Promise.all([this.stdout.untilEnd(2000), this.stderr.untilEnd(2000)]);
    return exit;
  }

  /**
   * The proxy's stdout carries frames only: every line parses as a JSON-RPC object (or batch),
   * none is a log record, and nothing is left unterminated.
   */
  assertStdoutClean(): void {
    for (const line of this.stdout.lines) {
      const text = line.toString('utf8');
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        assert.fail(`a stdout line is not JSON: ${JSON.stringify(text.slice(0, 300))}`);
      }
      assert.ok(typeof value === 'object' && value !== null, `a stdout line is not a JSON object or array: ${text.slice(0, 300)}`);
      const members = Array.isArray(value) ? value : [value];
      for (const member of members as Record<string, unknown>[]) {
        assert.equal(member.jsonrpc, '2.0', `a stdout line is not JSON-RPC 2.0: ${text.slice(0, 300)}`);
        assert.ok(!LOG_KEYS.every((key) => key in member), `a log record reached stdout: ${text.slice(0, 300)}`);
        assert.notEqual(member.name, 'mcp-sidecar', `a log record reached stdout: ${text.slice(0, 300)}`);
      }
    }
    if (this.stdout.ended) assert.equal(this.stdout.partial.length, 0, 'stdout ended with an unterminated line');
  }

  /** Cleanup: kills the proxy and the server's process group if they are still there. */
  async dispose(): Promise<void> {
    const serverRecord = this.logs().find((r) => r.msg === 'started the MCP server');
    if (this.#exit === undefined) forceKill(this.child.pid);
    if (typeof serverRecord?.pid === 'number') forceKill(serverRecord.pid, true);
    if (this.child.pid !== undefined) await waitUntilGone(this.child.pid, 2000);
  }
}

/** Starts `node dist/cli.js --proxy <server argv> --stdio`, logging at debug level unless told otherwise. */
export function spawnProxy(server: readonly string[] | string, options: SpawnProxyOptions = {}): ProxyProcess {
  const command = typeof server === 'string' ? server : commandLine(server);
  // The proxy's own settings come from the test alone, never from the environment it runs in.
  const env: NodeJS.ProcessEnv = options.env ?? Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_')));
  const args = [CLI, '--proxy', command, '--stdio', '--allow', ALLOW_REPO_SCRIPTS, '--log-level', options.logLevel ?? 'debug', ...(options.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  return new ProxyProcess(child);
}
