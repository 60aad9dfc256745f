// A service's resource template (RFC 6570, levels 1 and 2: `file:///{path}`, `{+path}`, `{#frag}`)
// compiled once into a matcher for the URIs a client reads. The URI is the client's (attacker
// input), so the match is a hand-written automaton run over it once: the set of template positions
// reachable after each character (Thompson's simulation), linear in the URI's length times the
// template's, never backtracking.

/** A URI character a variable of that expansion can stand for (the RFC's allowed set, non-ASCII included: clients send IRIs). */
type CharClass = 'simple' | 'reserved';

/** One template position: a literal character, or a variable (any run, possibly empty, of its class). */
type Token = { readonly literal: number } | { readonly variable: CharClass };

/** The longest template compiled (a matcher's cost is the URI's length times its token count). */
const MAX_TEMPLATE_TOKENS = 2048;

/** RFC 3986 gen-delims and sub-delims: what a simple expansion percent-encodes, so a `{var}` never spans them. */
const RESERVED = new Set([...":/?#[]@!$&'()*+,;="].map((c) => c.charCodeAt(0)));
const COMMA = 0x2c;
/** RFC 6570 varname (`.` only between varchars), comma-separated (a template's own text, not the client's). */
const VARIABLE_LIST = /^[A-Za-z0-9_%]+(?:\.[A-Za-z0-9_%]+)*(?:,[A-Za-z0-9_%]+(?:\.[A-Za-z0-9_%]+)*)*$/;
const HASH = 0x23;

function inClass(code: number, klass: CharClass, list: boolean): boolean {
  if (code < 0x21 || code === 0x7f) return false; // controls and space are never in a URI
  if (klass === 'reserved') return true;
  return !RESERVED.has(code) || (list && code === COMMA);
}

export interface UriTemplateMatcher {
  readonly template: string;
  matches(uri: string): boolean;
}

/**
 * The matcher for a template, or undefined when it is not one this gateway routes by: an
 * operator of level 3 or 4 (`.`, `/`, `;`, `?`, `&`), a modifier (`:3`, `*`), an unclosed
 * brace, or longer than the bound.
 */
export function compileUriTemplate(template: string): UriTemplateMatcher | undefined {
  const tokens: Token[] = [];
  /** Simple variables of a `{a,b}` list may hold the commas between their values. */
  const lists: boolean[] = [];
  let at = 0;
  while (at < template.length) {
    const code = template.charCodeAt(at);
    if (code === 0x7d) return undefined; // '}' outside an expression
    if (code !== 0x7b) {
      tokens.push({ literal: code });
      lists.push(false);
      at++;
      continue;
    }
    const close = template.indexOf('}', at + 1);
    if (close < 0) return undefined;
    let body = template.slice(at + 1, close);
    let klass: CharClass = 'simple';
    if (body.startsWith('+')) {
      klass = 'reserved';
      body = body.slice(1);
    } else if (body.startsWith('#')) {
      klass = 'reserved';
      body = body.slice(1);
      tokens.push({ literal: HASH });
      lists.push(false);
    }
    if (!VARIABLE_LIST.test(body)) return undefined; // level 3+ operators, modifiers, or no name
    tokens.push({ variable: klass });
    lists.push(body.includes(','));
    at = close + 1;
    if (tokens.length > MAX_TEMPLATE_TOKENS) return undefined;
  }
  if (tokens.length > MAX_TEMPLATE_TOKENS) return undefined;
  return { template, matches: (uri) => run(tokens, lists, uri) };
}

/** Thompson's simulation: `current[i]` — the template up to position i can have read the URI so far. */
function run(tokens: readonly Token[], lists: readonly boolean[], uri: string): boolean {
  const count = tokens.length;
  let current = new Uint8Array(count + 1);
  let next = new Uint8Array(count + 1);
  current[0] = 1;
  closeOver(tokens, current);
  for (let at = 0; at < uri.length; at++) {
    const code = uri.charCodeAt(at);
    next.fill(0);
    let any = false;
    for (let i = 0; i < count; i++) {
      if (current[i] === 0) continue;
      const token = tokens[i]!;
      if ('literal' in token) {
        if (token.literal === code) {
          next[i + 1] = 1;
          any = true;
        }
      } else if (inClass(code, token.variable, lists[i]!)) {
        next[i] = 1; // a variable reads on
        any = true;
      }
    }
    if (!any) return false;
    closeOver(tokens, next);
    [current, next] = [next, current];
  }
  return current[count] === 1;
}

/** A variable may be empty: each reachable variable position reaches the one after it. */
function closeOver(tokens: readonly Token[], states: Uint8Array): void {
  for (let i = 0; i < tokens.length; i++) if (states[i] === 1 && 'variable' in tokens[i]!) states[i + 1] = 1;
}
