import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OutputBuffers, ServedModel } from '../../../src/model/served-model.js';

/**
 * The annotator runs the model with reusable output buffers (no ~10-40 MB allocation per
 * batch); the outputs must equal those of a plain run, batch after batch of varying shapes.
 */
const modelsRoot = new URL('../../../models/', import.meta.url).pathname;
const modelDir = ['bc5cdr-mtl', 'ncbi-disease-mtl', 'tiny-check']
  .map((name) => join(modelsRoot, name))
  .find((dir) => existsSync(join(dir, 'parity.json')));

test('runs into reused output buffers give the same outputs as fresh ones', async () => {
  assert.ok(modelDir !== undefined, 'no served model with parity.json under models/');
  const parity = JSON.parse(readFileSync(join(modelDir, 'parity.json'), 'utf8')) as {
    cases: { tokens: string[] }[];
  };
  const sentences = parity.cases.map((c) => c.tokens);
  const model = await ServedModel.load(modelDir, { intraOpThreads: 1 });
  try {
    const buffers = new OutputBuffers();
    for (const batch of [sentences.slice(0, 3), sentences.slice(3, 15), sentences.slice(15, 16)]) {
      const fresh = await model.run(batch);
      const reused = await model.run(batch, buffers);
      assert.equal(reused.maxLength, fresh.maxLength);
      assert.equal(reused.maxChars, fresh.maxChars);
      assert.deepEqual(reused.mer, fresh.mer);
      assert.deepEqual(reused.men, fresh.men);
    }
  } finally {
    await model.close();
  }
});
