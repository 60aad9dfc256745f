import { parse } from 'yaml';
import { z } from 'zod';
import { namespaceIssues, namespaceSchema, separatorSchema } from '../gateway/servers-file.js';

// A cases file for `mcp-sidecar policy test`: frames with the verdicts the policy must give,
// like `opa test`. See docs/policy.md#testing-a-policy.

const ruleIds = z.array(z.string()).readonly();
const outputChecks = {
  /** Strings the frame as forwarded must contain / must not contain (e.g. a redacted secret). */
  outputIncludes: z.array(z.string()).optional(),
  outputExcludes: z.array(z.string()).optional(),
  /** The rules that would have denied / rewritten, in observe mode (exact list, in order). */
  wouldDeny: ruleIds.optional(),
  wouldRewrite: ruleIds.optional(),
};

const expectation = z.union([
  z.literal('forward'),
  z.strictObject({ forward: z.literal(true), decisions: z.tuple([]).optional(), ...outputChecks }),
  z.strictObject({ deny: z.string(), reason: z.string().optional(), ...outputChecks }),
  z.strictObject({ rewrite: z.array(z.string()).min(1).readonly(), ...outputChecks }),
]);

const testCase = z.strictObject({
  name: z.string().min(1),
  /** The JSON-RPC message, as an object. */
  frame: z.record(z.string(), z.unknown()),
  /** Who sends it: the client (default) or the server. */
  from: z.enum(['client', 'server']).default('client'),
  /** Makes the frame a response: the method of the request it answers. */
  answers: z.string().optional(),
  /** For a response to tools/call: the tool its request named (per-tool caps read it); omitted: a name that could not be read. */
  tool: z.string().optional(),
  /**
   * The server the frame belongs to. Without `gateway`: the governed server's executable name
   * (overrides the file's `server`). With `gateway`: the service, for a frame the gateway does not
   * place by its bytes (a resource read, a service's own request); where it does, it must agree.
   */
  server: z.string().min(1).optional(),
  /** The clock in ms for this case (rate limits); default: the previous case's. */
  at: z.number().nonnegative().optional(),
  /** The caller's identity, as HTTP auth would give it (omitted: no identity, as over stdio). */
  identity: z.strictObject({ tenantId: z.string().optional(), userId: z.string().optional(), agentId: z.string().optional() }).optional(),
  /** Evaluate the frame this many times; each must meet the expectation. */
  repeat: z.number().int().min(1).max(100_000).default(1),
  expect: expectation,
});

/**
 * The gateway the frames pass through (`--servers`): its services' names, in the servers file's
 * order, and its separator, held to the servers file's own rules; or the servers file itself
 * (`servers`, relative to the cases file).
 */
const gateway = z.union([
  z.strictObject({ servers: z.string().min(1) }),
  z.strictObject({
    services: z.array(namespaceSchema).min(1).readonly(),
    separator: separatorSchema,
  }).superRefine((spec, ctx) => {
    namespaceIssues(spec.services, spec.separator, (index) => `services[${index}]`, (index, message) => ctx.addIssue({ code: 'custom', path: ['services', index], message, input: spec.services[index] }));
  }),
]);

export const casesFileSchema = z.strictObject({
  /** Without `gateway`: the governed server's executable name, for every case (`--proxy`); omitted: unknown. */
  server: z.string().min(1).optional(),
  gateway: gateway.optional(),
  cases: z.array(testCase).min(1),
}).refine((file) => file.server === undefined || file.gateway === undefined, {
  message: '`server` (one server, --proxy) and `gateway` (--servers) exclude each other',
  path: ['server'],
});

export type PolicyTestCase = z.infer<typeof testCase>;
export type Expectation = z.infer<typeof expectation>;
export type CasesFile = z.infer<typeof casesFileSchema>;
/** A gateway as the cases name it: its services and separator, or its servers file. */
export type CasesGateway = z.infer<typeof gateway>;

/** Parses a cases file, or throws an Error listing what is wrong with it. */
export function parseCasesDocument(text: string, fileName: string): CasesFile {
  const result = casesFileSchema.safeParse(parse(text));
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${fileName}: ${issue.path.map(String).join('.') || '(top)'}: ${issue.message}`);
    throw new Error(problems.join('\n'));
  }
  return result.data;
}

/** The cases alone (a file that names no server nor gateway). */
export function parseCasesFile(text: string, fileName: string): PolicyTestCase[] {
  return parseCasesDocument(text, fileName).cases;
}
