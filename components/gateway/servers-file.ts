/**
 * The servers file (`--servers servers.yaml`): the services one gateway fronts, each a namespace
 * and a server command with its own governor settings (docs/gateway.md "The servers file"). One
 * zod schema is both the validator and docs/servers.schema.json; YAML and schema errors are all
 * reported together, each at its file:line:col, in the policy loader's style.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SidecarError } from '../errors/index.js';
import { parseCommandLine } from '../proxy-process-governor/command-line.js';
import { GOVERNOR_BOUNDS, type Bounds } from '../values/index.js';
// The policy document's YAML machinery, reused so both files report errors alike.
import { expected } from '../policy/document/describe.js';
import { issueMessages, toFindings } from '../policy/document/issues.js';
import { formatPolicyError, type PolicyError } from '../policy/document/policy-error.js';
import { readStrictYamlMapping } from '../policy/document/strict-yaml.js';
import { deepFreeze } from '../policy/document/yaml-position.js';

export interface ServiceSpec {
  readonly name: string;
  readonly command: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly passEnv?: readonly string[];
  readonly serverUser?: string;
  readonly warm?: number;
  readonly timeouts?: { readonly requestMs?: number; readonly killMs?: number };
  readonly restart?: { readonly maxRestarts?: number; readonly backoffMs?: number; readonly backoffMaxMs?: number };
}

export interface ServersFile {
  readonly separator: string;
  readonly servers: readonly ServiceSpec[];
}

export const DEFAULT_SEPARATOR = '.';

// The MCP spec's tool names: 1 to 128 of A–Z a–z 0–9 _ - . ; a namespace leaves room for the tool's own name.
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SEPARATOR = /^[._-]{1,4}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_NAME_OR_PREFIX = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;
const ACCOUNT_NAME = /^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|\d{1,10})$/;
const within = ({ min, max }: Bounds) => z.int().min(min).max(max);

const command = z.string().min(1).superRefine((text, ctx) => {
  try {
    parseCommandLine(text);
  } catch (error) {
    // The governor's own words: shell syntax is refused, never run (no shell ever starts).
    ctx.addIssue({ code: 'custom', message: (error as Error).message, input: text });
  }
}).describe('The server command, split like --proxy (no shell: pipes, redirection and substitution are refused) and admitted by the same allowlist.');

/** A service's name: a prefix that keeps MCP tool names valid (also a policy test's gateway, components/policy-test). */
export const namespaceSchema = z.string().regex(NAMESPACE, expected('a namespace: 1 to 64 of A-Z a-z 0-9 _ - . starting with a letter or digit (a prefix of MCP tool names)'));
/** The separator between a namespace and a name (also a policy test's gateway). */
export const separatorSchema = z.string().regex(SEPARATOR, expected('a separator: 1 to 4 of "." "_" "-"')).default(DEFAULT_SEPARATOR);

/**
 * What the gateway could not route among its services' names, each told to `report` with the
 * name's index (`entry` names an index in a message): a name twice, a name holding the separator. JSON Schema cannot say these: the
 * servers file's validator and a policy test's gateway both check them here.
 */
export function namespaceIssues(names: readonly unknown[], separator: unknown, entry: (index: number) => string, report: (index: number, message: string) => void): void {
  const seen = new Map<string, number>();
  names.forEach((name, index) => {
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first !== undefined) report(index, `duplicate name ${JSON.stringify(name)} (${entry(first)} has it): each namespace names one service`);
    else seen.set(name, index);
    if (typeof separator === 'string' && separator !== '' && name.includes(separator)) {
      report(index, `expected a namespace without the separator ${JSON.stringify(separator)}, found ${JSON.stringify(name)}: its tool names could not be routed`);
    }
  });
}

