// The replay of one recording (a header and the frames after it: one run of the proxy) under
// the candidate policy, compiled afresh for it as a restarted proxy would compile it, so rate
// limits start full. Frames are evaluated in file order at their recorded time; a request and
// its response make one invocation, handed on once its response is seen or the run ends.
import { CANCELLED } from '../mcp/index.js';
import { evaluateFrame, type CompiledPolicy, type Decision, type Rule } from '../policy/index.js';
import type { Invocation } from './compare.js';
import { cancelledKey, pairKey, targetOf, type Target } from './pairing.js';
import type { FrameLine } from './read.js';
import type { ArgumentsMode } from './types.js';

export interface ReplayNotes {
  /** Frames the writer dropped (its `gap` lines). */
  framesNotRecorded: number;
  /** Invocations whose arguments were recorded as a digest, where an argument rule could have acted. */
  argumentsNotEvaluated: number;
  /** Requests the recording denied and the candidate lets through: no response to evaluate. */
  responsesNotRecorded: number;
  /** Responses whose request is not in the transcript. */
  unpairedResponses: number;
}

export interface RunContext {
  readonly policy: CompiledPolicy;
  readonly argumentsMode: ArgumentsMode;
  /** Lines of the requests whose response the transcript holds (the first pass found them). */
  readonly answered: ReadonlySet<number>;
  readonly notes: ReplayNotes;
  finish(invocation: Invocation): void;
}

interface Open {
  readonly line: number;
  readonly frame: FrameLine;
  readonly target: Target;
  readonly recorded: Decision[];
  readonly candidate: Decision[];
  readonly candidateDenied: boolean;
}

// What reads a request's arguments: with only their digest recorded, these cannot be evaluated.
const isArgumentRule = (rule: Pick<Rule, 'kind' | 'id'>): boolean => rule.kind === 'arguments' || rule.id === 'limits.maxDepth';
const isArgumentDecision = (decision: Decision): boolean => isArgumentRule({ kind: decision.kind, id: decision.ruleId });

/** The same policy (the same rule objects, so the same rate-limit buckets) without the rules that read arguments. */
function withoutArgumentRules(policy: CompiledPolicy): CompiledPolicy {
  return { ...policy, rulesFor: (direction, phase, method) => policy.rulesFor(direction, phase, method).filter((rule) => !isArgumentRule(rule)) };
}

/**
 * The frame's bytes, rebuilt. Padded with blanks (valid JSON) to the size recorded, so frame
 * size limits see what the proxy saw; a frame whose recorded form is longer (a placeholder
 * longer than its secret) is evaluated at that size.
 */
function frameBytes(frame: FrameLine): Buffer {
  const text = frame.text ?? JSON.stringify(frame.frame);
  const pad = Math.max(0, frame.bytes - Buffer.byteLength(text) - 1);
  return Buffer.from(`${text}${' '.repeat(pad)}\n`);
}

function hasArguments(body: unknown): boolean {
  const params = (body as { params?: unknown } | null | undefined)?.params;
  return typeof params === 'object' && params !== null && 'arguments' in params;
}

export class RunReplay {
  readonly #context: RunContext;
  readonly #withoutArguments: CompiledPolicy;
  readonly #open = new Map<string, Open>();
  /** Client requests forwarded (under the candidate) and not yet answered, per session: limits.maxInFlight. */
  readonly #inFlight = new Map<string, Set<string>>();

  constructor(context: RunContext) {
    this.#context = context;
    this.#withoutArguments = withoutArgumentRules(context.policy);
  }

  frame(frame: FrameLine, line: number): void {
    if (frame.kind === 'response') return this.#response(frame, line);
    const opened = this.#request(frame, line);
    if (frame.kind === 'notification') {
      if (frame.direction === 'client-to-server' && frame.method === CANCELLED) this.#settle(frame.session, cancelledKey(frame));
      return this.#finish(opened);
    }
    const key = pairKey(frame);
    const unanswered = this.#open.get(key);
    if (unanswered !== undefined) this.#finish(unanswered); // its id is used again: it will get no response
    this.#open.set(key, opened);
  }

  /** The run is over: the requests still open never got a response. */
  end(): void {
    for (const open of this.#open.values()) this.#finish(open);
    this.#open.clear();
  }

  #request(frame: FrameLine, line: number): Open {
    const { policy, notes } = this.#context;
    const digested = this.#context.argumentsMode === 'digest' && frame.kind === 'request' && hasArguments(frame.frame);
    const recorded = digested ? frame.decisions.filter((d) => !isArgumentDecision(d)) : [...frame.decisions];
    if (digested && (recorded.length < frame.decisions.length || policy.rulesFor(frame.direction, frame.phase, frame.method).some(isArgumentRule))) {
      notes.argumentsNotEvaluated += 1;
    }
    const clientRequest = frame.direction === 'client-to-server' && frame.kind === 'request';
    const key = pairKey(frame);
    // limits.maxInFlight is a rule like the others: it reads the session's count, as the pump's ledger gives it.
    const inFlight = clientRequest ? this.#sessionInFlight(frame.session).size : 0;
    const { action, decisions } = evaluateFrame(digested ? this.#withoutArguments : policy, frame.direction, frame.phase, frame.method, frameBytes(frame), frame.at, frame.identity, false, inFlight);
    const candidate: Decision[] = [...decisions];
    const denied = action.kind === 'deny';
    // Counted only when the transcript says when it ended (its response is recorded).
    if (!denied && clientRequest && this.#context.answered.has(line)) this.#sessionInFlight(frame.session).add(key);
    return { line, frame, target: targetOf(frame.method, frame.frame), recorded, candidate, candidateDenied: denied };
  }

  #response(frame: FrameLine, line: number): void {
    const key = pairKey(frame);
    const open = this.#open.get(key);
    if (open === undefined) {
      this.#context.notes.unpairedResponses += 1;
      const { decisions } = evaluateFrame(this.#context.policy, frame.direction, frame.phase, frame.method, frameBytes(frame), frame.at, frame.identity);
      return this.#finish({ line, frame, target: { type: 'method', name: frame.method }, recorded: [...frame.decisions], candidate: [...decisions], candidateDenied: false });
    }
    this.#open.delete(key);
    this.#settle(frame.session, key);
    open.recorded.push(...frame.decisions);
    // A request the candidate refuses never reaches the peer: its response would not exist.
    if (!open.candidateDenied) {
      const identity = frame.identity ?? open.frame.identity;
      open.candidate.push(...evaluateFrame(this.#context.policy, frame.direction, frame.phase, frame.method, frameBytes(frame), frame.at, identity).decisions);
    }
    this.#finish(open);
  }

  #sessionInFlight(session: string | undefined): Set<string> {
    let open = this.#inFlight.get(session ?? '');
    if (open === undefined) this.#inFlight.set(session ?? '', (open = new Set()));
    return open;
  }

  #settle(session: string | undefined, key: string | undefined): void {
    if (key !== undefined) this.#inFlight.get(session ?? '')?.delete(key);
  }

  #finish(open: Open): void {
    const { frame } = open;
    // The recording refused the request, so the transcript has no response; the candidate would let it through.
    const newlyAllowed = frame.kind === 'request' && frame.action === 'deny' && !open.candidateDenied;
    if (newlyAllowed) this.#context.notes.responsesNotRecorded += 1;
    this.#context.finish({
      line: open.line, method: frame.method, id: frame.id, invocationId: frame.invocationId, target: open.target,
      recorded: open.recorded, candidate: open.candidate, newlyAllowed,
    });
  }
}
