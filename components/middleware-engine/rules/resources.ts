// `resources: { allow?, deny? }` — which resources a client may read, by URI glob. The URI is
// normalized first (normalize.ts), so `file:///workspace/../etc/passwd` is matched as
// `file:///etc/passwd` and `file:///workspace/%2e%2e/etc/passwd` likewise.
import type { ResourcesRule } from '../../policy/document.js';
import type { FrameContext, Rule, Verdict } from '../types.js';
import { CONTINUE } from '../types.js';
import {
  checkKnownKeys, checkMode, checkRuleId, checkSection, compileAllowDeny, deny, permits, quoteForMessage, readParams,
  type RuleContext,
} from './common.js';
import { normalizeUri } from './normalize.js';

export function createResourcesRules(spec: ResourcesRule, context: RuleContext): Rule[] {
  const id = checkRuleId(spec.id);
  const mode = checkMode(id, context);
  const section = checkSection(id, 'resources', spec.resources);
  checkKnownKeys(id, 'resources', section, ['allow', 'deny']);
  const lists = compileAllowDeny(id, 'resources', section);

  return [{
    id,
    kind: 'resources',
    mode,
    direction: 'client-to-server',
    phase: 'request',
    methods: ['resources/read'],
    evaluate(frame: FrameContext): Verdict {
      const uri = readParams(frame.body())?.['uri'];
      if (typeof uri !== 'string') return deny('invalid_params', 'resources/read needs params.uri, a string', 'user_error');
      const normalized = normalizeUri(uri);
      if (normalized === undefined) {
        // Without an allow list only the deny globs apply, and they can only be tried as written.
        if (lists.hasAllow) return deny('invalid_uri', `resource URI ${quoteForMessage(uri)} cannot be parsed`, 'user_error');
        if (lists.deny !== undefined && lists.deny(uri)) {
          return deny('resource_not_allowed', `resource ${quoteForMessage(uri)} is not allowed`, 'forbidden');
        }
        return CONTINUE;
      }
      if (permits(lists, normalized)) return CONTINUE;
      return deny('resource_not_allowed', `resource ${quoteForMessage(uri)} is not allowed`, 'forbidden');
    },
  }];
}