const service = z.strictObject({
  name: namespaceSchema
    .describe('The namespace: its tools are listed as <name><separator><tool>. Unique in the file; it may not contain the separator.'),
  command,
  env: z.record(z.string().regex(ENV_NAME, expected('an environment variable name (letters, digits and "_", not starting with a digit)')), z.string()).optional()
    .describe('Variables set for this server (added to --set-env; these win).'),
  passEnv: z.array(z.string().regex(ENV_NAME_OR_PREFIX, expected('an environment variable name, or a prefix ending in "*"'))).optional()
    .describe('Variables passed through from the proxy\'s environment to this server (added to --pass-env).'),
  serverUser: z.string().regex(ACCOUNT_NAME, expected('a user name (letters, digits, _ . -; up to 32 characters) or a numeric uid')).optional()
    .describe('The user this server runs as (its primary group); default: --server-user, else the proxy\'s.'),
  warm: z.int().min(0).max(64).optional().describe('Over --http: this service\'s servers started ahead of sessions, its own pool (default: --warm-servers; none with --stdio).'),
  timeouts: z.strictObject({
    requestMs: z.int().min(0).max(86_400_000).optional().describe('A request\'s deadline for this service (0: none); default --request-timeout-ms.'),
    killMs: within(GOVERNOR_BOUNDS.killTimeoutMs).optional().describe('SIGTERM to SIGKILL in this server\'s stop sequence; default --kill-timeout-ms.'),
  }).optional(),
  restart: z.strictObject({
    maxRestarts: within(GOVERNOR_BOUNDS.maxRestarts).optional().describe('Default --max-restarts.'),
    backoffMs: within(GOVERNOR_BOUNDS.restartBackoffMs).optional().describe('Default --restart-backoff-ms.'),
    backoffMaxMs: within(GOVERNOR_BOUNDS.restartBackoffMaxMs).optional().describe('Default --restart-backoff-max-ms.'),
  }).optional(),
});

export const serversSchema = z
  .strictObject({
    separator: separatorSchema
      .describe('Between a namespace and a tool, prompt or resource template name (`fs.read_file`).'),
    servers: z.array(service).min(1).describe('The services behind the gateway, each with its own governor.'),
  })
  .superRefine((file, ctx) => {
    // Across entries: JSON Schema cannot say these, so they are the validator's alone.
    const names = file.servers.map((entry) => entry?.name);
    namespaceIssues(names, file.separator, (index) => `servers[${index}]`, (index, message) => ctx.addIssue({ code: 'custom', path: ['servers', index, 'name'], message, input: names[index] }));
  }, { when: () => true })
  .meta({
    title: 'mcp-sidecar servers file',
    description: 'The services behind one mcp-sidecar gateway (--servers). Generated from components/gateway/servers-file.ts by `npm run schema`; do not edit by hand.',
  });

const _isServersFile = (parsed: z.output<typeof serversSchema>): ServersFile => parsed;
void _isServersFile;

/** docs/servers.schema.json exactly as `npm run schema` writes it (the file as written: `separator` optional). */
export function serversJsonSchemaText(): string {
  const schema = z.toJSONSchema(serversSchema, {
    io: 'input',
    target: 'draft-2020-12',
    override: ({ jsonSchema }) => {
      if (jsonSchema.type === 'integer' && jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.type === 'integer' && jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    },
  });
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** Every error of a servers file, one per line as `file:line:col: path: message` (SIDECAR_ERR_CONFIG_INVALID). */
export class ServersFileInvalidError extends SidecarError {
  readonly file: string;
  readonly errors: readonly PolicyError[];

  constructor(file: string, errors: readonly PolicyError[]) {
    const heading = `${file}: ${errors.length} error${errors.length === 1 ? '' : 's'}`;
    super('SIDECAR_ERR_CONFIG_INVALID', [heading, ...errors.map(formatPolicyError)].join('\n'), {
      hint: 'docs/gateway.md and docs/servers.schema.json describe the servers file',
    });
    this.name = 'ServersFileInvalidError';
    this.file = file;
    this.errors = Object.freeze([...errors]);
  }
}

/** Reads and validates a servers file; throws SIDECAR_ERR_CONFIG_INVALID (unreadable, or every error at its line and column). */
export function loadServersFile(path: string): ServersFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', `--servers ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseServersText(text, path);
}

const FILE_EXPECTED = 'a servers file (a mapping with a `servers:` list)';

/** `fileName` names the source in error messages. */
export function parseServersText(text: string, fileName: string): ServersFile {
  const { data, at } = readStrictYamlMapping(text, fileName, FILE_EXPECTED, (errors) => {
    throw invalid(fileName, errors);
  });
  const result = serversSchema.safeParse(data, { error: issueMessages });
  if (!result.success) throw invalid(fileName, toFindings(result.error.issues).map(at));
  return deepFreeze(result.data);
}


function invalid(file: string, errors: PolicyError[]): ServersFileInvalidError {
  return new ServersFileInvalidError(file, errors.sort((a, b) => a.line - b.line || a.column - b.column));
}
