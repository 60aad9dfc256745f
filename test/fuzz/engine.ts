// The one-reading fuzzer (issue 12): rounds of random and mutated frames, client→proxy and
// server→proxy, through the pump between in-memory streams, under several policies. After each
// round the harness answers whatever is in flight and sends a ping, which must come back; every
// line either side received must read one way (readers.ts); without a policy, what was
// forwarded must be what was sent, byte for byte; no request may be left pending; the proxy
// must not fault (internalErrors) or throw. Heap use after GC is sampled at checkpoints.
// A failure is replayed alone and shrunk to a minimal frame.
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import type { CompiledPolicy, Direction } from '../../components/policy/index.js';
import type { PumpObserver } from '../../components/pump/index.js';
import { clientFrame, IdSource, Rng, serverFrame, DEFAULT_MIX, type FrameMix } from './frame-gen.js';
import { PumpHarness } from './pump-harness.js';
import { checkForwarded, lineText, readGoNode, type Violation } from './readers.js';
import { KNOWN_GAPS } from './known-bugs.js';
import { describeBytes, shrinkBytes } from './shrink.js';

/** Violation kinds that are known gaps (reported, counted, not failures of this run). */
export const KNOWN_GAP_KINDS: ReadonlySet<string> = new Set(Object.keys(KNOWN_GAPS));

export interface Variant {
  readonly name: string;
  readonly policy?: CompiledPolicy;
  readonly observer?: () => PumpObserver;
}

export interface FuzzOptions {
  readonly seed: number;
  /** Stop after this many frames (client and server together)… */
  readonly frames: number;
  /** …or after this many seconds, whichever comes first. */
  readonly seconds: number;
  readonly variants: readonly Variant[];
  readonly mix?: FrameMix;
  /** Violation kinds to count as known gaps instead of failing. */
  readonly knownGaps?: ReadonlySet<string>;
  readonly log?: (line: string) => void;
}

export interface Failure {
  readonly kind: string;
  readonly message: string;
  readonly variant: string;
  readonly round: number;
  readonly direction?: 'client' | 'server';
  /** The frame that fails alone, shrunk; undefined when no single frame does. */
  readonly minimal?: Buffer;
  readonly original?: Buffer;
}

export interface FuzzReport {
  readonly seed: number;
  readonly rounds: number;
  readonly frames: { client: number; server: number };
  /** Lines each side received that were frames the other side sent (forwarded), and what the proxy refused. */
  readonly forwarded: { client: number; server: number };
  readonly refused: { client: number; server: number };
  readonly labels: Record<string, number>;
  /** Known-gap violations by kind: how many, and the first one, shrunk. */
  readonly gaps: Record<string, { count: number; example: string; minimal?: string }>;
  /** Forwarded messages compared with what the policy judged. */
  readonly judged: number;
  readonly heapMiB: number[];
  readonly failures: Failure[];
  readonly seconds: number;
}

let collectGarbage: (() => void) | undefined;
function gc(): void {
  if (collectGarbage === undefined) {
    setFlagsFromString('--expose-gc');
    collectGarbage = runInNewContext('gc') as () => void;
  }
  collectGarbage();
}

