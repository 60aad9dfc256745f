// `tools: { allow?, deny?, reply }` — which tools a client may call, by name glob.
import type { ToolsRule } from '../document/document.js';
import type { FrameContext, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';
import {
  checkKnownKeys, checkMode, checkReply, checkRuleId, checkSection, compileAllowDeny, deny, invalidParams, permits, quoteForMessage, readParams,
  type RuleContext,
} from './common.js';

export function createToolsRules(spec: ToolsRule, context: RuleContext): Rule[] {
  const id = checkRuleId(spec.id);
  const mode = checkMode(id, context);
  const section = checkSection(id, 'tools', spec.tools);
  checkKnownKeys(id, 'tools', section, ['allow', 'deny', 'reply']);
  const reply = checkReply(id, 'tools.reply', section['reply']);
  const lists = compileAllowDeny(id, 'tools', section);

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
