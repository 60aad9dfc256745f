/**
 * The policy document, as written in YAML under policies/ and after validation (defaults
 * applied, sizes and durations normalized to numbers). The schema in schema.ts is the single
 * source of both the validator and docs/policy.schema.json; these types mirror it.
 *
 * A document, for a reviewer:
 *
 *   apiVersion: mcp-sidecar/v1
 *   kind: Policy
 *   metadata: { name: readonly, revision: 3 }
 *   mode: enforce                      # or observe: record what would happen, change nothing
 *   governor:                          # the process governor's settings (flags and env win)
 *     allow: ["node servers/"]
 *   limits: { maxDepth: 64, maxInFlight: 32, maxFrameBytes: { "tools/call": 1MiB } }
 *   rules:
 *     - id: client-methods
 *       methods: { from: client, allow: [initialize, ping, "notifications/*", "tools/*"] }
 *     - id: read-only-tools
 *       tools: { allow: ["read_*", "list_*"], reply: tool-error }
 *     - id: hide-admin
 *       hide: { tools: ["admin_*"] }
 *     - id: workspace-paths
 *       arguments:
 *         tool: read_file
 *         properties: { /path: { type: string, pathPrefix: /workspace/ } }
 *         required: [/path]
 *     - id: call-rate
 *       rateLimit: { tools: ["*"], per: tool, capacity: 20, refillPerSecond: 5 }
 *     - id: tenant-rate                # one bucket per tenant and tool (identity: HTTP with auth)
 *       rateLimit: { tools: ["*"], per: [tenantId, tool], capacity: 100, refillPerSecond: 10 }
 *     - id: contractors-read-only
 *       when: { identity: { tenantId: ["contractor-*"] } }   # applies to these callers only
 *       unless: { identity: { userId: ["admin@*"] } }        # …but not to these
 *       tools: { allow: ["read_*"] }
 *     - id: secrets
 *       mode: observe                  # a shadow rule: recorded, not enforced
 *       redact: { detectors: all }
 */

export type PolicyMode = 'observe' | 'enforce';

/** Which side sent the frame a rule looks at. */
export type Side = 'client' | 'server';

export interface PolicyDocument {
  readonly apiVersion: 'mcp-sidecar/v1';
  readonly kind: 'Policy';
  readonly metadata: { readonly name: string; readonly revision: string; readonly description?: string };
  readonly mode: PolicyMode;
  readonly governor: GovernorSection;
  readonly limits: LimitsSection;
  readonly rules: readonly RuleSpec[];
}

export interface GovernorSection {
  readonly allow?: readonly string[];
  readonly executableSha256?: string;
  readonly passEnv?: readonly string[];
  readonly setEnv?: Readonly<Record<string, string>>;
  readonly maxRestarts?: number;
  readonly restartBackoffMs?: number;
  readonly restartBackoffMaxMs?: number;
  readonly killTimeoutMs?: number;
  readonly drainTimeoutMs?: number;
}

export interface LimitsSection {
  /** Largest frame per method glob, in bytes (YAML may say `1MiB`); `*` for the rest. */
  readonly maxFrameBytes?: Readonly<Record<string, number>>;
  /** Deepest JSON nesting accepted in a frame from either side. */
  readonly maxDepth?: number;
  /** Client requests the server may have in flight at once. */
  readonly maxInFlight?: number;
  /** Largest result the client receives, counted as docs/policy.md says (text, structuredContent, base64). */
  readonly maxResultBytes?: number;
  /** Over maxResultBytes: deny (default), or cut a tools/call result's content to the cap. */
  readonly onOversize?: 'deny' | 'truncate';
  /** Largest response frame from the server, per glob of the method it answers; `*` for the rest. */
  readonly maxResponseFrameBytes?: Readonly<Record<string, number>>;
  /** Deepest JSON nesting accepted in a response from the server. */
  readonly maxResponseDepth?: number;
  /** Result caps per tool (tools/call): the first entry whose globs match the tool replaces maxResultBytes for it. */
  readonly perTool?: readonly PerToolLimit[];
}

