// RE2 (re2js: ~5 ms of cold start, ~1 MB) is loaded on the first pattern a policy holds - a
// `pattern` to validate or compile - not by every policy: most have none. One instance, shared
// by the schema's check (schema-parts.ts) and the rules that compile patterns
// (rules/redaction-detectors.ts). Loaded synchronously (its CommonJS build) because zod's
// refinements, which check a pattern where it stands in the document, are synchronous.
import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';

let re2: typeof RE2JS | undefined;

/** The RE2JS class, loaded on first use. */
export function loadRe2(): typeof RE2JS {
  return (re2 ??= (createRequire(import.meta.url)('re2js') as typeof import('re2js')).RE2JS);
}
