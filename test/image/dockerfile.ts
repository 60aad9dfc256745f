// A small Dockerfile reader for the image tests: enough of the syntax that Dockerfile.sidecar and
// the docs' examples use (continuation lines, comments, ARG before FROM, stages, exec and shell
// forms, ENV with quotes). It throws on what it does not know, rather than guess.

export interface Instruction {
  /** Upper-cased: FROM, RUN, COPY, ENV, … */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  readonly rest: string;
  /** 1-based line of the keyword. */
  readonly line: number;
}

export interface Stage {
  /** The FROM image, with the ARGs declared before the first FROM substituted. */
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** ARG defaults declared before the first FROM. */
  readonly globalArgs: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
}

const KEYWORDS = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']);

/** Splits text into words the way the Dockerfile ENV/ARG parser does: quotes and backslashes honoured. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} in ${JSON.stringify(text)}`);
  if (inWord) words.push(word);
  return words;
}

function substitute(text: string, args: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    if (!(name in args)) throw new Error(`${whole} has no default ARG before FROM`);
    return args[name]!;
  });
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.split('\n');
  const instructions: Instruction[] = [];
  let i = 0;
  // Parser directives (`# syntax=…`) and comments are both lines starting with `#`.
  while (i < lines.length) {
    const first = lines[i]!;
    if (/^\s*(#.*)?$/.test(first)) {
      i++;
      continue;
    }
    const start = i + 1;
    let joined = '';
    let current = first;
    for (;;) {
      const continued = /\\\s*$/.test(current);
      joined += `${continued ? current.replace(/\\\s*$/, '') : current} `;
      i++;
      if (!continued) break;
      // Comment lines inside a continued instruction are dropped, as Docker does.
      while (i < lines.length && /^\s*#/.test(lines[i]!)) i++;
      if (i >= lines.length) throw new Error(`line ${start}: the file ends inside a continued instruction`);
      current = lines[i]!;
    }
    const match = /^\s*([A-Za-z]+)\s*(.*?)\s*$/s.exec(joined)!;
    const keyword = match[1]!.toUpperCase();
    if (!KEYWORDS.has(keyword)) throw new Error(`line ${start}: unknown instruction ${match[1]}`);
    if (/<</.test(match[2]!) && (keyword === 'RUN' || keyword === 'COPY')) throw new Error(`line ${start}: heredocs are not supported by this reader`);
    instructions.push({ keyword, rest: match[2]!, line: start });
  }

  const globalArgs: Record<string, string> = {};
  const stages: { image: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = splitWords(instruction.rest).filter((w) => !w.startsWith('--'));
      const asIndex = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ image: substitute(words[0]!, globalArgs), name: asIndex >= 0 ? words[asIndex + 1] : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${instruction.line}: only ARG may come before FROM`);
      if (!instruction.rest.includes('=')) continue; // no default: a FROM that uses it fails below
      for (const [name, value] of Object.entries(parseAssignments(instruction.rest))) globalArgs[name] = value;
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** `KEY=value KEY2="a b"` (or the legacy `KEY value`), as ENV, ARG and LABEL write them. */
export function parseAssignments(rest: string): Record<string, string> {
  const words = splitWords(rest);
  const result: Record<string, string> = {};
  if (words.length >= 1 && !words[0]!.includes('=')) {
    // Legacy `ENV KEY value…` or a bare `ARG NAME`.
    result[words[0]!] = rest.trim().slice(rest.trim().indexOf(words[0]!) + words[0]!.length).trim();
    return result;
  }
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new Error(`not KEY=value: ${JSON.stringify(word)}`);
    result[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return result;
}

/** The JSON array of an exec-form CMD/ENTRYPOINT/RUN, or undefined for the shell form. */
export function execForm(rest: string): string[] | undefined {
  if (!rest.trim().startsWith('[')) return undefined;
  const value: unknown = JSON.parse(rest);
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`not a JSON array of strings: ${rest}`);
  return value as string[];
}

export function instructions(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword);
}

export function last(stage: Stage, keyword: string): Instruction | undefined {
  return instructions(stage, keyword).at(-1);
}

/** ENV of a stage, in order (later wins). */
export function environment(stage: Stage): Record<string, string> {
  return Object.assign({}, ...instructions(stage, 'ENV').map((env) => parseAssignments(env.rest))) as Record<string, string>;
}

/** `--key=value` options at the start of COPY/ADD/HEALTHCHECK/RUN, and what follows them. */
export function splitOptions(rest: string): { options: Record<string, string>; body: string } {
  const options: Record<string, string> = {};
  let body = rest.trim();
  for (let match = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(body); match; match = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(body)) {
    options[match[1]!] = match[2] ?? '';
    body = body.slice(match[0].length);
  }
  return { options, body };
}

/** HEALTHCHECK: its options and its command (exec form), or 'NONE'. */
export function healthcheck(instruction: Instruction): { options: Record<string, string>; command: string[] | 'NONE' } {
  const { options, body } = splitOptions(instruction.rest);
  if (/^NONE$/i.test(body)) return { options, command: 'NONE' };
  const match = /^CMD\s+(.*)$/is.exec(body);
  if (!match) throw new Error(`HEALTHCHECK without CMD: ${instruction.rest}`);
  const command = execForm(match[1]!);
  if (command === undefined) throw new Error('HEALTHCHECK CMD in shell form: these tests expect the exec form');
  return { options, command };
}
