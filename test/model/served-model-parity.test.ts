import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CrfDecoder } from '../../src/model/crf-decode.js';
import { ServedModel } from '../../src/model/served-model.js';

/**
 * Every served model under models/ ships parity.json: real dev sentences as token strings
 * with the ids and outputs PyTorch computed. The TypeScript path must map tokens to the same
 * ids, and onnxruntime-node (with a different batching than Python's) must give the same
 * emissions and scores within atol and the same decoded tags.
 */
interface ParityCase {
  tokens: string[];
  word_ids: number[];
  char_ids: number[][];
  mer_emissions: number[][];
  men_scores_f32_b64: string;
  men_scores_shape: [number, number];
  mer_tags: string[];
  men_labels: string[];
}

const modelsRoot = new URL('../../models/', import.meta.url).pathname;
const servedModels = readdirSync(modelsRoot).filter((name) =>
  existsSync(join(modelsRoot, name, 'parity.json')),
);

test('at least one served model ships parity fixtures', () => {
  assert.ok(servedModels.length >= 1, 'no models/<name>/parity.json found');
});

for (const name of servedModels) {
  test(`${name}: TypeScript ids, ONNX outputs and decoded tags match PyTorch`, async () => {
    const dir = join(modelsRoot, name);
    const parity = JSON.parse(readFileSync(join(dir, 'parity.json'), 'utf8')) as {
      atol: number;
      cases: ParityCase[];
    };
    const model = await ServedModel.load(dir);
    try {
      const decoder = new CrfDecoder(model.merCrf);
      const nMer = model.merLabels.length;
      const nMen = model.menLabels.length;
      // Two uneven batches, in reverse order: padding and batch composition differ from Python's.
      const order = parity.cases.map((_, i) => i).reverse();
      let worst = 0;
      for (const part of [order.slice(0, 7), order.slice(7)]) {
        const outputs = await model.run(part.map((i) => parity.cases[i].tokens));
        part.forEach((caseIndex, row) => {
          const c = parity.cases[caseIndex];
          assert.deepEqual(
            c.tokens.map((t) => model.wordId(t)),
            c.word_ids,
          );
          assert.deepEqual(
            c.tokens.map((t) => model.charIds(t)),
            c.char_ids,
          );
          const men = new Float32Array(Buffer.from(c.men_scores_f32_b64, 'base64').buffer.slice(0));
          const base = row * outputs.maxLength;
          c.tokens.forEach((_, t) => {
            for (let j = 0; j < nMer; j += 1) {
              const d = Math.abs(outputs.mer[(base + t) * nMer + j] - c.mer_emissions[t][j]);
              worst = Math.max(worst, d);
            }
            let best = 0;
            for (let j = 0; j < nMen; j += 1) {
              const got = outputs.men[(base + t) * nMen + j];
              worst = Math.max(worst, Math.abs(got - men[t * nMen + j]));
              if (got > outputs.men[(base + t) * nMen + best]) best = j;
            }
            assert.equal(model.menLabels[best], c.men_labels[t]);
          });
          const tags = decoder.viterbi(outputs.mer, base, c.tokens.length);
          assert.deepEqual(
            Array.from(tags, (k) => model.merLabels[k]),
            c.mer_tags,
          );
        });
      }
      assert.ok(worst <= parity.atol, `max abs difference ${worst} > ${parity.atol}`);
    } finally {
      await model.close();
    }
  });
}
