// `deadline: { tools, timeoutMs }` — how long a client's `tools/call` of these tools may wait for
// the server. It neither denies nor rewrites: its verdict carries the deadline, which the pump
// applies instead of --request-timeout-ms for that request (0: none). One frozen verdict per rule,
// so a matching call allocates nothing here.
import type { DeadlineRule } from '../document/document.js';
import { compileGlobs } from '../engine/glob.js';
import type { FrameContext, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';
import { invalidParams, readParams, type RuleContext } from './common.js';

export function createDeadlineRules(spec: DeadlineRule, context: RuleContext): Rule[] {
  const { id } = spec;
  const matches = compileGlobs(spec.deadline.tools);
  const applies: Verdict = Object.freeze({ effect: 'deadline', deadline: Object.freeze({ ruleId: id, timeoutMs: spec.deadline.timeoutMs }) });

  return [{
    id,
    kind: 'deadline',
    mode: context.mode,
    direction: 'client-to-server',
    phase: 'request',
    methods: ['tools/call'],
    evaluate(frame: FrameContext): Verdict {
      const name = readParams(frame.body())?.['name'];
      // Fail closed, as every tool rule: a call without a name cannot be told apart from one this rule bounds.
      if (typeof name !== 'string') return invalidParams('tools/call', 'name');
      return matches(name) ? applies : CONTINUE;
    },
  }];
}
