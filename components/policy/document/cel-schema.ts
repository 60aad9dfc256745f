// The schema of `when.cel` and of a rule's `tests:`. The expression is compiled and type-checked
// here (cel-env.ts), so `policy validate` reports a bad one at the line and column of its YAML
// value, with where in the expression it goes wrong.
import { z } from 'zod';
import type { RuleTestCase } from './document.js';
import { compileCel, describeCelProblem, MAX_CEL_EXPRESSION_LENGTH } from './cel-env.js';
import { expected } from './describe.js';

const celExpected = expected(`a CEL expression of at most ${MAX_CEL_EXPRESSION_LENGTH} characters`);

export const celExpression = z
  .string(celExpected)
  .min(1, celExpected)
  .max(MAX_CEL_EXPRESSION_LENGTH, celExpected)
  .superRefine((source, ctx) => {
    if (source === '' || source.length > MAX_CEL_EXPRESSION_LENGTH) return; // reported above
    const compiled = compileCel(source);
    if (!Array.isArray(compiled)) return;
    for (const problem of compiled) ctx.addIssue({ code: 'custom', message: describeCelProblem(problem), input: source });
  })
  .meta({
    description: 'A CEL expression (https://cel.dev) of type bool over method, tool, arguments, identity, server, direction and era; the rule applies when it is true. An evaluation error denies (observe: a would-deny). Regular expressions: text.re2Matches("<RE2 pattern literal>"); matches() is refused.',
  });

const identityInput = z.strictObject({ tenantId: z.string().optional(), userId: z.string().optional(), agentId: z.string().optional() });

const testCase = z.strictObject({
  input: z.strictObject({
    method: z.string().min(1).optional(),
    tool: z.string().optional(),
    arguments: z.record(z.string(), z.unknown()).optional(),
    identity: identityInput.optional(),
    direction: z.enum(['client-to-server', 'server-to-client']).optional(),
    era: z.string().min(1).optional(),
    server: z.string().min(1).optional()
      .describe('The server the request belongs to, for `server` conditions and CEL `server`: with --servers its service (`fs`), with --proxy the server\'s executable name. Omitted: unknown (a `server` condition keeps the rule applying; CEL `server` is null).'),
  }).describe('The request: a tools/call when `tool` is given, else `method` (default ping); from the client unless `direction` says otherwise.'),
  expect: z.enum(['allow', 'deny']),
}) satisfies z.ZodType<RuleTestCase>;

export const ruleTests = z
  .array(testCase)
  .min(1)
  .describe('Examples the rule must allow or deny, evaluated at load against the compiled rule (its kind, `when` and `unless`): one that fails refuses the policy.');
