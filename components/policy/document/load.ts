/**
 * Reads a policy file: YAML → the schema → a frozen, normalized PolicyDocument and its digest.
 * Nothing half-valid gets through: YAML errors (syntax, duplicate keys, unknown tags) and
 * schema errors each stop the load, and all of them are reported together with their line and
 * column.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SidecarError } from '../../errors/index.js';
import { canonicalJson } from '../../values/index.js';
import type { PolicyDocument } from './document.js';
import { issueMessages, toFindings } from './issues.js';
import { PolicyInvalidError, type PolicyError } from './policy-error.js';
import { policySchema } from './schema.js';
import { readStrictYamlMapping } from './strict-yaml.js';
import { deepFreeze } from './yaml-position.js';

export interface LoadedPolicy {
  /** Defaults applied, sizes and revision normalized; frozen all the way down. */
  readonly document: PolicyDocument;
  /** sha256 (hex) of the document's canonical JSON: the same policy gives the same digest, however it was written. */
  readonly digest: string;
  /** The file it came from, as given. */
  readonly source: string;
}

const DOCUMENT_EXPECTED = 'a policy document (a mapping with apiVersion: mcp-sidecar/v1, kind: Policy, metadata and rules)';

/** Throws SIDECAR_ERR_POLICY_UNREADABLE, or a PolicyInvalidError (SIDECAR_ERR_POLICY_INVALID) listing every error. */
export function loadPolicyFile(path: string): LoadedPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SidecarError('SIDECAR_ERR_POLICY_UNREADABLE', `${path}: ${(error as Error).message}`, { cause: error });
  }
  return parsePolicyText(text, path);
}

/** `fileName` names the source in error messages and in `LoadedPolicy.source`. */
export function parsePolicyText(text: string, fileName: string): LoadedPolicy {
  const { data, at } = readStrictYamlMapping(text, fileName, DOCUMENT_EXPECTED, (errors) => {
    throw invalid(fileName, errors);
  });
  const result = policySchema.safeParse(data, { error: issueMessages });
  if (!result.success) throw invalid(fileName, toFindings(result.error.issues).map(at));

  const document: PolicyDocument = deepFreeze(result.data);
  const digest = createHash('sha256').update(canonicalJson(document)).digest('hex');
  return Object.freeze({ document, digest, source: fileName });
}

/** Errors in the order they appear in the file (the sort is stable: same place, schema order). */
function invalid(file: string, errors: PolicyError[]): PolicyInvalidError {
  return new PolicyInvalidError(file, errors.sort((a, b) => a.line - b.line || a.column - b.column));
}
