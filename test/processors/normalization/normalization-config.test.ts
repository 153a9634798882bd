import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { MedStreamError } from '../../../src/errors.js';
import type { NormalizationConfig } from '../../../src/processors/normalization/normalization-config.js';
import {
  NORMALIZATION_FILE,
  NORMALIZATION_FORMAT,
  VITERBI_ONLY,
  loadNormalizationConfig,
  parseNormalizationConfig,
  writeNormalizationConfig,
} from '../../../src/processors/normalization/normalization-config.js';

const model = { name: 'toy-mtl', version: '1.2.3' };
const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medstream-normalization-'));
  dirs.push(dir);
  return dir;
};
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const full: NormalizationConfig = {
  format: NORMALIZATION_FORMAT,
  model,
  thresholds: { Disease: { model: 0.7, tfidf: 0.85, fallback: 0.25 } },
  recognition: {
    lexicon: {
      minRatio: 0.5,
      minAnnotated: 2,
      source: 'toy train',
      entries: [
        ['5 - fu', 'Chemical', 14, 14],
        ['seizures', 'Disease', 30, 40],
      ],
    },
    vocabularySpans: { minProbability: 0.02, maxTokens: 6 },
    marginalSpans: null,
    abbreviationPropagation: true,
    consistencyPropagation: 'ignore-case',
  },
  idForms: { 'MESH:C566443': 'OMIM:610102' },
  selection: { split: 'dev' },
};

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof MedStreamError ? error.code : 'other';
  }
  return 'none';
};

describe('normalization.json', () => {
  test('a minimal file means the model as trained', () => {
    const parsed = parseNormalizationConfig({ format: NORMALIZATION_FORMAT, model }, 'x.json');
    assert.deepEqual(parsed.recognition, VITERBI_ONLY);
    assert.deepEqual(parsed.thresholds, {});
    assert.equal(parsed.idForms, null);
  });

  test('bad values are MODEL_INVALID with the field named', () => {
    assert.equal(
      code(() => parseNormalizationConfig({ format: 'other', model }, 'x')),
      'MODEL_INVALID',
    );
    const badThreshold = {
      ...full,
      thresholds: { Disease: { model: 1.5, tfidf: 0.8, fallback: 0.1 } },
    };
    assert.throws(
      () => parseNormalizationConfig(badThreshold, 'x.json'),
      /thresholds\.Disease\.model/,
    );
    const inverted = {
      ...full,
      thresholds: { Disease: { model: 0.2, tfidf: 0.8, fallback: 0.3 } },
    };
    assert.throws(
      () => parseNormalizationConfig(inverted, 'x.json'),
      /τ_fallback 0.3 above τ_model 0.2/,
    );
    const badEntry = {
      ...full,
      recognition: {
        ...full.recognition,
        lexicon: { ...full.recognition.lexicon, entries: [['x', 'Disease', 0, 1]] },
      },
    };
    assert.equal(
      code(() => parseNormalizationConfig(badEntry, 'x')),
      'MODEL_INVALID',
    );
    const badMode = { ...full, recognition: { ...full.recognition, consistencyPropagation: true } };
    assert.equal(
      code(() => parseNormalizationConfig(badMode, 'x')),
      'MODEL_INVALID',
    );
  });

  test('written and loaded back unchanged, one lexicon entry per line', async () => {
    const dir = await tempDir();
    await writeNormalizationConfig(join(dir, NORMALIZATION_FILE), full);
    assert.deepEqual(await loadNormalizationConfig(dir, model), full);
    const text = await readFile(join(dir, NORMALIZATION_FILE), 'utf8');
    assert.match(
      text,
      /\n {8}\["5 - fu","Chemical",14,14\],\n {8}\["seizures","Disease",30,40\]\n/,
    );
  });

  test('absent file: defaults; a file for another model or version: MODEL_INVALID', async () => {
    const dir = await tempDir();
    const defaults = await loadNormalizationConfig(dir, model);
    assert.deepEqual(defaults.recognition, VITERBI_ONLY);
    await writeFile(join(dir, NORMALIZATION_FILE), JSON.stringify(full));
    await assert.rejects(
      loadNormalizationConfig(dir, { ...model, version: '1.2.4' }),
      (error: unknown) =>
        error instanceof MedStreamError &&
        error.code === 'MODEL_INVALID' &&
        /chosen for toy-mtl@1\.2\.3/.test(error.message),
    );
    await writeFile(join(dir, NORMALIZATION_FILE), '{ not json');
    await assert.rejects(loadNormalizationConfig(dir, model), /not readable JSON/);
  });
});
