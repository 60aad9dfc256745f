// `hide: { tools?, prompts?, resources? }` — entries the model should never see. A response
// rule removes them from the `…/list` results; a request rule denies calls to them, so a client
// that guesses a hidden name gets no further than one that was shown the list.
import type { HideRule } from '../../policy/document.js';
import type { FrameContext, Rule, Verdict } from '../types.js';
import { CONTINUE } from '../types.js';
import { compileGlobs, type GlobMatcher } from '../glob.js';
import {
  checkGlobList, checkKnownKeys, checkMode, checkRuleId, checkSection, deny, isRecord, quoteForMessage, readParams, readResult,
  RuleSpecError, type RuleContext,
} from './common.js';
import { normalizeUri } from './normalize.js';

/** Which list each `…/list` method returns, and the entry fields a glob is tried against. */
const LISTS: Readonly<Record<string, { readonly section: 'tools' | 'prompts' | 'resources'; readonly key: string; readonly fields: readonly string[] }>> = {
  'tools/list': { section: 'tools', key: 'tools', fields: ['name'] },
  'prompts/list': { section: 'prompts', key: 'prompts', fields: ['name'] },
  'resources/list': { section: 'resources', key: 'resources', fields: ['uri', 'name'] },
  'resources/templates/list': { section: 'resources', key: 'resourceTemplates', fields: ['uriTemplate', 'name'] },
};

/** The request that reaches each kind of entry, and the param that names it. */
const CALLS: Readonly<Record<string, { readonly section: 'tools' | 'prompts' | 'resources'; readonly param: string; readonly noun: string }>> = {
  'tools/call': { section: 'tools', param: 'name', noun: 'tool' },
  'prompts/get': { section: 'prompts', param: 'name', noun: 'prompt' },
  'resources/read': { section: 'resources', param: 'uri', noun: 'resource' },
};

/** A URI is hidden when its text as written or its normalized form matches. */
function matchesText(match: GlobMatcher, section: string, text: string): boolean {
  if (match(text)) return true;
  if (section !== 'resources') return false;
  const normalized = normalizeUri(text);
  return normalized !== undefined && normalized !== text && match(normalized);
}

export function createHideRules(spec: HideRule, context: RuleContext): Rule[] {
  const id = checkRuleId(spec.id);
  const mode = checkMode(id, context);
  const section = checkSection(id, 'hide', spec.hide);
  checkKnownKeys(id, 'hide', section, ['tools', 'prompts', 'resources']);
  const matchers: Partial<Record<'tools' | 'prompts' | 'resources', GlobMatcher>> = {};
  for (const name of ['tools', 'prompts', 'resources'] as const) {
    const globs = checkGlobList(id, `hide.${name}`, section[name]);
    if (globs !== undefined && globs.length > 0) matchers[name] = compileGlobs(globs);
  }
  if (Object.keys(matchers).length === 0) throw new RuleSpecError(id, 'hide needs at least one glob under tools, prompts or resources');

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
      const result = readResult(body);
      const entries = result?.[list.key];
      if (!Array.isArray(entries)) return CONTINUE;
      const hidden = (entry: unknown): boolean => isRecord(entry) && list.fields.some((field) => {
        const value = entry[field];
        return typeof value === 'string' && matchesText(match, list.section, value);
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
        body: { ...(body as Record<string, unknown>), result: { ...result, [list.key]: kept } },
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
      const value = readParams(frame.body())?.[call.param];
      if (typeof value !== 'string' || !matchesText(match, call.section, value)) return CONTINUE;
      return deny('hidden', `${call.noun} ${quoteForMessage(value)} is not available`, 'forbidden');
    },
  };

  return [request, response];
}
