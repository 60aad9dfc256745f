// What the proxy logs of what its peers wrote (a server's stderr lines, a line that is not a
// frame, a parse error quoting one) passes the secret redactor first: a log is written down
// too. The redactor (the built-in detectors of the redact rule, components/policy (engine, rules))
// is not loaded at start for this: it pulls in the rule kinds and RE2, which a proxy without a
// policy never loads (docs/performance.md). It registers itself here when something else
// loads it (a policy, reports, a transcript); otherwise it is loaded on the first text that may
// hold a secret, and until it is there such a text is cut where a secret could start.

/** `redactSecrets`, as components/policy (engine, rules) resolves it. */
type RedactSecrets = (value: unknown) => { readonly value: unknown };

// Every secret a built-in detector finds holds one of these, and so does every secret key name
// (mayHoldSecretsInJson in rules/redact.ts looks for the same; a test checks that no text the
// redactor changes lacks one).
const HINT = /-----BEGIN |AKIA|ASIA|gh[pousr]_|github_pat_|eyJ|bearer|pass|pwd|secret|api.?key|token|private/i;
const HINTS = new RegExp(HINT.source, 'gi');

/** What stands for the rest of a text cut because a secret may start there (no hint in it: it may be redacted again). */
export const WITHHELD = '[\u2026withheld until the redactor is loaded]'; // ASCII source: a module's text is kept one byte a character

let redactSecrets: RedactSecrets | undefined;
let loading: Promise<void> | undefined;

/** Called by the redactor's module when it loads: from then on, texts are redacted. */
export function useLogRedactor(redact: RedactSecrets): void {
  redactSecrets = redact;
}

/** Loads the redactor (once); texts logged meanwhile are cut. Never rejects: on failure they stay cut. */
export function loadLogRedactor(): Promise<void> {
  loading ??= import('../policy/index.js')
    .then((engine) => engine.loadSecretRedactor())
    .then((redact) => {
      redactSecrets = redact;
    }, () => {
      loading = undefined; // tried again on the next text that needs it
    });
  return loading;
}

/** A peer's text as it may be logged: every secret the built-in detectors find replaced. */
export function redactForLog(text: string): string {
  const hint = HINT.exec(text);
  if (hint === null) return text;
  if (redactSecrets !== undefined) return redactSecrets(text).value as string;
  void loadLogRedactor();
  return `${text.slice(0, hint.index)}${WITHHELD}`;
}

// How far back from the cut of a text cut short a secret is looked for. Longer secrets (a
// private key: redacted to the end of the text without its END line) are still found.
const CUT_WINDOW = 4096;

/**
 * A text cut short by a length limit, as it may be logged (the caller marks the cut): a secret
 * that ran past the cut is cut too, and the detectors do not know a piece of one (a JWT without
 * its signature, 19 characters of an AWS key), so the text ends before the first place in its
 * last 4 KiB where a secret could start; then it is redacted.
 */
export function redactCutForLog(text: string): string {
  HINTS.lastIndex = Math.max(0, text.length - CUT_WINDOW);
  const first = HINTS.exec(text);
  HINTS.lastIndex = 0;
  return redactForLog(first === null ? text : text.slice(0, first.index));
}

// Fields of a log record that quote what a peer wrote.
const PEER_FIELDS = ['line', 'detail', 'stderrTail', 'text'] as const;
// V8's JSON.parse messages quote the text they failed on (`Unexpected token 'A', "AKIAIOSFOD"...
// is not valid JSON`): a piece of a secret that no detector would recognize.
const PARSE_QUOTE = /"(?:[^"\\]|\\.)*"(?:\.\.\.)?(?= is not valid JSON)/g;

/**
 * pino's `formatters.log`: the record with its peer-quoting fields redacted (a new object only
 * when one changed). Runs only for records at an enabled level.
 */
export function redactLogRecord(record: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const field of PEER_FIELDS) {
    const value = record[field];
    let redacted: unknown = value;
    if (typeof value === 'string') {
      redacted = redactForLog(field === 'detail' ? value.replace(PARSE_QUOTE, '"\u2026"') : value);
    } else if (Array.isArray(value) && value.some((item) => typeof item === 'string')) {
      const items = value.map((item) => (typeof item === 'string' ? redactForLog(item) : item));
      if (items.some((item, i) => item !== value[i])) redacted = items;
    }
    if (redacted === value) continue;
    copy ??= { ...record };
    copy[field] = redacted;
  }
  return copy ?? record;
}
