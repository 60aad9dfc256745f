// `resources: { allow?, deny? }` — which resources a client may read or subscribe to, by URI glob:
// every method that names a resource (components/mcp: resources/read, resources/subscribe,
// resources/unsubscribe), so a subscription cannot watch what a read may not see. The URI is
// normalized first (normalize.ts), so `file:///workspace/../etc/passwd` is matched as
// `file:///etc/passwd` and `file:///workspace/%2e%2e/etc/passwd` likewise. A request whose URI
// cannot be read or normalized is denied (fail closed).
import type { ResourcesRule } from '../document/document.js';
import type { FrameContext, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';
import { methodsTargeting } from '../../mcp/index.js';
import { compileAllowDeny, deny, invalidParams, permits, quoteForMessage, readParams, type RuleContext } from './common.js';
import { normalizeUri } from './normalize.js';

const RESOURCE_METHODS = methodsTargeting('resource');

export function createResourcesRules(spec: ResourcesRule, context: RuleContext): Rule[] {
  const { id } = spec;
  const { mode } = context;
  const lists = compileAllowDeny(spec.resources);

  return [{
    id,
    kind: 'resources',
    mode,
    direction: 'client-to-server',
    phase: 'request',
    methods: RESOURCE_METHODS,
    evaluate(frame: FrameContext): Verdict {
      const uri = readParams(frame.body())?.['uri'];
      if (typeof uri !== 'string') return invalidParams(frame.method, 'uri');
      const normalized = normalizeUri(uri);
      // A URI that cannot be normalized cannot be matched as the server will resolve it
      // (`file:///public\..\etc\passwd` passes a deny list as written): fail closed, with or
      // without an allow list.
      if (normalized === undefined) return deny('invalid_uri', `resource URI ${quoteForMessage(uri)} cannot be parsed`, 'user_error');
      if (permits(lists, normalized)) return CONTINUE;
      return deny('resource_not_allowed', `resource ${quoteForMessage(uri)} is not allowed`, 'forbidden');
    },
  }];
}
