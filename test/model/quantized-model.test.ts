import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CrfDecoder } from '../../src/model/crf-decode.js';
import { costGraph, readModelVariant } from '../../src/model/model-variant.js';
import { ServedModel } from '../../src/model/served-model.js';

/**
 * Every int8 variant under models/ (a manifest with a `quantization` block, written by
 * models/medstream_models/quantize.py) against its float source's parity fixture, through the
 * TypeScript path (onnxruntime-node), batched differently from Python: the same token ids, the
 * decoded tags of (nearly) every token, outputs close to the float model's but not equal (it
 * really is quantized), MEN scores still log-probabilities, and the variant made from the float
 * graph that is in the repository now.
 */
interface ParityCase {
  tokens: string[];
  word_ids: number[];
  char_ids: number[][];
  mer_emissions: number[][];
  men_scores_f32_b64: string;
  mer_tags: string[];
  men_labels: string[];
}

const modelsRoot = new URL('../../models/', import.meta.url).pathname;
const variants = readdirSync(modelsRoot).filter((name) => {
  const path = join(modelsRoot, name, 'manifest.json');
  return existsSync(path) && 'quantization' in (JSON.parse(readFileSync(path, 'utf8')) as object);
});

/** Agreement floors: int8 may flip a token whose two best labels are within its rounding. */
const MIN_TAG_AGREEMENT = 0.98;
const MAX_MER_DIFF = 0.05;

test('the int8 variant of the BC5CDR model is in models/', () => {
  assert.ok(variants.includes('bc5cdr-mtl-int8'), `found ${variants.join(', ')}`);
});

for (const name of variants) {
  test(`${name}: int8 outputs follow the float model's parity fixture`, async () => {
    const dir = join(modelsRoot, name);
    const variant = await readModelVariant(dir);
    assert.ok(variant.quantization !== null);
    const source = join(modelsRoot, variant.quantization.source.dir);
    // Throws unless the float graph next to it is the one it was quantized from.
    assert.equal((await costGraph(variant)).countedOn, 'float source graph');
    const parity = JSON.parse(readFileSync(join(source, 'parity.json'), 'utf8')) as {
      cases: ParityCase[];
    };
    const model = await ServedModel.load(dir);
    try {
      assert.equal(model.name, name);
      const decoder = new CrfDecoder(model.merCrf);
      const nMer = model.merLabels.length;
      const nMen = model.menLabels.length;
      let tokens = 0;
      let sameMer = 0;
      let sameMen = 0;
      let worstMer = 0;
      let anyDiff = 0;
      const order = parity.cases.map((_, i) => i).reverse();
      for (const part of [order.slice(0, 7), order.slice(7)]) {
        const out = await model.run(part.map((i) => parity.cases[i].tokens));
        part.forEach((caseIndex, row) => {
          const c = parity.cases[caseIndex];
          assert.deepEqual(
            c.tokens.map((t) => model.wordId(t)),
            c.word_ids,
          );
          const men = new Float32Array(Buffer.from(c.men_scores_f32_b64, 'base64').buffer.slice(0));
          const base = row * out.maxLength;
          c.tokens.forEach((_, t) => {
            tokens += 1;
            for (let j = 0; j < nMer; j += 1) {
              const d = Math.abs(out.mer[(base + t) * nMer + j] - c.mer_emissions[t][j]);
              worstMer = Math.max(worstMer, d);
              anyDiff = Math.max(anyDiff, d);
            }
            let best = 0;
            let mass = 0;
            for (let j = 0; j < nMen; j += 1) {
              const got = out.men[(base + t) * nMen + j];
              anyDiff = Math.max(anyDiff, Math.abs(got - men[t * nMen + j]));
              mass += Math.exp(got);
              if (got > out.men[(base + t) * nMen + best]) best = j;
            }
            assert.ok(Math.abs(mass - 1) < 1e-3, `MEN probabilities sum to ${mass}`);
            if (model.menLabels[best] === c.men_labels[t]) sameMen += 1;
          });
          const tags = decoder.viterbi(out.mer, base, c.tokens.length);
          tags.forEach((k, t) => {
            if (model.merLabels[k] === c.mer_tags[t]) sameMer += 1;
          });
        });
      }
      assert.ok(sameMer / tokens >= MIN_TAG_AGREEMENT, `MER tags agree on ${sameMer}/${tokens}`);
      assert.ok(sameMen / tokens >= MIN_TAG_AGREEMENT, `MEN argmax agrees on ${sameMen}/${tokens}`);
      assert.ok(worstMer <= MAX_MER_DIFF, `MER emissions differ by up to ${worstMer}`);
      assert.ok(anyDiff > 1e-4, 'outputs equal the float model: the graph is not quantized');
    } finally {
      await model.close();
    }
  });
}