/** The proxy's errors for a frame the client sent: they answer that frame, not a request in flight with the same id. */
const CLIENT_FRAME_REFUSALS = new Set([
  'SIDECAR_ERR_PARSE', 'SIDECAR_ERR_INVALID_REQUEST', 'SIDECAR_ERR_AMBIGUOUS_FRAME', 'SIDECAR_ERR_ID_IN_FLIGHT',
  'SIDECAR_ERR_POLICY_DENIED', 'SIDECAR_ERR_POLICY_RATE_LIMITED', 'SIDECAR_ERR_POLICY_INVALID_REQUEST', 'SIDECAR_ERR_POLICY_RULE_FAILED',
]);
/** A policy's denial of a tool call answered as a tool result. */
const TOOL_ERROR_DENIAL = '"text":"Denied by policy (rule ';
const PROXY_ERROR = /"data":\{"category":"[a-z_]+","code":"SIDECAR_ERR_[A-Z_]+"/;

/** The key of an id (by value), as every peer compares ids. */
function keyOf(id: unknown): string | undefined {
  if (typeof id === 'string') return JSON.stringify(id);
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  return undefined;
}

interface Message {
  id?: unknown;
  method?: unknown;
  result?: unknown;
  error?: { data?: { code?: string } };
}

function messagesOf(line: Buffer): Message[] {
  try {
    const value = JSON.parse(line.toString('utf8')) as unknown;
    return (Array.isArray(value) ? value : [value]).filter((m): m is Message => typeof m === 'object' && m !== null);
  } catch {
    return [];
  }
}

/** One harness and the state of its two peers. */
class Session {
  readonly harness: PumpHarness;
  /** Requests the server got and has not answered: key → id as JSON text. */
  readonly serverOwes = new Map<string, string>();
  /** Server requests the client got and has not answered. */
  readonly clientOwes = new Map<string, string>();
  readonly serverIds = new IdSource('s');
  readonly clientIds = new IdSource('c');
  internalErrors = 0;

  constructor(readonly variant: Variant) {
    this.harness = new PumpHarness({ policy: variant.policy, observer: variant.observer?.() });
  }
}

interface RoundResult {
  readonly violations: Array<{ violation: Violation; line: Buffer; direction: Direction }>;
  readonly pingAnswered: boolean;
  readonly pending: number;
  readonly internalErrors: number;
  readonly forwarded: { client: number; server: number };
}

const answer = (rawId: string): Buffer => Buffer.from(`{"jsonrpc":"2.0","id":${rawId},"result":{}}\n`);

/** Splits bytes into 1-3 writes at random offsets (frames cut across chunks). */
function chunks(bytes: Buffer, rng: Rng): Buffer[] {
  if (bytes.length < 2 || rng.chance(0.5)) return [bytes];
  const cuts = [rng.int(bytes.length), rng.int(bytes.length)].sort((a, b) => a - b);
  return [bytes.subarray(0, cuts[0]), bytes.subarray(cuts[0], cuts[1]), bytes.subarray(cuts[1])].filter((b) => b.length > 0);
}

function linesOf(bytes: Buffer): Set<string> {
  const set = new Set<string>();
  let start = 0;
  for (let nl = bytes.indexOf(0x0a); nl !== -1; nl = bytes.indexOf(0x0a, start)) {
    set.add(bytes.toString('latin1', start, nl + 1));
    start = nl + 1;
  }
  return set;
}

/** Whether a line the proxy wrote itself could only be a re-serialized batch of frames that were sent (members dropped). */
function isBatchOfSent(line: Buffer, sent: string): boolean {
  try {
    const node = readGoNode(lineText(line));
    return node.t === 'array' && node.items.every((item) => item.t === 'object' && sent.includes(lineText(line).toString('latin1', item.start, item.end)));
  } catch {
    return false;
  }
}

/** Runs one round: the frames, then the clean-up answers and a ping. */
async function runRound(session: Session, clientBytes: Buffer, serverBytes: Buffer, rng: Rng, round: number): Promise<RoundResult> {
  const { harness } = session;
  harness.forgetJudged();
  const violations: RoundResult['violations'] = [];
  const forwarded = { client: 0, server: 0 };
  // What each side wrote, line by line: what the other side receives must be one of these
  // (byte for byte), or a line the proxy wrote itself (its errors, a policy's replies and rewrites).
  const sentByClient = linesOf(clientBytes);
  const sentByServer = linesOf(serverBytes);
  const serverText = serverBytes.toString('latin1');
  const pingId = `"ping-${round}"`;
  const ping = Buffer.from(`{"jsonrpc":"2.0","id":${pingId},"method":"ping"}\n`);
  const pingReply = `{"jsonrpc":"2.0","id":${pingId},"result":{}}\n`;
  let pingAnswered = false;
  const policy = session.variant.policy !== undefined;
  const harnessClient = new Set<string>([ping.toString('latin1')]);
  const harnessServer = new Set<string>();

  const collect = (): void => {
    for (const line of harness.toServer.take()) {
      const text = line.toString('latin1');
      if (sentByClient.has(text)) forwarded.server++;
      else if (!harnessClient.has(text) && !PROXY_ERROR.test(text)) {
        violations.push({ violation: { kind: 'byte-for-byte', message: 'the server got a line the client never sent' }, line, direction: 'client-to-server' });
      }
      for (const v of checkForwarded(line, (t) => harness.judged('client-to-server', t), { requireJudged: policy })) violations.push({ violation: v, line, direction: 'client-to-server' });
      for (const m of messagesOf(line)) {
        const key = keyOf(m.id);
        if (typeof m.method === 'string' && key !== undefined) session.serverOwes.set(key, JSON.stringify(m.id));
      }
    }
    for (const line of harness.toClient.take()) {
      const text = line.toString('latin1');
      if (text === pingReply) pingAnswered = true;
      if (sentByServer.has(text)) forwarded.client++;
      else if (!policy && !harnessServer.has(text) && !PROXY_ERROR.test(text) && !isBatchOfSent(line, serverText)) {
        violations.push({ violation: { kind: 'byte-for-byte', message: 'the client got a line the server never sent' }, line, direction: 'server-to-client' });
      }
      for (const v of checkForwarded(line, (t) => harness.judged('server-to-client', t))) violations.push({ violation: v, line, direction: 'server-to-client' });
      for (const m of messagesOf(line)) {
        const key = keyOf(m.id);
        if (key === undefined) continue;
        if (typeof m.method === 'string') session.clientOwes.set(key, JSON.stringify(m.id));
        // The proxy's answer to a frame the client sent (which may reuse an id in flight) answers nothing in flight.
        else if (!CLIENT_FRAME_REFUSALS.has(m.error?.data?.code ?? '') && !text.includes(TOOL_ERROR_DENIAL)) session.serverOwes.delete(key);
      }
    }
  };

  for (const chunk of chunks(clientBytes, rng)) harness.writeClient(chunk);
  for (const chunk of chunks(serverBytes, rng)) harness.writeServer(chunk);
  await harness.settle();
  collect();
  // Clean up: every request in flight answered both ways, then a ping, until it comes back.
  harness.writeClient(ping);
  for (let turn = 0; turn < 6 && !(pingAnswered && session.serverOwes.size === 0 && session.clientOwes.size === 0); turn++) {
    const serverAnswers = [...session.serverOwes.values()].map(answer);
    const clientAnswers = [...session.clientOwes.values()].map(answer);
    session.serverOwes.clear();
    session.clientOwes.clear();
    for (const a of serverAnswers) harnessServer.add(a.toString('latin1'));
    for (const a of clientAnswers) harnessClient.add(a.toString('latin1'));
    if (serverAnswers.length > 0) harness.writeServer(Buffer.concat(serverAnswers));
    if (clientAnswers.length > 0) harness.writeClient(Buffer.concat(clientAnswers));
    await harness.settle();
    collect();
  }
  const internalErrors = harness.pump.stats.internalErrors - session.internalErrors;
  session.internalErrors = harness.pump.stats.internalErrors;
  return { violations, pingAnswered, pending: harness.pump.pendingCount, internalErrors, forwarded };
}

/** Replays one frame alone through a fresh harness of the variant; the failure it shows, if any. */
async function replayAlone(variant: Variant, frame: Buffer, side: 'client' | 'server'): Promise<{ kind: string; message: string } | undefined> {
  const session = new Session(variant);
  const line = frame[frame.length - 1] === 0x0a ? frame : Buffer.concat([frame, Buffer.from('\n')]);
  const rng = new Rng(1);
  const result = await runRound(session, side === 'client' ? line : Buffer.alloc(0), side === 'server' ? line : Buffer.alloc(0), rng, 0);
  if (session.harness.errors.length > 0) return { kind: 'stream-error', message: String(session.harness.errors[0]) };
  if (result.internalErrors > 0) return { kind: 'internal-error', message: `the pump faulted while handling a frame: ${session.harness.logs.last().join(' | ')}` };
  if (!result.pingAnswered) return { kind: 'no-ping', message: 'the ping after the frame was not answered' };
  if (result.pending > 0) return { kind: 'pending', message: `${result.pending} request(s) left pending after every request was answered` };
  const first = result.violations[0];
  return first === undefined ? undefined : { kind: first.violation.kind, message: first.violation.message };
}

async function minimize(variant: Variant, frame: Buffer, side: 'client' | 'server', kind: string): Promise<Buffer | undefined> {
  const alone = await replayAlone(variant, frame, side);
  if (alone?.kind !== kind) return undefined;
  const { minimal } = await shrinkBytes(lineText(frame), async (candidate) => (await replayAlone(variant, candidate, side))?.kind === kind);
  return minimal;
}

/** Frames of a round, one per line written (a frame with an inserted `\n` counts once). */
interface RoundFrames {
  client: Buffer[];
  server: Buffer[];
}

export async function runPumpFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => {});
  const mix = options.mix ?? DEFAULT_MIX;
  const knownGaps = options.knownGaps ?? KNOWN_GAP_KINDS;
  const rng = new Rng(options.seed);
  const started = Date.now();
  const deadline = started + options.seconds * 1000;
  const sessions = options.variants.map((variant) => new Session(variant));
  const frames = { client: 0, server: 0 };
  const forwardedTotal = { client: 0, server: 0 };
  const labels: Record<string, number> = {};
  const gaps: FuzzReport['gaps'] = {};
  const heapMiB: number[] = [];
  const failures: Failure[] = [];
  let round = 0;
  let nextCheckpoint = 0;
  const checkpointEvery = Math.max(1000, Math.min(Math.floor(options.frames / 10), 20_000));
  let lastProgress = started;

  const fail = async (session: Session, kind: string, message: string, roundFrames: RoundFrames, culprit?: { frame: Buffer; side: 'client' | 'server' }): Promise<void> => {
    let found = culprit;
    if (found === undefined) {
      // Which frame of the round fails alone?
      for (const side of ['client', 'server'] as const) {
        for (const frame of roundFrames[side]) {
          if ((await replayAlone(session.variant, frame, side))?.kind === kind) {
            found = { frame, side };
            break;
          }
        }
        if (found !== undefined) break;
      }
    }
    const minimal = found === undefined ? undefined : await minimize(session.variant, found.frame, found.side, kind);
    failures.push({ kind, message, variant: session.variant.name, round, direction: found?.side, minimal, original: found?.frame });
  };

  // A throw escaping the pump's handlers surfaces here (stream events): it fails the round it happened in.
  let current: Session | undefined;
  const onUncaught = (error: unknown): void => void current?.harness.errors.push(error);
  process.on('uncaughtException', onUncaught);

  while (frames.client + frames.server < options.frames && Date.now() < deadline && failures.length === 0) {
    const session = sessions[round % sessions.length]!;
    current = session;
    round++;
    const roundFrames: RoundFrames = { client: [], server: [] };
    const nClient = 1 + rng.int(24);
    for (let i = 0; i < nClient; i++) {
      const frame = clientFrame(rng, session.clientIds, mix);
      roundFrames.client.push(frame.bytes);
      for (const label of frame.labels) labels[label] = (labels[label] ?? 0) + 1;
    }
    const answerable = [...session.serverOwes.values()];
    const nServer = rng.int(8);
    for (let i = 0; i < nServer; i++) {
      const frame = serverFrame(rng, session.serverIds, answerable, mix);
      roundFrames.server.push(frame.bytes);
      for (const label of frame.labels) labels[`server:${label}`] = (labels[`server:${label}`] ?? 0) + 1;
    }
    frames.client += nClient;
    frames.server += nServer;
    let result: RoundResult;
    try {
      result = await runRound(session, Buffer.concat(roundFrames.client), Buffer.concat(roundFrames.server), rng, round);
    } catch (error) {
      await fail(session, 'throw', `the round threw: ${(error as Error).stack ?? String(error)}`, roundFrames);
      break;
    }
    forwardedTotal.client += result.forwarded.client;
    forwardedTotal.server += result.forwarded.server;
    const real = result.violations.filter(({ violation }) => {
      if (!knownGaps.has(violation.kind)) return true;
      const gap = (gaps[violation.kind] ??= { count: 0, example: '' });
      gap.count++;
      return false;
    });
    for (const { violation, line, direction } of result.violations) {
      const gap = gaps[violation.kind];
      if (gap === undefined || gap.example !== '') continue;
      gap.example = `${violation.message}: ${describeBytes(lineText(line))}`;
      const minimal = await minimize(session.variant, line, direction === 'client-to-server' ? 'client' : 'server', violation.kind);
      if (minimal !== undefined) gap.minimal = describeBytes(minimal);
    }
    if (session.harness.errors.length > 0) await fail(session, 'stream-error', String(session.harness.errors[0]), roundFrames);
    else if (result.internalErrors > 0) await fail(session, 'internal-error', `the pump faulted ${result.internalErrors} time(s): ${session.harness.logs.last().join(' | ')}`, roundFrames);
    else if (!result.pingAnswered) await fail(session, 'no-ping', 'the ping after the round was not answered', roundFrames);
    else if (result.pending > 0) await fail(session, 'pending', `${result.pending} request(s) left pending after every request was answered`, roundFrames);
    else if (real.length > 0) {
      const { violation, line, direction } = real[0]!;
      await fail(session, violation.kind, violation.message, roundFrames, { frame: line, side: direction === 'client-to-server' ? 'client' : 'server' });
    }
    const done = frames.client + frames.server;
    if (done >= nextCheckpoint) {
      nextCheckpoint += checkpointEvery;
      gc();
      heapMiB.push(Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10);
    }
    if (Date.now() - lastProgress > 10_000) {
      lastProgress = Date.now();
      log(`  ${done} frames, ${round} rounds, ${Math.round((Date.now() - started) / 1000)} s, heap ${heapMiB.at(-1)} MiB`);
    }
  }
  process.off('uncaughtException', onUncaught);
  gc();
  heapMiB.push(Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10);
  const refused = { client: frames.client - forwardedTotal.server, server: frames.server - forwardedTotal.client };
  const judged = sessions.reduce((n, s) => n + s.harness.judgedLookups, 0);
  return { seed: options.seed, rounds: round, frames, forwarded: { client: forwardedTotal.server, server: forwardedTotal.client }, refused, labels, gaps, judged, heapMiB, failures, seconds: (Date.now() - started) / 1000 };
}

export function describeFailure(f: Failure, seed: number): string {
  const lines = [`${f.kind} (variant ${f.variant}, round ${f.round}, seed ${seed}): ${f.message}`];
  if (f.minimal !== undefined) lines.push(`  minimal ${f.direction} frame: ${describeBytes(f.minimal)}`);
  else if (f.original !== undefined) lines.push(`  ${f.direction} frame (did not shrink): ${describeBytes(f.original)}`);
  else lines.push('  no single frame fails alone: rerun with the seed');
  return lines.join('\n');
}
