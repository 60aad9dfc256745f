/**
 * What is wrong with a policy file, one finding per entry, each pointing at the line and column
 * of the YAML that causes it. A load reports every finding at once, so a file is fixed in one
 * round rather than one error per run.
 */
import { SidecarError } from '../../errors/index.js';

export interface PolicyError {
  /** The file name as given to the loader. */
  readonly file: string;
  /** 1-based line and column of the YAML node (or key) at fault. */
  readonly line: number;
  readonly column: number;
  /** Where in the document, as `rules[2].tools.allow[0]`; empty for the document as a whole. */
  readonly path: string;
  /** What was expected and what was found. */
  readonly message: string;
}

/** `policies/x.yaml:14:9: rules[2].match: unknown key "match" (expected one of: …)` */
export function formatPolicyError(error: PolicyError): string {
  return `${error.file}:${error.line}:${error.column}: ${error.path ? `${error.path}: ` : ''}${error.message}`;
}

/** The SidecarError a load throws: its message lists every finding, one per line; `errors` has them as data. */
export class PolicyInvalidError extends SidecarError {
  readonly file: string;
  readonly errors: readonly PolicyError[];

  constructor(file: string, errors: readonly PolicyError[]) {
    const heading = `${file}: ${errors.length} error${errors.length === 1 ? '' : 's'}`;
    super('SIDECAR_ERR_POLICY_INVALID', [heading, ...errors.map(formatPolicyError)].join('\n'), {
      hint: 'run `mcp-sidecar policy validate <file>` to check a policy file; docs/policy.schema.json describes the format',
    });
    this.name = 'PolicyInvalidError';
    this.file = file;
    this.errors = Object.freeze([...errors]);
  }
}

/** Paths in the style of the document: `rules[2].tools.allow[0]`, `limits.maxFrameBytes["tools/call"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) text += text ? `.${segment}` : segment;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text;
}
