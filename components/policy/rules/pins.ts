// `pins: { lock, unknown }` — tool-definition pins checked at run time (against "rug pulls": a
// server that changes what its tools say after they were approved). A response rule checks every
// entry of tools/list, prompts/list and resources/templates/list against the lock
// (components/tool-pins): a definition whose pin differs, or that cannot be pinned, is removed;
// one the lock does not hold follows `unknown`. A request rule denies tools/call and prompts/get
// of what was removed, naming the pin and what changed.
//
// State: the last verdict of every listed name, so a call is judged by the definition the
// session was last shown. It is kept per session (FrameContext.session, in a WeakMap), so one
// session's server (a rug pull in its process) never decides another session's calls; a name the
// session has not listed yet is judged against the lock by name alone (a pinned name passes: a
// definition's pin is only known from a list).
//
// `unknown: observe` compiles a second pair of rules in observe mode for the unknown entries,
// so the engine records their would-deny next to the enforced removals of changed ones.
//
// Trust on first use (`--tool-pins-state`): the pins come from a PinState that grows. Before a
// list is checked the state is read again when another process changed it (one stat otherwise:
// `pin approve` takes effect at the next list); an unknown definition is trusted and is pinned
// from then on; a changed one is proposed for `pin approve` and treated as changed meanwhile. A
// state that cannot be read again or written trusts nothing (fail closed): unknown entries are
// hidden as with `unknown: deny`, and the pins held so far stay in force.
import { readFileSync } from 'node:fs';
import type { PinsRule, PinsUnknown, PolicyMode } from '../document/document.js';
import type { DecisionPin, FrameContext, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';
import {
  describeChanges, LIST_OF, listDigest, parseLock, pinDefinition, PinIndex, type DefinitionKind, type FieldChange, type PinnedDefinition,
  type PinState, type PinVerdict,
} from '../../tool-pins/index.js';
import { deny, invalidParams, isRecord, quoteForMessage, readParams, type RuleContext } from './common.js';

/** One definition that does not match the lock: what is logged, counted and named in decisions. */
export interface PinMismatch {
  readonly kind: DefinitionKind;
  readonly status: 'changed' | 'unknown' | 'unreadable';
  /** Undefined for an entry without a readable key. */
  readonly key: string | undefined;
  /** The lock's pin (changed). */
  readonly expected?: string;
  /** The pin of what the server lists now (changed, unknown). */
  readonly actual?: string;
  readonly changes?: readonly FieldChange[];
  /** Whether the entry was removed (false: observe mode, or `unknown: observe`). */
  readonly enforced: boolean;
}

/** Hears every mismatch (the runtime logs it at warn); counts are kept here for the metrics. */
export type PinMismatchListener = (mismatch: PinMismatch) => void;

let listener: PinMismatchListener | undefined;
const mismatchCounts: Record<DefinitionKind, number> = { tool: 0, prompt: 0, resourceTemplate: 0 };

/** The runtime's logger hook; one per process (undefined: mismatches are only counted). */
export function setPinMismatchListener(next: PinMismatchListener | undefined): void {
  listener = next;
}

/** Mismatches seen so far, by kind (`mcp_sidecar_pin_mismatches_total{kind}`). */
export function pinMismatchCounts(): Readonly<Record<DefinitionKind, number>> {
  return mismatchCounts;
}

/** The list methods, and the kind each carries. */
const LIST_KINDS: Readonly<Record<string, DefinitionKind>> = {
  [LIST_OF.tool.method]: 'tool',
  [LIST_OF.prompt.method]: 'prompt',
  [LIST_OF.resourceTemplate.method]: 'resourceTemplate',
};
/** The calls by name that reach a listed definition (a resource is read by URI, not by its template). */
const CALL_KINDS: Readonly<Record<string, { readonly kind: DefinitionKind; readonly noun: string }>> = {
  'tools/call': { kind: 'tool', noun: 'tool' },
  'prompts/get': { kind: 'prompt', noun: 'prompt' },
};
const NOUNS: Readonly<Record<DefinitionKind, string>> = { tool: 'tool', prompt: 'prompt', resourceTemplate: 'resource template' };

/** Names remembered per kind; a server listing more is absurd, and past it calls are judged by the lock alone. */
const MAX_REMEMBERED = 10_000;

/** What the rule remembers of each listed name: its last verdict (and, with a pin, the call's pin verdict, made once). */
type Remembered =
  | (Exclude<PinVerdict, { status: 'unreadable' }> & { readonly inForce: Verdict })
  | { readonly status: 'unreadable'; readonly key: string };

/** Mismatches a decision lists with both digests (the report's bound); the rest are counted. */
export const MAX_DECISION_PINS = 16;
/** Changed fields listed per mismatch in a decision; a rewrite of more is named by the first ones. */
const MAX_DECISION_CHANGES = 16;

export function createPinsRules(spec: PinsRule, context: RuleContext): Rule[] {
  const lock = parseLock(readFileSync(spec.pins.lock, 'utf8'), spec.pins.lock);
  return createPinsRulesFromIndex(spec.id, context.mode, new PinIndex(lock), spec.pins.unknown);
}

/** The rules over an index already read (a lock file; tests). */
export function createPinsRulesFromIndex(id: string, mode: PolicyMode, index: PinIndex, unknown: PinsUnknown): Rule[] {
  return createPinsRulesOver(id, mode, { get index() { return index; } }, unknown);
}

/** Hears what the trust-on-first-use state could not do (re-read, trust, propose): the runtime logs it. */
export type PinStateErrorListener = (error: Error, action: 'refresh' | 'trust' | 'propose') => void;

/**
 * Trust on first use over one PinState (one per process, shared by every session and every
 * compiled policy). `unknown` does not apply: an unknown definition is trusted, and one that
 * cannot be (the state cannot be written) is hidden as with `unknown: deny`.
 */
export function createTrustOnFirstUseRules(id: string, mode: PolicyMode, state: PinState, onStateError: PinStateErrorListener): Rule[] {
  return createPinsRulesOver(id, mode, new TrustOnFirstUse(state, onStateError), 'deny');
}

/** Where the rules read their pins: read at every check, since a trust-on-first-use state changes under them. */
interface PinSource {
  readonly index: PinIndex;
  /** Trust on first use: settles a list's verdicts (trusts the unknown, proposes the changed) before they are judged. */
  settle?(kind: DefinitionKind, entries: readonly unknown[], verdicts: PinVerdict[]): void;
}

class TrustOnFirstUse implements PinSource {
  readonly #state: PinState;
  readonly #onError: PinStateErrorListener;

  constructor(state: PinState, onError: PinStateErrorListener) {
    this.#state = state;
    this.#onError = onError;
  }

  get index(): PinIndex {
    return this.#state.index;
  }

  settle(kind: DefinitionKind, entries: readonly unknown[], verdicts: PinVerdict[]): void {
    // Another process's change (`pin approve`, another proxy's first use): one stat when none.
    try {
      if (this.#state.refresh()) for (let i = 0; i < entries.length; i++) verdicts[i] = this.#state.index.check(kind, entries[i]);
    } catch (error) {
      // Unreadable now (corrupt, removed): trusting would write a file without what was pinned
      // before, so nothing is trusted until it can be read; the pins held so far stay in force.
      this.#onError(error as Error, 'refresh');
      return;
    }
    const unknown: PinnedDefinition[] = [];
    for (let i = 0; i < entries.length; i++) {
      if (verdicts[i]!.status !== 'unknown') continue;
      const definition = pinDefinition(kind, entries[i]);
      if (definition !== undefined) unknown.push(definition);
    }
    if (unknown.length > 0) {
      try {
        this.#state.trust(unknown);
      } catch (error) {
        this.#onError(error as Error, 'trust'); // fail closed: they stay unknown, hidden
        return;
      }
      // Pinned now, or changed if another process trusted another definition of the name first.
      for (let i = 0; i < entries.length; i++) if (verdicts[i]!.status === 'unknown') verdicts[i] = this.#state.index.check(kind, entries[i]);
    }
    for (let i = 0; i < entries.length; i++) {
      const verdict = verdicts[i]!;
      if (verdict.status !== 'changed') continue;
      // Already pending with this pin: no write, and no lock taken, at every list.
      if (this.#state.pending.some((d) => d.kind === kind && d.key === verdict.key && d.pin === verdict.pin)) continue;
      const definition = pinDefinition(kind, entries[i]);
      if (definition === undefined) continue;
      try {
        this.#state.propose(definition);
      } catch (error) {
        this.#onError(error as Error, 'propose'); // still hidden as changed; only the review record is missing
      }
    }
  }
}

function createPinsRulesOver(id: string, mode: PolicyMode, source: PinSource, unknown: PinsUnknown): Rule[] {
  // One memory per session; frames without a session (policy test, replay) share `implicit`.
  const sessions = new WeakMap<object, SessionMemory>();
  let implicit: SessionMemory | undefined;
  const memoryOf = (frame: FrameContext): SessionMemory => {
    const session = frame.session;
    if (session === undefined) return (implicit ??= newSessionMemory());
    let memory = sessions.get(session);
    if (memory === undefined) sessions.set(session, (memory = newSessionMemory()));
    return memory;
  };
  /** What a session was last shown of a name, without creating a memory for a session that listed nothing. */
  const lastListed = (frame: FrameContext, kind: DefinitionKind, name: string): Remembered | undefined =>
    (frame.session === undefined ? implicit : sessions.get(frame.session))?.seen[kind].get(name);
  // The unknown entries are the enforced rules' concern only when `unknown: deny`.
  const enforcedUnknown = unknown === 'deny';

  const listRule = (ruleMode: PolicyMode, judgesUnknown: boolean, judgesOthers: boolean): Rule => ({
    id,
    kind: 'pins',
    mode: ruleMode,
    direction: 'server-to-client',
    phase: 'response',
    methods: Object.keys(LIST_KINDS),
    evaluate(frame: FrameContext): Verdict {
      const kind = LIST_KINDS[frame.method];
      if (kind === undefined) return CONTINUE;
      const body = frame.body();
      const result = isRecord(body) ? body['result'] : undefined;
      if (result === undefined) return CONTINUE; // an error response lists nothing
      const member = LIST_OF[kind].member;
      const entries = isRecord(result) ? result[member] : null;
      if (entries === undefined) return CONTINUE;
      if (!Array.isArray(entries)) {
        return judgesOthers ? deny('invalid_result', `a ${frame.method} result whose ${member} is not a list cannot be checked against the pins`, 'internal_error') : CONTINUE;
      }
      const memory = memoryOf(frame);
      const kept: unknown[] = [];
      const removed: PinMismatch[] = [];
      const listedPins: Array<{ key: string; pin: string }> = [];
      let index = source.index;
      const verdicts = entries.map((entry) => index.check(kind, entry));
      // Only the enforced pair settles (trust on first use has no observe-only pair).
      if (judgesOthers && source.settle !== undefined) {
        source.settle(kind, entries, verdicts);
        index = source.index;
      }
      for (let i = 0; i < entries.length; i++) {
        const entry: unknown = entries[i];
        const verdict = verdicts[i]!;
        if (verdict.status !== 'unreadable') listedPins.push({ key: verdict.key, pin: verdict.pin });
        if (judgesOthers) remember(memory, kind, verdict.status === 'unreadable' ? { status: 'unreadable', key: verdict.key ?? '' } : { ...verdict, inForce: { effect: 'pin', pin: verdict.pin } });
        const judged = verdict.status === 'unknown' ? judgesUnknown : verdict.status !== 'pinned' && judgesOthers;
        if (!judged) {
          kept.push(entry);
          continue;
        }
        const mismatch = mismatchOf(kind, verdict as Exclude<PinVerdict, { status: 'pinned' }>, ruleMode === 'enforce');
        removed.push(mismatch);
        mismatchCounts[kind]++;
        listener?.(mismatch);
      }
      if (removed.length === 0) return CONTINUE;
      let message = removed.map(describeMismatch).join('; ');
      // A complete list (no further page) whose digest differs from the lock's: what is not
      // explained by the entries above is pinned entries the server no longer lists.
      if (judgesOthers && !memory.askedForPage[kind] && (result as Record<string, unknown>)['nextCursor'] === undefined) {
        const digest = listDigest(listedPins);
        if (digest !== index.lock.lists[kind]) {
          const listed = new Set(listedPins.map((p) => p.key));
          const gone = [...index.keys(kind)].filter((key) => !listed.has(key));
          message += `; list digest ${digest}, pinned ${index.lock.lists[kind]}`;
          if (gone.length > 0) message += `; pinned but no longer listed: ${gone.slice(0, 20).map(quoteForMessage).join(', ')}`;
        }
      }
      return {
        effect: 'rewrite',
        reason: 'pin_mismatch',
        changes: removed.length,
        message,
        pins: removed.slice(0, MAX_DECISION_PINS).map(decisionPinOf),
        ...(removed.length > MAX_DECISION_PINS && { pinsOmitted: removed.length - MAX_DECISION_PINS }),
        body: { ...(body as Record<string, unknown>), result: { ...(result as Record<string, unknown>), [member]: kept } },
      };
    },
  });

  const callRule = (ruleMode: PolicyMode, judgesUnknown: boolean, judgesOthers: boolean): Rule => ({
    id,
    kind: 'pins',
    mode: ruleMode,
    direction: 'client-to-server',
    phase: 'request',
    methods: judgesOthers ? [...Object.keys(CALL_KINDS), ...Object.keys(LIST_KINDS)] : Object.keys(CALL_KINDS),
    evaluate(frame: FrameContext): Verdict {
      const listed = LIST_KINDS[frame.method];
      if (listed !== undefined) {
        memoryOf(frame).askedForPage[listed] = readParams(frame.body())?.['cursor'] !== undefined;
        return CONTINUE;
      }
      const call = CALL_KINDS[frame.method];
      if (call === undefined) return CONTINUE;
      const name = readParams(frame.body())?.['name'];
      if (typeof name !== 'string') return judgesOthers ? invalidParams(frame.method, 'name') : CONTINUE;
      const last = lastListed(frame, call.kind, name);
      const pinned = last === undefined ? source.index.get(call.kind, name) : undefined;
      const status = last?.status ?? (pinned === undefined ? 'unknown' : 'pinned');
      // The pin in force (for the call's report): what this session was last shown, else the lock's.
      // Only the enforced pair says it, so it is said once.
      const inForce: Verdict = !judgesOthers ? CONTINUE : last !== undefined && last.status !== 'unreadable' ? last.inForce : pinned !== undefined ? { effect: 'pin', pin: pinned.pin } : CONTINUE;
      if (status === 'pinned') return inForce;
      if (status === 'unknown') {
        if (!judgesUnknown) return inForce;
        const pins: DecisionPin[] = [{ kind: call.kind, status: 'unknown', key: name, ...(last?.status === 'unknown' && { actual: last.pin }) }];
        return pinDeny('pin_unknown', `${call.noun} ${quoteForMessage(name)} is not pinned in the lock file${last?.status === 'unknown' ? ` (its pin: ${last.pin})` : ''}`, pins, last?.status === 'unknown' ? last.pin : undefined);
      }
      if (!judgesOthers) return CONTINUE;
      if (last?.status === 'changed') {
        const pins = [decisionPinOf({ kind: call.kind, status: 'changed', key: name, expected: last.expected, actual: last.pin, changes: last.changes, enforced: true })];
        return pinDeny('pin_changed', `${call.noun} ${quoteForMessage(name)} differs from its pin ${last.expected} (now ${last.pin}): ${describeChanges(last.changes)}`, pins, last.pin);
      }
      const pins: DecisionPin[] = [{ kind: call.kind, status: 'unreadable', key: name }];
      return pinDeny('pin_unreadable', `${call.noun} ${quoteForMessage(name)} was listed in a form that cannot be pinned`, pins);
    },
  });

  const rules = [callRule(mode, enforcedUnknown, true), listRule(mode, enforcedUnknown, true)];
  if (unknown === 'observe') rules.push(callRule('observe', true, false), listRule('observe', true, false));
  return rules;
}

/** What one session was shown: the last verdict of every listed name, and its list requests' paging. */
interface SessionMemory {
  readonly seen: Record<DefinitionKind, Map<string, Remembered>>;
  /**
   * Whether the last list request of each kind asked for a later page (a cursor): only a first
   * page without a next one is the whole list, whose digest can be compared with the lock's.
   */
  readonly askedForPage: Record<DefinitionKind, boolean>;
}

function newSessionMemory(): SessionMemory {
  return {
    seen: { tool: new Map(), prompt: new Map(), resourceTemplate: new Map() },
    askedForPage: { tool: false, prompt: false, resourceTemplate: false },
  };
}

function remember(memory: SessionMemory, kind: DefinitionKind, verdict: Remembered): void {
  const map = memory.seen[kind];
  if (map.size < MAX_REMEMBERED || map.has(verdict.key)) map.set(verdict.key, verdict);
}

function mismatchOf(kind: DefinitionKind, verdict: Exclude<PinVerdict, { status: 'pinned' }>, enforced: boolean): PinMismatch {
  switch (verdict.status) {
    case 'changed':
      return { kind, status: 'changed', key: verdict.key, expected: verdict.expected, actual: verdict.pin, changes: verdict.changes, enforced };
    case 'unknown':
      return { kind, status: 'unknown', key: verdict.key, actual: verdict.pin, enforced };
    case 'unreadable':
      return { kind, status: 'unreadable', key: verdict.key, enforced };
  }
}

/** A call denied for its pin: a tool error the model reads, and the pin for the report. */
function pinDeny(reason: string, message: string, pins: DecisionPin[], pin?: string): Verdict {
  return { effect: 'deny', reason, message, category: 'forbidden', reply: 'tool-error', pins, ...(pin !== undefined && { pin }) };
}

/** A mismatch as a decision records it: both digests and the changed paths, bounded. */
function decisionPinOf(m: PinMismatch): DecisionPin {
  return {
    kind: m.kind,
    status: m.status,
    ...(m.key !== undefined && { key: m.key }),
    ...(m.expected !== undefined && { expected: m.expected }),
    ...(m.actual !== undefined && { actual: m.actual }),
    ...(m.changes !== undefined && { changes: m.changes.slice(0, MAX_DECISION_CHANGES).map((c) => `${c.path} ${c.change}`) }),
  };
}

/** `tool "add" changed: pin sha256:… expected sha256:… (/description changed)`. */
export function describeMismatch(m: PinMismatch): string {
  const what = `${NOUNS[m.kind]} ${m.key === undefined ? '(no readable key)' : quoteForMessage(m.key)}`;
  if (m.status === 'changed') return `${what} changed: pin ${m.actual}, expected ${m.expected} (${describeChanges(m.changes ?? [])})`;
  if (m.status === 'unknown') return `${what} is not pinned: pin ${m.actual}`;
  return `${what} cannot be pinned`;
}
