import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { signBundle, readPrivateKey } from './sign.js';
import { readPublicKey, verifyBundle } from './verify.js';

export interface CommandIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
}

const USAGE = `usage: mcp-sidecar bundle sign <policy.yaml> --key <private.pem> [--out <bundle>] [--rollback] [--kid <id>]
       mcp-sidecar bundle verify <bundle> --key <public.pem> [--allow-unsigned]
`;

/** `mcp-sidecar bundle sign|verify`: exit 0 done, 1 refused (a bad policy, signature or key), 2 usage. */
export async function runBundleCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const [verb, ...rest] = args;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest, allowPositionals: true, strict: true,
      options: { key: { type: 'string' }, out: { type: 'string' }, rollback: { type: 'boolean' }, kid: { type: 'string' }, 'allow-unsigned': { type: 'boolean' } },
    });
  } catch (error) {
    io.stderr.write(`mcp-sidecar bundle: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if ((verb !== 'sign' && verb !== 'verify') || positionals.length !== 1 || values.key === undefined) {
    io.stderr.write(USAGE);
    return 2;
  }
  const file = positionals[0]!;
  try {
    if (verb === 'sign') {
      const bundle = await signBundle(readFileSync(file, 'utf8'), file, readPrivateKey(values.key), { rollback: values.rollback, keyId: values.kid });
      if (values.out === undefined || values.out === '-') io.stdout.write(bundle);
      else writeFileSync(values.out, bundle);
      return 0;
    }
    const verified = await verifyBundle(readFileSync(file), file, readPublicKey(values.key), values['allow-unsigned'] === true);
    const { name } = verified.loaded.document.metadata;
    io.stdout.write(`${file}: ${verified.signed ? 'signature valid' : 'unsigned'}; policy ${name}, revision ${verified.revision}${verified.rollback ? ' (rollback)' : ''}, digest ${verified.loaded.digest}\n`);
    return 0;
  } catch (error) {
    io.stderr.write(`mcp-sidecar bundle ${verb}: ${(error as Error).message}\n`);
    return 1;
  }
}
