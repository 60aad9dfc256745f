/**
 * Reads a policy file: YAML → the schema → a frozen, normalized PolicyDocument and its digest.
 * Nothing half-valid gets through: YAML errors (syntax, duplicate keys, unknown tags) and
 * schema errors each stop the load, and all of them are reported together with their line and
 * column.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { SidecarError } from '../../errors/index.js';
import { canonicalJson } from '../../values/index.js';
import { describeFound } from './describe.js';
import type { PolicyDocument } from './document.js';
import { issueMessages, toFindings, type Finding } from './issues.js';
import { formatPath, PolicyInvalidError, type PolicyError } from './policy-error.js';
import { isMapping } from './schema-parts.js';
import { policySchema } from './schema.js';
import { deepFreeze, nonScalarKeys, positionOf, yamlError } from './yaml-position.js';

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
  const lineCounter = new LineCounter();
  // uniqueKeys: a duplicated key is an error, not "the last one wins" — a policy must not hide a setting.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (finding: Finding): PolicyError => ({
    file: fileName,
    ...positionOf(doc, lineCounter, finding.path, finding.at),
    path: formatPath(finding.path),
    message: finding.message,
  });

  // Warnings count too: an unresolved tag (`!foo`) would otherwise quietly become a string.
  const yamlProblems = [...doc.errors, ...doc.warnings];
  if (yamlProblems.length > 0) throw invalid(fileName, yamlProblems.map((problem) => yamlError(fileName, doc, lineCounter, problem)));
  // A key that is a list or a mapping would be stringified by toJS (with a process warning).
  const badKeys = nonScalarKeys(doc).map(({ offset, found }): PolicyError => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: fileName, line, column: col, path: '', message: `invalid YAML: expected a mapping key that is a plain value, found ${found}` };
  });
  if (badKeys.length > 0) throw invalid(fileName, badKeys);

  let data: unknown;
  try {
    data = doc.toJS(); // bounded alias expansion (yaml's maxAliasCount): no "billion laughs"
  } catch (error) {
    throw invalid(fileName, [at({ path: [], at: 'value', message: `invalid YAML: ${(error as Error).message}` })]);
  }
  if (doc.contents === null) throw invalid(fileName, [at({ path: [], at: 'value', message: `expected ${DOCUMENT_EXPECTED}, found an empty file` })]);
  if (!isMapping(data)) throw invalid(fileName, [at({ path: [], at: 'value', message: `expected ${DOCUMENT_EXPECTED}, found ${describeFound(data)}` })]);

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
