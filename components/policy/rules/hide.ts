// `hide: { tools?, prompts?, resources? }` — entries the model should never see. A response
// rule removes them from the `…/list` results; a request rule denies calls to them, so a client
// that guesses a hidden name gets no further than one that was shown the list.
//
// Fails closed where it cannot tell whether something is hidden: a call without a string name
// (or URI) is denied (invalid_params), and so is a URI that cannot be normalized and that no
// glob matches as written (invalid_uri); a list entry it cannot read (not an object, a name or
// URI that is not a string or cannot be normalized) is removed; a list that is not a list
// cannot be filtered, and the response is denied (invalid_result).
import type { HideRule } from '../document/document.js';
import type { FrameContext, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';
import { compileGlobs, type GlobMatcher } from '../engine/glob.js';
import { deny, invalidParams, isRecord, quoteForMessage, readParams, type RuleContext } from './common.js';
import { normalizeUri } from './normalize.js';
import { TARGET_METHODS, targetFieldOf, type TargetKind } from '../../mcp/index.js';

/** An entry field (or call param) a glob is tried against; `uri`: it must be a URI. */
interface Field {
  readonly name: string;
  readonly uri: boolean;
}

/** Which list each `…/list` method returns, and the entry fields a glob is tried against. */
const LISTS: Readonly<Record<string, { readonly section: 'tools' | 'prompts' | 'resources'; readonly key: string; readonly fields: readonly Field[] }>> = {
  'tools/list': { section: 'tools', key: 'tools', fields: [{ name: 'name', uri: false }] },
  'prompts/list': { section: 'prompts', key: 'prompts', fields: [{ name: 'name', uri: false }] },
  'resources/list': { section: 'resources', key: 'resources', fields: [{ name: 'uri', uri: true }, { name: 'name', uri: false }] },
  'resources/templates/list': { section: 'resources', key: 'resourceTemplates', fields: [{ name: 'uriTemplate', uri: true }, { name: 'name', uri: false }] },
};

/**
 * The requests that reach each kind of entry, and the param that names it: every method that
 * names a target (components/mcp), so a hidden resource can be neither read nor subscribed to.
 */
const SECTIONS: Readonly<Record<TargetKind, 'tools' | 'prompts' | 'resources'>> = { tool: 'tools', prompt: 'prompts', resource: 'resources' };
const CALLS: Readonly<Record<string, { readonly section: 'tools' | 'prompts' | 'resources'; readonly param: Field; readonly noun: string }>> = Object.fromEntries(
  TARGET_METHODS.map((method) => {
    const { kind, field } = targetFieldOf(method)!;
    return [method, { section: SECTIONS[kind], param: { name: field, uri: field === 'uri' }, noun: kind }];
  }),
);

/**
 * Whether the globs hide this text: as written, or (for resources) normalized. Undefined when it
 * cannot be told: a URI that no glob matches as written and that cannot be normalized (a name
 * need not be a URI).
 */
function hides(match: GlobMatcher, section: string, field: Field, text: string): boolean | undefined {
  if (match(text)) return true;
  if (section !== 'resources') return false;
  const normalized = normalizeUri(text);
  if (normalized === undefined) return field.uri ? undefined : false;
  return normalized !== text && match(normalized);
}

export function createHideRules(spec: HideRule, context: RuleContext): Rule[] {
  const { id } = spec;
  const { mode } = context;
  const matchers: Partial<Record<'tools' | 'prompts' | 'resources', GlobMatcher>> = {};
  for (const name of ['tools', 'prompts', 'resources'] as const) {
    const globs = spec.hide[name];
    if (globs !== undefined) matchers[name] = compileGlobs(globs);
  }

  const listMethods = Object.keys(LISTS).filter((method) => matchers[LISTS[method]!.section] !== undefined);
  const callMethods = Object.keys(CALLS).filter((method) => matchers[CALLS[method]!.section] !== undefined);

  const response: Rule = {
    id,
    kind: 'hide',
    mode,
    direction: 'server-to-client',
    phase: 'response',
    methods: listMethods,
    evaluate(frame: FrameContext): Verdict {
      const list = LISTS[frame.method];
      const match = list && matchers[list.section];
      if (list === undefined || match === undefined) return CONTINUE;
      const body = frame.body();
      // An error response, or a result without the list, shows nothing to hide.
      const result = isRecord(body) ? body['result'] : undefined;
      if (result === undefined) return CONTINUE;
      const entries = isRecord(result) ? result[list.key] : null;
      if (entries === undefined) return CONTINUE;
      if (!Array.isArray(entries)) {
        return deny('invalid_result', `a ${frame.method} result whose ${list.key} is not a list cannot be filtered`, 'internal_error');
      }
      // An entry the rule cannot read is removed: it cannot tell it is not hidden.
      const hidden = (entry: unknown): boolean => !isRecord(entry) || list.fields.some((field) => {
        const value = entry[field.name];
        return typeof value !== 'string' || hides(match, list.section, field, value) !== false;
      });
      let removed = 0;
      const kept: unknown[] = [];
      for (const entry of entries) {
        if (hidden(entry)) removed++;
        else kept.push(entry);
      }
      if (removed === 0) return CONTINUE;
      return {
        effect: 'rewrite',
        reason: 'hidden_from_list',
        changes: removed,
        body: { ...(body as Record<string, unknown>), result: { ...(result as Record<string, unknown>), [list.key]: kept } },
      };
    },
  };

  const request: Rule = {
    id,
    kind: 'hide',
    mode,
    direction: 'client-to-server',
    phase: 'request',
    methods: callMethods,
    evaluate(frame: FrameContext): Verdict {
      const call = CALLS[frame.method];
      const match = call && matchers[call.section];
      if (call === undefined || match === undefined) return CONTINUE;
      const value = readParams(frame.body())?.[call.param.name];
      if (typeof value !== 'string') return invalidParams(frame.method, call.param.name);
      const hidden = hides(match, call.section, call.param, value);
      if (hidden === false) return CONTINUE;
      if (hidden === undefined) return deny('invalid_uri', `resource URI ${quoteForMessage(value)} cannot be parsed`, 'user_error');
      return deny('hidden', `${call.noun} ${quoteForMessage(value)} is not available`, 'forbidden');
    },
  };

  return [request, response];
}
