import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configDocPath, formattedConfigReference } from '../../scripts/gen-config-docs.js';
import { EnvSchema } from '../../src/config/config.js';

test('docs/configuration.md matches the config schema (run npm run docs:config)', async () => {
  assert.equal(readFileSync(configDocPath, 'utf8'), await formattedConfigReference());
});

test('every configuration variable is documented', () => {
  for (const [name, schema] of Object.entries(EnvSchema.shape)) {
    assert.ok((schema.description ?? '').length > 0, `${name} has no description`);
  }
});