/** One `limits.perTool` entry: `maxResultBytes` 0 exempts the tools from any cap. */
export interface PerToolLimit {
  readonly tools: readonly string[];
  readonly maxResultBytes: number;
  /** Default: the section's onOversize. */
  readonly onOversize?: 'deny' | 'truncate';
}

/**
 * Globs over the caller's identity (components/http-auth): each field given must be present and
 * match one of its globs. A frame without an identity (stdio, or HTTP without JWTs) matches none.
 */
export interface IdentityMatch {
  readonly tenantId?: readonly string[];
  readonly userId?: readonly string[];
  readonly agentId?: readonly string[];
}

/**
 * A condition on the frame's context: who the caller is, and the server it goes to or comes
 * from (`server`: globs over the service's name in gateway mode, the server's executable name with
 * --proxy; rules/conditions.ts). At least one of the two; both: each must hold.
 */
export interface RuleCondition {
  readonly identity?: IdentityMatch;
  readonly server?: readonly string[];
}

/**
 * `when`: the identity condition, a CEL expression (`cel`: components/policy/rules/cel.ts), or
 * both (the rule applies when both hold).
 */
export interface WhenCondition {
  readonly identity?: IdentityMatch;
  readonly server?: readonly string[];
  readonly cel?: string;
}

/** An example the rule must allow or deny, run at load (`tests:`); a request, a tools/call when `tool` is given. */
export interface RuleTestCase {
  readonly input: {
    readonly method?: string;
    readonly tool?: string;
    readonly arguments?: Readonly<Record<string, unknown>>;
    readonly identity?: { readonly tenantId?: string; readonly userId?: string; readonly agentId?: string };
    readonly direction?: 'client-to-server' | 'server-to-client';
    readonly era?: string;
    /** The server the request belongs to: a gateway's service (its namespace), or the one server's executable name. */
    readonly server?: string;
  };
  readonly expect: 'allow' | 'deny';
}

/** Every rule has an id, an optional mode, optional conditions, and exactly one of the kinds below. */
export interface RuleBase {
  readonly id: string;
  readonly description?: string;
  /** Overrides the policy's mode for this rule, unless the policy is in observe mode. */
  readonly mode?: PolicyMode;
  /** The rule applies only to frames that meet this condition (absent: to every frame). */
  readonly when?: WhenCondition;
  /** The rule does not apply to frames that meet this condition (absent: exempts none). */
  readonly unless?: RuleCondition;
  /** Examples the rule must allow or deny, checked at load: a case that fails refuses the policy. */
  readonly tests?: readonly RuleTestCase[];
}

/** How a denied `tools/call` is answered: a JSON-RPC error, or a tool result with isError (the model reads it). */
export type ToolReply = 'error' | 'tool-error';

