import { LineCounter, parseDocument } from 'yaml';
import { describeFound } from './describe.js';
import type { Finding } from './issues.js';
import { formatPath, type PolicyError } from './policy-error.js';
import { nonScalarKeys, positionOf, yamlError } from './yaml-position.js';

/** A YAML file read strictly: its top-level mapping, and where a finding about it stands in the file. */
export interface StrictYaml {
  readonly data: Record<string, unknown>;
  at(finding: Finding): PolicyError;
}

/**
 * Reads a YAML file whose top level must be a mapping (the policy file, the servers file), so that
 * no setting hides: a duplicated key, a warning (an unresolved `!tag` would quietly become a
 * string), a key that is a list or mapping (toJS would stringify it), an empty file, anything but
 * a mapping — each an error at its line and column. Alias expansion is bounded (yaml's
 * maxAliasCount: no "billion laughs"). `fail` throws the caller's own error with the problems.
 */
export function readStrictYamlMapping(text: string, fileName: string, expected: string, fail: (errors: PolicyError[]) => never): StrictYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (finding: Finding): PolicyError => ({
    file: fileName, ...positionOf(doc, lineCounter, finding.path, finding.at), path: formatPath(finding.path), message: finding.message,
  });
  const yamlProblems = [...doc.errors, ...doc.warnings];
  if (yamlProblems.length > 0) fail(yamlProblems.map((problem) => yamlError(fileName, doc, lineCounter, problem)));
  const badKeys = nonScalarKeys(doc).map(({ offset, found }): PolicyError => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: fileName, line, column: col, path: '', message: `invalid YAML: expected a mapping key that is a plain value, found ${found}` };
  });
  if (badKeys.length > 0) fail(badKeys);
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    fail([at({ path: [], at: 'value', message: `invalid YAML: ${(error as Error).message}` })]);
  }
  if (doc.contents === null) fail([at({ path: [], at: 'value', message: `expected ${expected}, found an empty file` })]);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) fail([at({ path: [], at: 'value', message: `expected ${expected}, found ${describeFound(data)}` })]);
  return { data: data as Record<string, unknown>, at };
}
