/**
 * The single schema of the policy document (see document.ts for its shape and an example).
 * It is both the validator (`policySchema.safeParse`: defaults applied, sizes and revisions
 * normalized) and, through `toJsonSchema`, the published docs/policy.schema.json that editors
 * use to complete and check policy files; one source, so the two cannot drift.
 */
import { z } from 'zod';
import type { PolicyDocument } from './document.js';
import { expected } from './describe.js';
import { ruleList } from './rule-schemas.js';
import { byteSizeExpected, FRAME_BYTES, GOVERNOR_BOUNDS, type Bounds } from '../../values/index.js';
import { byteSize, glob, globList } from './schema-parts.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_NAME_OR_PREFIX = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;
const envNameError = expected('an environment variable name (letters, digits and "_", not starting with a digit)');
/** Same bounds as the flags (components/values): a policy cannot ask for more than the command line may. */
const within = ({ min, max }: Bounds) => z.int().min(min).max(max);

const governor = z.strictObject({
  allow: z.array(z.string().min(1)).optional(),
  executableSha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, expected('a sha256 digest: 64 hexadecimal characters'))
    .transform((hex) => hex.toLowerCase())
    .optional(),
  passEnv: z.array(z.string().regex(ENV_NAME_OR_PREFIX, expected('an environment variable name, or a prefix ending in "*"'))).optional(),
  setEnv: z.record(z.string().regex(ENV_NAME, envNameError), z.string()).optional(),
  maxRestarts: within(GOVERNOR_BOUNDS.maxRestarts).optional(),
  restartBackoffMs: within(GOVERNOR_BOUNDS.restartBackoffMs).optional(),
  restartBackoffMaxMs: within(GOVERNOR_BOUNDS.restartBackoffMaxMs).optional(),
  killTimeoutMs: within(GOVERNOR_BOUNDS.killTimeoutMs).optional(),
  drainTimeoutMs: within(GOVERNOR_BOUNDS.drainTimeoutMs).optional(),
});

// 0 is no cap (as a deadline's timeoutMs: 0): a tool exempted from the section's maxResultBytes.
const perToolLimit = z.strictObject({
  tools: globList,
  maxResultBytes: z.union([z.literal(0), byteSize], expected(`0 (no cap) or ${byteSizeExpected(FRAME_BYTES)}`)),
  onOversize: z.enum(['deny', 'truncate']).optional(),
}).describe('A result cap for the tools its globs match (tools/call); the first entry that matches wins. maxResultBytes 0: no cap.');

const limits = z.strictObject({
  maxFrameBytes: z.record(glob, byteSize).optional(),
  maxDepth: z.int().min(1).optional(),
  maxInFlight: z.int().min(1).optional(),
  maxResultBytes: byteSize.optional(),
  onOversize: z.enum(['deny', 'truncate']).optional(),
  maxResponseFrameBytes: z.record(glob, byteSize).optional(),
  maxResponseDepth: z.int().min(1).optional(),
  perTool: z.array(perToolLimit).optional(),
});

const revisionError = expected('a revision: a string or a whole number');

export const policySchema = z
  .strictObject({
    apiVersion: z.literal('mcp-sidecar/v1'),
    kind: z.literal('Policy'),
    metadata: z.strictObject({
      name: z.string().min(1),
      revision: z
        .union([z.string(revisionError).min(1, revisionError), z.int(revisionError).min(0, revisionError)], revisionError)
        .transform((revision) => String(revision)),
      description: z.string().optional(),
    }),
    mode: z.enum(['observe', 'enforce']).default('enforce').describe('observe: record what the rules would do and change nothing; enforce: act on it.'),
    governor: governor.default({}).describe('The process governor\'s settings; command-line flags and environment variables win over these.'),
    limits: limits.default({}).describe('Bounds on every frame: size per method glob (`*` for the rest), JSON depth, requests in flight.'),
    rules: ruleList.default([]).describe('Evaluated in order; each has an id, an optional mode and exactly one kind.'),
  })
  .meta({
    title: 'mcp-sidecar policy',
    description: 'A policy for mcp-sidecar (apiVersion mcp-sidecar/v1). Generated from components/policy/document/schema.ts by `npm run schema`; do not edit by hand.',
  });

// The parsed document must be a PolicyDocument: if schema and document.ts drift apart, this
// line stops the build.
const _isPolicyDocument = (parsed: z.output<typeof policySchema>): PolicyDocument => parsed;
void _isPolicyDocument;

/**
 * The JSON Schema of a policy file as written (`io: 'input'`: keys with defaults are optional,
 * sizes may be strings). Checks that JSON Schema cannot express — RE2 compilation, unique rule
 * ids, minimum ≤ maximum — are the validator's alone.
 */
export function toJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(policySchema, {
    io: 'input',
    target: 'draft-2020-12',
    // z.int() says "maximum: 2^53-1" for every integer; that bound is JavaScript's, not the policy's.
    override: ({ jsonSchema }) => {
      if (jsonSchema.type === 'integer' && jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.type === 'integer' && jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    },
  }) as Record<string, unknown>;
}

/** docs/policy.schema.json exactly as `npm run schema` writes it. */
export function policyJsonSchemaText(): string {
  return `${JSON.stringify(toJsonSchema(), null, 2)}\n`;
}
