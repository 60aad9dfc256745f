// Each rule kind's factory, loaded when a policy uses the kind: a policy of tool allowlists does
// not load the redact rule and its detectors (RE2), nor the arguments rule. The schema has
// checked each spec has exactly one kind.
import type { RuleKind, RuleSpec } from '../document/document.js';
import type { Rule } from '../engine/types.js';
import type { RuleContext } from './common.js';
import { applyConditions } from './conditions.js';
import { applyCelCondition, runRuleTests } from './cel.js';

/** Compiles one spec of its kind into rules. */
export type KindFactory = (spec: RuleSpec, context: RuleContext) => Rule[];

// Each factory typed for its own spec; called only with a spec of its kind (kindOf).
const as = <S extends RuleSpec>(factory: (spec: S, context: RuleContext) => Rule[]): KindFactory => factory as KindFactory;

const LOADERS: Readonly<Record<RuleKind, () => Promise<KindFactory>>> = {
  methods: async () => as((await import('./methods.js')).createMethodsRules),
  tools: async () => as((await import('./tools.js')).createToolsRules),
  prompts: async () => as((await import('./prompts.js')).createPromptsRules),
  resources: async () => as((await import('./resources.js')).createResourcesRules),
  hide: async () => as((await import('./hide.js')).createHideRules),
  arguments: async () => as((await import('./arguments.js')).createArgumentsRules),
  rateLimit: async () => as((await import('./rate-limit.js')).createRateLimitRules),
  redact: async () => as((await import('./redact.js')).createRedactRules),
  deadline: async () => as((await import('./deadline.js')).createDeadlineRules),
  pins: async () => as((await import('./pins.js')).createPinsRules),
};

const KINDS = Object.keys(LOADERS) as RuleKind[];

/** The kind key of a validated spec. */
export function kindOf(spec: RuleSpec): RuleKind {
  for (const kind of KINDS) if (kind in spec) return kind;
  throw new Error(`rule ${JSON.stringify(spec.id)} has no kind; the schema should have rejected it`);
}

/** The factories of these kinds, loaded. */
export async function loadKindFactories(kinds: Iterable<RuleKind>): Promise<Partial<Record<RuleKind, KindFactory>>> {
  const wanted = [...new Set(kinds)];
  const factories = await Promise.all(wanted.map((kind) => LOADERS[kind]()));
  return Object.fromEntries(wanted.map((kind, i) => [kind, factories[i]]));
}

/** Compiles one spec with the factory of its kind, wrapped in its `when` and `unless`. */
export function rulesFromSpec(factories: Partial<Record<RuleKind, KindFactory>>, spec: RuleSpec, context: RuleContext): Rule[] {
  const kind = kindOf(spec);
  const factory = factories[kind];
  if (factory === undefined) throw new Error(`rule ${JSON.stringify(spec.id)}: the ${kind} rule kind was not loaded`);
  const build = (): Rule[] => applyConditions(spec, applyCelCondition(spec, factory(spec, context)));
  // The `tests:` run on a copy compiled for them, so they take no rate-limit token from the rules in use.
  if (spec.tests !== undefined) runRuleTests(spec, build());
  return build();
}

/** Loads the kinds `specs` use, and returns what compiles each spec. */
export async function loadRuleFactory(specs: readonly RuleSpec[]): Promise<(spec: RuleSpec, context: RuleContext) => Rule[]> {
  const factories = await loadKindFactories(specs.map(kindOf));
  return (spec, context) => rulesFromSpec(factories, spec, context);
}
