import { SidecarError } from '../errors/index.js';

// Splits a command string into argv the way a POSIX shell would split words, and refuses
// everything else a shell would do (pipes, lists, redirection, substitution, expansion):
// no shell ever runs between the string and the process, so those could only mislead.

const OPERATOR_HINT = 'the command is started directly, without a shell; put a pipeline or redirection in a script and start that script';

function refuse(command: string, operator: string, index: number): never {
  throw new SidecarError(
    'SIDECAR_ERR_COMMAND_SHELL_SYNTAX',
    `${JSON.stringify(command)} contains the shell operator '${operator}' at character ${index + 1}`,
    { hint: OPERATOR_HINT },
  );
}

function operatorAt(command: string, i: number): string | undefined {
  const c = command[i]!;
  const next = command[i + 1] ?? '';
  if (c === ';' || c === '|' || c === '&' || c === '<' || c === '>' || c === '(' || c === ')' || c === '`') {
    return ['&&', '||', '>>', '<<', '|&', '&>'].includes(c + next) ? c + next : c;
  }
  if (c === '$' && /[A-Za-z_({0-9@*#?!$-]/.test(next)) return `$${next}`;
  return undefined;
}

export function parseCommandLine(command: string): string[] {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === '\n' || c === '\r') refuse(command, 'newline', i);
    if (c === ' ' || c === '\t') {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
      continue;
    }
    if (c === '#' && !inWord) refuse(command, '#', i);
    const operator = operatorAt(command, i);
    if (operator !== undefined) refuse(command, operator, i);
    inWord = true;
    if (c === '\\') {
      if (i + 1 >= command.length) throw new SidecarError('SIDECAR_ERR_COMMAND_INVALID', 'it ends with a lone backslash');
      word += command[++i];
    } else if (c === "'") {
      const close = command.indexOf("'", i + 1);
      if (close === -1) throw new SidecarError('SIDECAR_ERR_COMMAND_INVALID', `unterminated single quote at character ${i + 1}`);
      word += command.slice(i + 1, close);
      i = close;
    } else if (c === '"') {
      i = readDoubleQuoted(command, i, (text) => (word += text));
    } else {
      word += c;
    }
  }
  if (inWord) argv.push(word);
  if (argv.length === 0) throw new SidecarError('SIDECAR_ERR_COMMAND_INVALID', 'the command is empty');
  return argv;
}

// Inside double quotes a shell still expands `$…` and backticks: refuse those too.
function readDoubleQuoted(command: string, open: number, append: (text: string) => void): number {
  for (let i = open + 1; i < command.length; i++) {
    const c = command[i]!;
    if (c === '"') return i;
    if (c === '\\' && '"\\$`'.includes(command[i + 1] ?? '')) {
      append(command[++i]!);
    } else if (c === '`' || (c === '$' && /[A-Za-z_({0-9@*#?!$-]/.test(command[i + 1] ?? ''))) {
      refuse(command, c === '`' ? '`' : `$${command[i + 1]}`, i);
    } else {
      append(c);
    }
  }
  throw new SidecarError('SIDECAR_ERR_COMMAND_INVALID', `unterminated double quote at character ${open + 1}`);
}
