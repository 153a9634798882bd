import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { loadConfig } from '../../../src/config/config.js';
import { conceptAccuracy, evaluateConcepts } from '../../../src/eval/corpus-metrics.js';
import type { EvalDocument, EvalMention } from '../../../src/eval/corpus-metrics.js';
import {
  abbreviationMap,
  findAbbreviations,
} from '../../../src/processors/normalization/abbreviations.js';
import { combineCandidates, thresholdsFor } from '../../../src/processors/normalization/combine.js';
import { ConceptDictionary } from '../../../src/processors/normalization/concept-dictionary.js';
import {
  VOCABULARY_FILES,
  buildDictionary,
} from '../../../src/processors/normalization/dictionary-builder.js';
import { Normalizer } from '../../../src/processors/normalization/normalizer.js';
import { readPubTatorFile } from '../../../src/text/pubtator-reader.js';
import type { PubTatorDocument } from '../../../src/text/pubtator-reader.js';
import { CORPUS_NAMES, corpusFile, entityTypeOf } from '../../../src/text/training-export.js';
import type { CorpusName } from '../../../src/text/training-export.js';

/**
 * Regression floors for the dictionary normalizer on the real test splits with ORACLE spans
 * (gold mentions normalized, exact + TF-IDF + abbreviations, dev-chosen thresholds, dictionary
 * from vocabularies + train + dev mentions), as bench/normalizer.ts measures them. Each floor
 * is the measured value minus 0.01. Reads the configured data root; fails (never skips) when
 * the data is missing.
 */
const FLOORS: readonly {
  corpus: CorpusName;
  type: string;
  measured: { f1: number; canonicalF1: number; accuracy: number };
}[] = [
  {
    corpus: 'ncbi-disease',
    type: 'Disease',
    measured: { f1: 0.8185, canonicalF1: 0.8594, accuracy: 0.8375 },
  },
  {
    corpus: 'bc5cdr',
    type: 'Disease',
    measured: { f1: 0.9243, canonicalF1: 0.9243, accuracy: 0.8813 },
  },
  {
    corpus: 'bc5cdr',
    type: 'Chemical',
    measured: { f1: 0.9092, canonicalF1: 0.9092, accuracy: 0.8271 },
  },
];

const { dataRoot } = loadConfig();
let normalizer: Normalizer;
let dictionary: ConceptDictionary;
const tests = new Map<CorpusName, PubTatorDocument[]>();

before(async () => {
  const required = [
    ...Object.values(VOCABULARY_FILES).map((p) => `${dataRoot}/${p}`),
    ...CORPUS_NAMES.flatMap((c) =>
      ['train', 'dev', 'test'].map((s) => corpusFile(dataRoot, c, s as 'train')),
    ),
  ];
  for (const path of required) {
    assert.ok(existsSync(path), `missing ${path}: set MEDSTREAM_DATA to the shared data root`);
  }
  const built = await buildDictionary({
    dataRoot,
    corpora: CORPUS_NAMES,
    splits: ['train', 'dev'],
  });
  dictionary = new ConceptDictionary(built.data);
  normalizer = new Normalizer(dictionary);
  for (const corpus of CORPUS_NAMES) {
    const docs: PubTatorDocument[] = [];
    for await (const doc of readPubTatorFile(corpusFile(dataRoot, corpus, 'test'))) docs.push(doc);
    tests.set(corpus, docs);
  }
});

function predict(
  docs: readonly PubTatorDocument[],
  corpus: CorpusName,
  type: string,
): EvalDocument[] {
  const thresholds = thresholdsFor(type);
  return docs.map((doc) => {
    const abbreviations = abbreviationMap(
      findAbbreviations(doc.text, { breaks: [doc.title.length] }),
    );
    const mentions: EvalMention[] = [];
    for (const m of doc.mentions) {
      if (entityTypeOf(corpus, m.type) !== type) continue;
      const candidates = normalizer.normalize(m.text, type, { abbreviations });
      mentions.push({ ...m, type, ids: combineCandidates([], candidates, thresholds).ids });
    }
    return { pmid: doc.pmid, mentions };
  });
}

describe('dictionary normalizer on the test splits (oracle spans)', () => {
  for (const { corpus, type, measured } of FLOORS) {
    test(`${corpus} ${type}: NEN document-level F1 stays above its floor`, () => {
      const gold = tests.get(corpus) ?? [];
      assert.ok(gold.length > 0);
      const pred = predict(gold, corpus, type);
      const options = { typeOf: (t: string) => entityTypeOf(corpus, t), types: [type] };
      const canonical = { ...options, canonicalId: (id: string) => dictionary.canonicalId(id) };
      const kit = evaluateConcepts(gold, pred, options).overall;
      const canon = evaluateConcepts(gold, pred, canonical).overall;
      const accuracy = conceptAccuracy(gold, pred, canonical).accuracy;
      assert.ok(kit.f1 >= measured.f1 - 0.01, `F1 ${kit.f1.toFixed(4)} < ${measured.f1} - 0.01`);
      assert.ok(
        canon.f1 >= measured.canonicalF1 - 0.01,
        `canonical F1 ${canon.f1.toFixed(4)} < ${measured.canonicalF1} - 0.01`,
      );
      assert.ok(accuracy >= measured.accuracy - 0.01, `accuracy ${accuracy.toFixed(4)} too low`);
    });
  }
});
