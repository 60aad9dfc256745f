// What the policy component loads on demand: the document (zod, yaml), the rule kinds a policy
// uses, and the secret detectors (RE2). Light itself: only dynamic imports.
import type { PolicyMode } from './document/document.js';
import type { LoadedPolicy } from './document/load.js';
import type { CompiledPolicy } from './engine/compiled-policy.js';

/** The document's face: `loadPolicyFile`, `parsePolicyText`, the schema, `runPolicyValidate`, `canonicalJson`… */
export async function loadPolicyDocument(): Promise<typeof import('./document/index.js')> {
  return import('./document/index.js');
}

/** Compiles a loaded policy file, loading only the rule kinds it uses. `modeOverride` is --mode / MCP_PROXY_MODE. */
export async function buildPolicy(loaded: LoadedPolicy, modeOverride?: PolicyMode): Promise<CompiledPolicy> {
  return (await import('./engine/build.js')).buildPolicy(loaded, modeOverride);
}

/**
 * `redactSecrets(value)`: a JSON value with every secret the built-in detectors find replaced
 * by `[REDACTED:<detector>]`; `mayHoldSecretsInJson(json)`: false when a value's JSON text shows
 * there is nothing to redact. Loaded on demand (RE2).
 */
export async function loadSecretRedactor(): Promise<typeof import('./rules/redact.js').redactSecrets> {
  return (await import('./rules/redact.js')).redactSecrets;
}

export async function loadSecretScanner(): Promise<Pick<typeof import('./rules/redact.js'), 'redactSecrets' | 'mayHoldSecretsInJson'>> {
  const { redactSecrets, mayHoldSecretsInJson } = await import('./rules/redact.js');
  return { redactSecrets, mayHoldSecretsInJson };
}
