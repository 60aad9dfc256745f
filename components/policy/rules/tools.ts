// `tools: { allow?, deny?, reply }` — which tools a client may call, by name glob.
import type { ToolsRule } from '../document/document.js';
import type { FrameContext, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';
import { compileAllowDeny, deny, invalidParams, permits, quoteForMessage, readParams, type RuleContext } from './common.js';

export function createToolsRules(spec: ToolsRule, context: RuleContext): Rule[] {
  const { id } = spec;
  const { mode } = context;
  const reply = spec.tools.reply;
  const lists = compileAllowDeny(spec.tools);

  return [{
    id,
    kind: 'tools',
    mode,
    direction: 'client-to-server',
    phase: 'request',
    methods: ['tools/call'],
    evaluate(frame: FrameContext): Verdict {
      const name = readParams(frame.body())?.['name'];
      if (typeof name !== 'string') return invalidParams('tools/call', 'name');
      if (permits(lists, name)) return CONTINUE;
      return deny('tool_not_allowed', `tool ${quoteForMessage(name)} is not allowed`, 'forbidden', { reply });
    },
  }];
}
