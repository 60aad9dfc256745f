// One process the bench client talks to (a server, or a proxy in front of one): its stdin
// takes requests, its stdout gives lines back to whoever is listening (`onLine`).
import { spawn } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { createLineReader } from './lines.mjs';
import { childPids } from './procfs.mjs';

const STDERR_KEEP_CHARS = 4096;
const CLOSE_TIMEOUT_MS = 15_000;

export function preview(buffer, chars = 160) {
  const text = buffer.toString('utf8', 0, Math.min(buffer.length, chars * 2)).trimEnd();
  return text.length > chars ? `${text.slice(0, chars)}… (${buffer.length} bytes)` : text;
}

/**
 * True when a response line is the one expected: byte for byte, or else as JSON values.
 * A response without the line's `\n` (an HTTP body) is compared with the rest of the line.
 */
export function responseMatches(line, expected) {
  if (line.equals(expected)) return true;
  if (line.length === expected.length - 1 && expected[line.length] === 0x0a && expected.compare(line, 0, line.length, 0, line.length) === 0) return true;
  // A peer that re-serializes (the SDK) may change the bytes but not the value.
  try {
    return isDeepStrictEqual(JSON.parse(line.toString('utf8')), JSON.parse(expected.toString('utf8')));
  } catch {
    return false;
  }
}

/**
 * The next line a session (stdio or HTTP: anything with `onLine`, `onExit` and `spec`) hands
 * on, or a rejection if its process exits or `timeoutMs` passes first.
 */
export function nextLineOf(session, timeoutMs) {
  return new Promise((resolve, reject) => {
    const finish = (error, line) => {
      clearTimeout(timer);
      session.onLine = undefined;
      session.onExit = undefined;
      if (error) reject(error);
      else resolve(line);
    };
    const timer = setTimeout(() => finish(new Error(`${session.spec.name}: no response within ${timeoutMs} ms`)), timeoutMs);
    session.onLine = (line) => finish(undefined, line);
    session.onExit = (error) => finish(error);
  });
}

export class Session {
  /** Lines that arrived while nobody was listening, or that did not match. */
  problems = [];
  stderrBytes = 0;
  stderrTail = '';
  #onLine;
  #exit;

  /** `spec`: { file, args, env } as made by a configuration. */
  constructor(spec) {
    this.spec = spec;
    const child = spawn(spec.file, spec.args, { stdio: ['pipe', 'pipe', 'pipe'], env: spec.env });
    this.child = child;
    this.pid = child.pid;
    this.stdin = child.stdin;
    child.stdin.on('error', () => {}); // EPIPE when it died: its exit says more
    child.stderr.on('data', (chunk) => {
      this.stderrBytes += chunk.length;
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_KEEP_CHARS);
    });
    const readLines = createLineReader((line) => {
      if (this.#onLine) this.#onLine(line);
      // A process whose stdout is its log (a bridge over HTTP): lines there are not frames.
      else if (!spec.stdoutIsLog) this.problems.push(`unexpected line: ${preview(line)}`);
    });
    // Requests sent while one chunk of responses is handled go out in one write.
    child.stdout.on('data', (chunk) => {
      this.stdin.cork();
      readLines(chunk);
      this.stdin.uncork();
    });
    this.exited = new Promise((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    }).then((exit) => {
      this.#exit = exit;
      this.onExit?.(this.exitError(exit));
      return exit;
    });
  }

  /** Called when the process exits (set by whoever waits for lines; cleared when done). */
  onExit;

  get hasExited() {
    return this.#exit !== undefined;
  }

  set onLine(handler) {
    this.#onLine = handler;
  }

  send(buffer) {
    this.stdin.write(buffer);
  }

  /** Requests sent between cork() and uncork() go out in one write. */
  cork() {
    this.stdin.cork();
  }

  uncork() {
    this.stdin.uncork();
  }

  /** The next line, or a rejection if the process exits or `timeoutMs` passes first. */
  nextLine(timeoutMs = 30_000) {
    return nextLineOf(this, timeoutMs);
  }


  exitError(exit) {
    const how = exit.error ? exit.error.message : exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
    const stderr = this.stderrTail.trim();
    return new Error(`${this.spec.name} exited (${how})${stderr ? `; its stderr ends with:\n${stderr}` : ''}`);
  }

  /** The server process: the child of a proxy, or the process itself when direct. */
  serverPid() {
    return childPids(this.pid)[0] ?? this.pid;
  }

  /**
   * Closes stdin (the MCP way to stop over stdio) and waits for the exit; kills what is left
   * after a timeout. `signal`: also sent, for a process that does not read stdin (--http).
   */
  async close({ signal } = {}) {
    if (!this.hasExited) {
      const descendants = childPids(this.pid);
      this.stdin.end();
      if (signal !== undefined) this.child.kill(signal);
      const timer = setTimeout(() => {
        for (const pid of [this.pid, ...descendants]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }, CLOSE_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    return this.#exit;
  }
}
