// What the policy's one schema says about a policy it rejects: the rule-kind tests use it to
// check a bad spec is refused where the proxy refuses it (at load, with the field's path),
// and schema-agreement.test.ts to check docs/policy.schema.json refuses it too.
import assert from 'node:assert/strict';
import { parsePolicyText, PolicyInvalidError, type PolicyError } from '../../../components/policy/document/index.js';

/** A policy document (JSON is YAML) with these limits and rules around what a test varies. */
export function policyText({ rules = [], limits, governor }: { rules?: readonly unknown[]; limits?: unknown; governor?: unknown }): string {
  return `${JSON.stringify({
    apiVersion: 'mcp-sidecar/v1',
    kind: 'Policy',
    metadata: { name: 'rejections', revision: 1 },
    ...(governor !== undefined && { governor }),
    ...(limits !== undefined && { limits }),
    rules,
  })}\n`;
}

/** A policy of one rule. */
export const policyWithRule = (rule: unknown): string => policyText({ rules: [rule] });

/** The errors loading `text` reports; fails the test when it loads. */
export function loadErrors(text: string): readonly PolicyError[] {
  try {
    parsePolicyText(text, 'rejected.yaml');
  } catch (error) {
    assert.ok(error instanceof PolicyInvalidError, `expected a PolicyInvalidError, got ${String(error)}`);
    return error.errors;
  }
  assert.fail(`the policy loaded:\n${text}`);
}

/** Loading `text` fails with an error at `path` whose message matches `message`. */
export function assertRejected(text: string, path: string, message: RegExp): void {
  const errors = loadErrors(text);
  const found = errors.find((error) => error.path === path);
  assert.ok(found, `no error at ${path}; errors: ${errors.map((e) => `${e.path}: ${e.message}`).join(' | ')}`);
  assert.match(found.message, message);
}
