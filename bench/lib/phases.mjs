// The measurements, each run against one Session: sequential round trips, a pipelined
// stream of calls with N in flight, cold start. Every response is checked against the one
// expected for its call; a phase counts the ones that do not match.
import { createCall, createCallRing, idFor, initializeRequest, INITIALIZED_NOTIFICATION, setId } from './frames.mjs';
import { preview, responseMatches, Session } from './session.mjs';

const MAX_PROBLEM_SAMPLES = 5;
const PHASE_TIMEOUT_MS = 120_000;

function initializeMatches(line, id) {
  try {
    const message = JSON.parse(line.toString('utf8'));
    return message.jsonrpc === '2.0' && message.id === id && typeof message.result?.protocolVersion === 'string';
  } catch {
    return false;
  }
}

/** The MCP handshake: initialize, its response, notifications/initialized. */
export async function handshake(session) {
  session.send(initializeRequest(1));
  const line = await session.nextLine();
  if (!initializeMatches(line, 1)) throw new Error(`${session.spec.name}: unexpected initialize response: ${preview(line)}`);
  session.send(INITIALIZED_NOTIFICATION);
  // Over HTTP the notification is a POST of its own: calls wait for it to be accepted, as an
  // MCP client's do, or one could overtake it on another connection.
  await session.settled?.();
}

function recordMismatch(problems, n, line, expected) {
  if (problems.length < MAX_PROBLEM_SAMPLES) problems.push(`call ${n}: expected ${preview(expected)}, got ${preview(line)}`);
}

/**
 * `warmup` then `calls` round trips, one at a time. Returns the latency of each measured
 * call in µs. `onMeasureStart`/`onMeasureEnd` run synchronously at the edges of the measured part.
 */
export async function runSequential(session, { textBytes, warmup, calls, onMeasureStart, onMeasureEnd }) {
  const ring = createCallRing(textBytes, 2, session.spec.toolName);
  const latenciesUs = new Float64Array(calls);
  const problems = [];
  let mismatches = 0;
  for (let n = 0; n < warmup + calls; n++) {
    if (n === warmup) onMeasureStart?.();
    const call = ring[n & 1];
    setId(call.request, idFor(n));
    setId(call.response, idFor(n));
    const start = process.hrtime.bigint();
    session.send(call.request);
    const line = await session.nextLine();
    const end = process.hrtime.bigint();
    if (n >= warmup) latenciesUs[n - warmup] = Number(end - start) / 1e3;
    if (!responseMatches(line, call.response)) {
      mismatches++;
      recordMismatch(problems, n, line, call.response);
    }
  }
  onMeasureEnd?.();
  return { calls, latenciesUs, mismatches, problems, requestBytes: ring[0].request.length, responseBytes: ring[0].response.length };
}

/**
 * Calls with `inflight` outstanding at all times: a new call goes out as each response
 * comes in. After `warmupCalls` responses the measured part starts; it ends after
 * `measureMs` or `maxCalls` responses, whichever comes first; then what is in flight is
 * drained (and checked) without new calls.
 */
export function runPipelined(session, { textBytes, inflight, warmupCalls, measureMs = Infinity, maxCalls = Infinity, onMeasureStart, onMeasureEnd }) {
  const slots = inflight * 2; // a slot is refilled only long after its response arrived
  const ring = createCallRing(textBytes, slots, session.spec.toolName);
  const measureNs = BigInt(Math.round(Math.min(measureMs, 1e9) * 1e6));
  const checkEvery = inflight >= 16 ? 16 : 1; // how often to read the clock
  const problems = [];
  let sent = 0, received = 0, mismatches = 0;
  let state = warmupCalls > 0 ? 'warmup' : 'measure';
  let measuredFrom = 0, measuredCalls = 0, sinceCheck = 0;
  let start = 0n, elapsedNs = 0n;

  const sendNext = () => {
    const call = ring[sent % slots];
    const id = idFor(sent);
    setId(call.request, id);
    setId(call.response, id);
    sent++;
    session.send(call.request);
  };
  const beginMeasure = () => {
    state = 'measure';
    measuredFrom = received;
    onMeasureStart?.();
    start = process.hrtime.bigint();
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${session.spec.name}: pipelined phase took over ${PHASE_TIMEOUT_MS} ms (${received}/${sent} answered)`)), PHASE_TIMEOUT_MS);
    const finish = (error) => {
      clearTimeout(timer);
      session.onLine = undefined;
      session.onExit = undefined;
      if (error) return reject(error);
      resolve({
        calls: measuredCalls, elapsedNs: Number(elapsedNs), mismatches, problems,
        requestBytes: ring[0].request.length, responseBytes: ring[0].response.length, totalCalls: received,
      });
    };
    session.onExit = (error) => finish(error);
    session.onLine = (line) => {
      const call = ring[received % slots];
      if (!responseMatches(line, call.response)) {
        mismatches++;
        recordMismatch(problems, received, line, call.response);
      }
      received++;
      if (state === 'warmup') {
        if (received >= warmupCalls) beginMeasure();
      } else if (state === 'measure' && ++sinceCheck >= checkEvery) {
        sinceCheck = 0;
        const now = process.hrtime.bigint();
        if (now - start >= measureNs || received - measuredFrom >= maxCalls) {
          elapsedNs = now - start;
          measuredCalls = received - measuredFrom;
          onMeasureEnd?.();
          state = 'drain';
        }
      }
      if (state !== 'drain') sendNext();
      else if (received === sent) finish();
    };
    if (state === 'measure') beginMeasure();
    session.cork();
    for (let k = 0; k < inflight; k++) sendNext();
    session.uncork();
  });
}

/** Milliseconds from spawning `spec` to the first response (to initialize, sent at once). */
export async function measureColdStart(spec) {
  const start = process.hrtime.bigint();
  const session = new Session(spec);
  session.send(initializeRequest(1));
  try {
    const line = await session.nextLine();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const mismatch = initializeMatches(line, 1) ? undefined : `unexpected initialize response: ${preview(line)}`;
    return { ms, mismatch };
  } finally {
    await session.close();
  }
}

/** One call of `textBytes` at a time, `repeats` times; the time of each in ms. */
export async function runSingleFrames(session, { textBytes, repeats }) {
  const call = createCall(textBytes, session.spec.toolName);
  const times = [];
  let mismatches = 0;
  const problems = [];
  for (let n = 0; n < repeats; n++) {
    setId(call.request, idFor(n));
    setId(call.response, idFor(n));
    const start = process.hrtime.bigint();
    session.send(call.request);
    const line = await session.nextLine(120_000);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (!responseMatches(line, call.response)) {
      mismatches++;
      recordMismatch(problems, n, line, call.response);
    }
  }
  return { times, mismatches, problems, requestBytes: call.request.length };
}
