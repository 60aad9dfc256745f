// `when` and `unless` on any rule: conditions on who the caller is. `when: { identity: { tenantId:
// [globs], userId: [globs], agentId: [globs] } }` makes a rule apply only to frames whose identity
// has every field given, each matching one of its globs; `unless` (same shape) exempts the frames
// that match. A frame without an identity (stdio, or HTTP with a static token) has no fields, so
// it meets no `when` and no `unless`: a rule with `when` never applies to it, a rule with only
// `unless` always does. The globs are compiled once, here; a rule with neither key is returned
// as it is, so it costs nothing per frame.
//
// `server: [globs]` (in `when` or `unless`, alone or with `identity`) matches the server a frame
// belongs to (FrameContext.service): with --proxy the one server's executable name, in gateway
// mode the service its target names (`fs` for `fs.read_file`; engine/services.ts). A frame that
// belongs to no one service (initialize, a merged list) matches nothing, like a caller without an
// identity; one whose service the bytes do not tell (a resource URI, a service's own request) is
// undecided, and an undecided condition keeps the rule applying. Both keys: each must hold.
//
// Fails closed: a missing identity, or a missing field, is a fact (the caller has none), not an
// open question, and matches nothing. A field that is present but not a string cannot be
// matched: the condition then resolves so that the rule applies (a `when` matches, an `unless`
// does not), never so that a restriction is lifted.
import type { IdentityField, RuleCondition, RuleSpec } from '../document/document.js';
import { compileGlobs, type GlobMatcher } from '../engine/glob.js';
import type { FrameContext, Identity, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';

const IDENTITY_FIELDS: readonly IdentityField[] = ['tenantId', 'userId', 'agentId'];

/**
 * True when the identity has every field the condition names, each matching one of its globs;
 * for a field present but not a string, true for `when` and false for `unless`.
 */
export type IdentityPredicate = (identity: Identity | undefined) => boolean;

/** Compiles `when.identity` / `unless.identity` (validated by the schema: at least one field, each with globs). */
export function compileCondition(key: 'when' | 'unless', condition: RuleCondition): IdentityPredicate {
  const checks: Array<readonly [IdentityField, GlobMatcher]> = [];
  for (const field of IDENTITY_FIELDS) {
    const globs = condition.identity?.[field];
    if (globs !== undefined) checks.push([field, compileGlobs(globs)]);
  }
  // What an unreadable field makes the condition: whatever keeps the rule applying.
  const undecided = key === 'when';
  return (caller) => {
    if (caller === undefined) return false;
    let unreadable = false;
    for (const [field, matches] of checks) {
      const value: unknown = caller[field];
      if (typeof value === 'string') {
        if (!matches(value)) return false;
      } else if (value === undefined) {
        return false;
      } else {
        unreadable = true; // undecided, unless another field decides it (a mismatch, a missing field)
      }
    }
    return unreadable ? undecided : true;
  };
}

/** The whole of a `when` (without `cel`) or `unless` over one frame: `identity` and `server`, each as given. */
export type FramePredicate = (frame: FrameContext) => boolean;

/** Compiles `server: [globs]`: matched against FrameContext.service (see the top of this file). */
export function compileServerCondition(key: 'when' | 'unless', globs: readonly string[]): FramePredicate {
  const matches = compileGlobs(globs);
  const undecided = key === 'when';
  return (frame) => {
    const service = frame.service;
    if (typeof service === 'string') return matches(service);
    return service === null ? false : undecided;
  };
}

function compileFrameCondition(key: 'when' | 'unless', condition: RuleCondition): FramePredicate | undefined {
  const identity = condition.identity === undefined ? undefined : compileCondition(key, condition);
  const server = condition.server === undefined ? undefined : compileServerCondition(key, condition.server);
  if (server === undefined) return identity === undefined ? undefined : (frame) => identity(frame.identity);
  if (identity === undefined) return server;
  return (frame) => identity(frame.identity) && server(frame);
}

/**
 * The rules of one spec, each made conditional on the spec's `when` and `unless`: a frame that
 * does not meet them gets CONTINUE without the rule being run (no body parsed, no rate-limit
 * token taken). Without either key, the rules are returned unchanged.
 */
export function applyConditions(spec: RuleSpec, rules: Rule[]): Rule[] {
  // `when.cel` is applied by rules/cel.ts; `when.identity`, `when.server` and `unless` are this file's.
  const whenSpec = spec.when;
  const when = whenSpec === undefined ? undefined : compileFrameCondition('when', { identity: whenSpec.identity, server: whenSpec.server });
  const unless = spec.unless === undefined ? undefined : compileFrameCondition('unless', spec.unless);
  if (when === undefined && unless === undefined) return rules;
  // A `tools/call` answer is told to its service by the tool its request named: the pump reads it then.
  const needsTool = whenSpec?.server !== undefined || spec.unless?.server !== undefined;
  const applies = (frame: FrameContext): boolean => (when === undefined || when(frame)) && (unless === undefined || !unless(frame));
  return rules.map((rule) => ({
    ...rule,
    ...(needsTool && rule.phase === 'response' && { needsTool: true }),
    evaluate(frame: FrameContext): Verdict {
      return applies(frame) ? rule.evaluate(frame) : CONTINUE;
    },
  }));
}
