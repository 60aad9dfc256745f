// `prompts: { allow?, deny? }` — which prompts a client may get, by name glob.
import type { PromptsRule } from '../document/document.js';
import type { FrameContext, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';
import { compileAllowDeny, deny, invalidParams, permits, quoteForMessage, readParams, type RuleContext } from './common.js';

export function createPromptsRules(spec: PromptsRule, context: RuleContext): Rule[] {
  const { id } = spec;
  const { mode } = context;
  const lists = compileAllowDeny(spec.prompts);

  return [{
    id,
    kind: 'prompts',
    mode,
    direction: 'client-to-server',
    phase: 'request',
    methods: ['prompts/get'],
    evaluate(frame: FrameContext): Verdict {
      const name = readParams(frame.body())?.['name'];
      if (typeof name !== 'string') return invalidParams('prompts/get', 'name');
      if (permits(lists, name)) return CONTINUE;
      return deny('prompt_not_allowed', `prompt ${quoteForMessage(name)} is not allowed`, 'forbidden');
    },
  }];
}
