// The pump between in-memory streams, for the one-reading property test and fuzzer: bytes in
// from either side, the lines each side received out, what the policy judged of every frame it
// looked at, and the pump's counters. No sleeps: `settle()` turns the event loop until nothing
// moves.
import { PassThrough, Writable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { buildPolicy, CONTINUE, type CompiledPolicy, type Direction, type FrameContext, type Rule } from '../../components/policy/index.js';
import { createLogger, type Logger } from '../../components/logging/index.js';
import { loadPolicyFile, type PolicyMode } from '../../components/policy/document/index.js';
import { createPump, type Pump, type PumpObserver } from '../../components/pump/index.js';
import { createNdjsonChannel } from '../../components/transport/index.js';
import type { Judged } from './readers.js';
import { lineText } from './readers.js';

/** A pino logger that keeps only a count of its records (and the last few, for a failure message). */
export function countingLogger(): { logger: Logger; count: () => number; last: () => string[] } {
  let count = 0;
  let last: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const lines = chunk.toString('utf8').split('\n').filter(Boolean);
      count += lines.length;
      last = [...last, ...lines].slice(-5);
      callback();
    },
  });
  return { logger: createLogger({ level: 'warn', destination }), count: () => count, last: () => last };
}

/** A compiled policy file (test/fixtures/one-reading/policy.yaml, policies/readonly.yaml…). */
export async function policyFromFile(path: string, mode?: PolicyMode): Promise<CompiledPolicy> {
  return buildPolicy(loadPolicyFile(path), mode);
}

/**
 * The policy with one more rule last in every chain: it records what the chain judged (the
 * method and the body the rules read) and says nothing. A frame an earlier rule denied never
 * reaches it; one it records was judged fit to pass.
 */
export function recordingPolicy(inner: CompiledPolicy, record: (direction: Direction, frame: FrameContext) => void): CompiledPolicy {
  const recorders = new Map<string, Rule>();
  const recorder = (direction: Direction, phase: 'request' | 'response'): Rule => {
    const key = `${direction}:${phase}`;
    let rule = recorders.get(key);
    if (rule === undefined) {
      rule = { id: 'one-reading-recorder', kind: 'test', mode: 'observe', direction, phase, methods: ['*'], evaluate: (frame) => (record(direction, frame), CONTINUE) };
      recorders.set(key, rule);
    }
    return rule;
  };
  return Object.freeze({
    ...inner,
    isEmpty: false,
    rules: [...inner.rules, recorder('client-to-server', 'request')],
    rulesFor: (direction: Direction, phase: 'request' | 'response', method: string) => [...inner.rulesFor(direction, phase, method), recorder(direction, phase)],
  });
}

/** Splits collected bytes into complete lines (each with its `\n`); keeps a partial tail. */
class LineCollector {
  #pending: Buffer[] = [];
  #lines: Buffer[] = [];
  bytes = 0;

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      this.#pending.push(chunk.subarray(start, nl + 1));
      this.#lines.push(this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending));
      this.#pending = [];
      start = nl + 1;
    }
    if (start < chunk.length) this.#pending.push(Buffer.from(chunk.subarray(start)));
  }

  take(): Buffer[] {
    const lines = this.#lines;
    this.#lines = [];
    return lines;
  }
}

export interface HarnessOptions {
  /** A policy every frame passes (recorded: see judged()). */
  readonly policy?: CompiledPolicy;
  readonly observer?: PumpObserver;
  readonly maxFrameBytes?: number;
}

export class PumpHarness {
  readonly pump: Pump;
  readonly clientIn = new PassThrough();
  readonly clientOut = new PassThrough();
  readonly serverStdout = new PassThrough();
  readonly serverStdin = new PassThrough();
  readonly logs = countingLogger();
  readonly toServer = new LineCollector();
  readonly toClient = new LineCollector();
  /** What the policy judged, by direction, keyed by the frame's JSON text (a batch member's own bytes). */
  readonly #judged = { 'client-to-server': new Map<string, Judged>(), 'server-to-client': new Map<string, Judged>() };
  /** Errors the streams or the pump's handlers threw (none expected). */
  readonly errors: unknown[] = [];

  constructor(options: HarnessOptions = {}) {
    const maxFrameBytes = options.maxFrameBytes ?? 1 << 20;
    const policy = options.policy === undefined ? undefined : recordingPolicy(options.policy, (direction, frame) => this.#record(direction, frame));
    this.pump = createPump({
      client: createNdjsonChannel(this.clientIn, this.clientOut, { maxFrameBytes }),
      server: createNdjsonChannel(this.serverStdout, this.serverStdin, { maxFrameBytes }),
      logger: this.logs.logger,
      events: { onClientEnd: () => {}, onClientGone: (error) => this.errors.push(error), onServerEnd: () => {} },
      ...(policy === undefined ? {} : { policy: { current: policy } }),
      ...(options.observer === undefined ? {} : { observer: options.observer }),
    });
    this.clientOut.on('data', (chunk: Buffer) => this.toClient.push(chunk));
    this.serverStdin.on('data', (chunk: Buffer) => this.toServer.push(chunk));
    for (const stream of [this.clientIn, this.clientOut, this.serverStdout, this.serverStdin]) stream.on('error', (error) => this.errors.push(error));
  }

  #record(direction: Direction, frame: FrameContext): void {
    let body: unknown;
    try {
      body = frame.body();
    } catch (error) {
      body = { unparseable: (error as Error).message };
    }
    const map = this.#judged[direction];
    map.set(lineText(frame.line).toString('utf8').trim(), { method: frame.method, body });
  }

  /** What the policy judged of a message with this JSON text, travelling this way (counted in `judgedLookups`). */
  judged(direction: Direction, text: string): Judged | undefined {
    const found = this.#judged[direction].get(text);
    if (found !== undefined) this.judgedLookups++;
    return found;
  }

  /** How many forwarded messages were compared with what the policy judged. */
  judgedLookups = 0;

  forgetJudged(): void {
    this.#judged['client-to-server'].clear();
    this.#judged['server-to-client'].clear();
  }

  writeClient(bytes: Buffer): void {
    this.clientIn.write(bytes);
  }

  writeServer(bytes: Buffer): void {
    this.serverStdout.write(bytes);
  }

  /** Turns the event loop until no byte has moved for two turns. */
  async settle(maxTurns = 200): Promise<void> {
    let quiet = 0;
    let seen = -1;
    for (let turn = 0; turn < maxTurns && quiet < 2; turn++) {
      await tick();
      const now = this.toClient.bytes + this.toServer.bytes;
      quiet = now === seen ? quiet + 1 : 0;
      seen = now;
    }
  }
}