export interface MethodsRule extends RuleBase {
  /** Requests and notifications from `from` (default client): only `allow` pass, and never `deny`. */
  readonly methods: { readonly from: Side; readonly allow?: readonly string[]; readonly deny?: readonly string[] };
}
export interface ToolsRule extends RuleBase {
  readonly tools: { readonly allow?: readonly string[]; readonly deny?: readonly string[]; readonly reply: ToolReply };
}
export interface PromptsRule extends RuleBase {
  readonly prompts: { readonly allow?: readonly string[]; readonly deny?: readonly string[] };
}
export interface ResourcesRule extends RuleBase {
  /** Globs over resource URIs (`file:///workspace/*`). */
  readonly resources: { readonly allow?: readonly string[]; readonly deny?: readonly string[] };
}
export interface HideRule extends RuleBase {
  /** Removed from tools/list, prompts/list and resources/list results, and calls to them denied, so the model never sees them. */
  readonly hide: { readonly tools?: readonly string[]; readonly prompts?: readonly string[]; readonly resources?: readonly string[] };
}
export interface ArgumentConstraint {
  readonly type?: 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';
  readonly enum?: readonly unknown[];
  /** RE2 syntax: linear time, no backtracking. */
  readonly pattern?: string;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  /** The value, as a path with `..` and `//` normalized, must lie under this prefix. */
  readonly pathPrefix?: string;
}
export interface ArgumentsRule extends RuleBase {
  readonly arguments: {
    readonly tool: string;
    /** Keyed by JSON pointer into `arguments` (`/path`, `/options/depth`; `/paths/*`: each element). */
    readonly properties?: Readonly<Record<string, ArgumentConstraint>>;
    readonly required?: readonly string[];
    readonly forbidden?: readonly string[];
    readonly reply: ToolReply;
  };
}
export interface RateLimitRule extends RuleBase {
  readonly rateLimit: {
    /** What is limited: tool calls by tool-name glob, or requests by method glob. */
    readonly tools?: readonly string[];
    readonly methods?: readonly string[];
    /**
     * What gets its own bucket: per tool (or method), one for the rule, per value of an identity
     * field, or a list combining an identity field or more with tool or method (`[tenantId, tool]`).
     */
    readonly per: RateLimitPer | readonly RateLimitDimension[];
    readonly capacity: number;
    readonly refillPerSecond: number;
    /** Where the buckets live: this proxy's memory (absent, the default) or Redis, shared by every replica. */
    readonly store?: 'memory' | 'redis';
    /** store: redis, when Redis cannot be reached and no leased token is left: deny (absent, the default) or allow. */
    readonly onStoreError?: 'allow' | 'deny';
    /** store: redis: tokens taken from Redis at once (absent: a tenth of capacity, at least 1). */
    readonly lease?: number;
  };
}
/** The identity fields a rate limit can key on. */
export type IdentityField = 'tenantId' | 'userId' | 'agentId';
/** One part of a rate-limit bucket key. */
export type RateLimitDimension = 'tool' | 'method' | IdentityField;
/** `per` as a single word: a dimension, or `rule` (one bucket for everything the rule covers). */
export type RateLimitPer = RateLimitDimension | 'rule';

export interface RedactRule extends RuleBase {
  readonly redact: {
    /** Built-in detectors by name, or `all`. */
    readonly detectors: 'all' | readonly DetectorName[];
    /** Custom patterns (RE2 syntax), each replaced by a marker naming it. */
    readonly patterns?: readonly { readonly name: string; readonly pattern: string }[];
    /** Which results and server notifications are scanned; default all five. */
    readonly in?: readonly ('tools/call' | 'resources/read' | 'prompts/get' | 'notifications/message' | 'notifications/progress')[];
  };
}

/** How long a `tools/call` of these tools may wait for the server: overrides --request-timeout-ms for it. */
export interface DeadlineRule extends RuleBase {
  readonly deadline: {
    /** Tool-name globs. */
    readonly tools: readonly string[];
    /** Milliseconds, 1 to 86400000; 0: no deadline for these tools, even with --request-timeout-ms. */
    readonly timeoutMs: number;
  };
}

/** Tool-definition pins checked at run time (docs/policy.md "Checking pins at run time"). */
export interface PinsRule extends RuleBase {
  readonly pins: {
    /** The lock file (`mcp-sidecar pin`); relative to the policy file's folder. */
    readonly lock: string;
    /** A definition the lock does not hold: hidden and its calls denied, passed, or passed and recorded as a would-deny. */
    readonly unknown: PinsUnknown;
  };
}
export type PinsUnknown = 'deny' | 'allow' | 'observe';

export type DetectorName = 'private-key' | 'aws-access-key' | 'github-token' | 'jwt' | 'bearer-token' | 'password-assignment';

export type RuleSpec = MethodsRule | ToolsRule | PromptsRule | ResourcesRule | HideRule | ArgumentsRule | RateLimitRule | RedactRule | DeadlineRule | PinsRule;

/** The key that names a rule's kind (`tools`, `rateLimit`, …): exactly one per rule. */
export type RuleKind = 'methods' | 'tools' | 'prompts' | 'resources' | 'hide' | 'arguments' | 'rateLimit' | 'redact' | 'deadline' | 'pins';

/** The policy used when no file is given: enforce mode, no rules — the proxy just proxies. */
export const PERMISSIVE_POLICY: PolicyDocument = Object.freeze({
  apiVersion: 'mcp-sidecar/v1',
  kind: 'Policy',
  metadata: Object.freeze({ name: 'built-in-permissive', revision: '0' }),
  mode: 'enforce',
  governor: Object.freeze({}),
  limits: Object.freeze({}),
  rules: Object.freeze([]),
});
