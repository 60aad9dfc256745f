// `methods: { from, allow?, deny? }` — which requests and notifications a side may send.
// Request phase only: responses (results and errors) are never denied by this rule, since
// refusing a response would leave the other side waiting for an answer that never comes.
import type { MethodsRule } from '../document/document.js';
import type { FrameContext, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';
import { compileAllowDeny, deny, permits, quoteForMessage, type RuleContext } from './common.js';

export function createMethodsRules(spec: MethodsRule, context: RuleContext): Rule[] {
  const { id } = spec;
  const { mode } = context;
  const from = spec.methods.from;
  const lists = compileAllowDeny(spec.methods);

  return [{
    id,
    kind: 'methods',
    mode,
    direction: from === 'client' ? 'client-to-server' : 'server-to-client',
    phase: 'request',
    methods: ['*'],
    evaluate(frame: FrameContext): Verdict {
      if (permits(lists, frame.method)) return CONTINUE;
      return deny('method_not_allowed', `method ${quoteForMessage(frame.method)} is not allowed from the ${from}`, 'forbidden');
    },
  }];
}
