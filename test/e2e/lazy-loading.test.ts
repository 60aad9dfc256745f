// The cold start is part of the budget (docs/performance.md): what the frame path does not
// need must not load. A module-load hook records every ES module the built proxy loads.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp-dir.js';
import { modulesLoaded } from '../helpers/loaded-modules.js';

const heavy = (urls: string[]) => urls.filter((url) => /node_modules\/(zod|yaml|re2js|@modelcontextprotocol)\/|components\/(policy\/(document|rules)|policy-test)\//.test(url));

describe('lazy loading', () => {
  test('without a policy, the proxy loads no policy machinery (schema, YAML, RE2, rule kinds)', () => {
    assert.deepEqual(heavy(modulesLoaded([])), []);
  });

  // Issue 7: the stdio budgets hold with the HTTP code present but unused, because it is not loaded.
  test('over stdio, the proxy loads none of the Streamable HTTP northbound or its auth', () => {
    assert.deepEqual(modulesLoaded([]).filter((url) => /components\/(http-northbound|http-auth)\//.test(url)), []);
  });

  // Issue 17: OpenTelemetry (~130-210 ms, ~35 MB) loads only with --otlp-traces.
  test('without --otlp-traces, the proxy loads no OpenTelemetry module, nor the tracing component', () => {
    assert.deepEqual(modulesLoaded([]).filter((url) => /node_modules\/@opentelemetry\/|components\/tracing\//.test(url)), []);
    const traced = modulesLoaded(['--otlp-traces', 'http://127.0.0.1:9/v1/traces']);
    assert.ok(traced.some((url) => url.includes('/node_modules/@opentelemetry/sdk-trace-base/')), 'with it, the SDK loads');
  });

  test('with a policy, it does', () => {
    const loaded = heavy(modulesLoaded(['--policy', 'policies/readonly.yaml']));
    assert.ok(loaded.some((url) => url.includes('/node_modules/yaml/')), 'YAML');
    assert.ok(loaded.some((url) => url.includes('/policy/rules/')), 'rule kinds');
  });

  // RE2 is for patterns: a policy without one (readonly.yaml has none) never loads it.
  test('with a policy, RE2 only when the policy holds a pattern', () => {
    assert.ok(!readFileSync(join(ROOT, 'policies/readonly.yaml'), 'utf8').includes('pattern'));
    const re2 = (urls: string[]) => urls.filter((url) => url.includes('/node_modules/re2js/'));
    assert.deepEqual(re2(modulesLoaded(['--policy', 'policies/readonly.yaml'])), []);
    const dir = tempDir('lazy-re2');
    const policy = join(dir, 'patterns.yaml');
    writeFileSync(policy, `${readFileSync(join(ROOT, 'policies/readonly.yaml'), 'utf8').trimEnd()}\n  - id: employee-ids\n    redact: { detectors: all, patterns: [{ name: employee-id, pattern: "EMP-[0-9]{6}" }] }\n`);
    assert.ok(re2(modulesLoaded(['--policy', policy])).length > 0, 'RE2 for the pattern');
  });
});
