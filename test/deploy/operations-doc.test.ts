import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EnvSchema } from '../../src/config/config.js';
import { resolveCliArgs } from './cli-commands.js';
import { CONFIG_NAMES, readRepoFile } from './deploy-manifests.js';

/** docs/operations.md names only commands and variables that exist. */

const doc = readRepoFile('docs/operations.md');

function shellLines(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.flatMap((b) => b.split('\n')).map((l) => l.trim());
}

/** Arguments of a documented command line, quotes removed, up to a shell operator. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) {
    const word = m[1] ?? m[2] ?? m[3];
    if (['|', '&&', ';', '>', '2>&1'].includes(word)) break;
    out.push(word);
  }
  return out;
}

test('every medstream command in the guide’s shell blocks is accepted by the CLI', async () => {
  const invocations = shellLines(doc)
    .map((line) => /^(?:medstream|node dist\/cli\/main\.js)\s+(.*)$/.exec(line)?.[1])
    .filter((rest): rest is string => rest !== undefined);
  assert.ok(invocations.length >= 4);
  for (const rest of invocations) {
    await resolveCliArgs(words(rest));
  }
});

test('every configuration-like variable the guide names exists', () => {
  const compose = readRepoFile('deploy/compose.yaml');
  // Host-side variables compose interpolates, and variables the schema's descriptions name as
  // read by the SDK itself (OTEL_EXPORTER_OTLP_HEADERS …).
  const composeVariables = new Set([...compose.matchAll(/\$\{(\w+)/g)].map((m) => m[1]));
  const described = Object.values(EnvSchema.shape)
    .map((s) => s.description ?? '')
    .join(' ');
  const unknown = [
    ...new Set(
      [
        ...doc.matchAll(
          /\b((?:MEDSTREAM|KAFKA|OPENSEARCH|NEO4J|NCBI|OTEL|SCHEMA_REGISTRY)_[A-Z0-9_]+)\b/g,
        ),
      ].map((m) => m[1]),
    ),
  ].filter(
    (name) => !CONFIG_NAMES.has(name) && !composeVariables.has(name) && !described.includes(name),
  );
  assert.deepEqual(unknown, []);
});
