import assert from 'node:assert/strict';
import { symlink, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config/config.js';
import { MedStreamError } from '../../../src/errors.js';
import { documentAsArticle } from '../../../src/eval/evaluate-annotator.js';
import {
  MentionLexicon,
  buildLexicon,
} from '../../../src/processors/annotation/mention-lexicon.js';
import { OnnxAnnotator } from '../../../src/processors/annotation/onnx-annotator.js';
import { decideMentions } from '../../../src/processors/annotation/recognition.js';
import { ConceptDictionary } from '../../../src/processors/normalization/concept-dictionary.js';
import { buildDictionary } from '../../../src/processors/normalization/dictionary-builder.js';
import { DictionaryMentionResolver } from '../../../src/processors/normalization/mention-resolver.js';
import {
  NORMALIZATION_FILE,
  VITERBI_ONLY,
} from '../../../src/processors/normalization/normalization-config.js';
import { Normalizer } from '../../../src/processors/normalization/normalizer.js';
import { readPubTatorFile } from '../../../src/text/pubtator-reader.js';
import type { PubTatorDocument } from '../../../src/text/pubtator-reader.js';
import { corpusFile } from '../../../src/text/training-export.js';

/**
 * The served bc5cdr model with its normalization.json, on real dev abstracts (configured data
 * root; fails when it is missing): what `eval --tune` computes in memory (one analysis with the
 * loosest settings, then the recognition steps and thresholds) must be exactly what the
 * processor's `annotate` produces, or the dev scores it records would not be the served ones.
 */
const MODEL_DIR = fileURLToPath(new URL('../../../models/bc5cdr-mtl/', import.meta.url));
const { dataRoot } = loadConfig();
let resolver: DictionaryMentionResolver;
let annotator: OnnxAnnotator;
let documents: PubTatorDocument[];
const temporary: string[] = [];

before(async () => {
  const built = await buildDictionary({ dataRoot, corpora: ['bc5cdr'], splits: ['train'] });
  resolver = new DictionaryMentionResolver(new Normalizer(new ConceptDictionary(built.data)));
  annotator = await OnnxAnnotator.create({ modelDir: MODEL_DIR, resolver });
  documents = [];
  for await (const doc of readPubTatorFile(corpusFile(dataRoot, 'bc5cdr', 'dev'))) {
    if (documents.length < 40) documents.push(doc);
  }
});

after(async () => {
  await annotator.close();
  await Promise.all(temporary.map((d) => rm(d, { recursive: true, force: true })));
});

describe('served normalization.json (bc5cdr-mtl)', () => {
  test('is loaded with the model and enables recognition steps', () => {
    const { recognition } = annotator.normalization;
    assert.ok(annotator.normalization.selection !== undefined, 'no normalization.json loaded');
    assert.notDeepEqual(recognition, VITERBI_ONLY);
  });

  test('annotate equals the tuning path: loosest analysis, then the chosen steps', async () => {
    const articles = documents.map(documentAsArticle);
    const served = await annotator.annotate(articles);
    const train: PubTatorDocument[] = [];
    for await (const doc of readPubTatorFile(corpusFile(dataRoot, 'bc5cdr', 'train'))) {
      train.push(doc);
    }
    const loosest = await annotator.analyze(articles, {
      lexicon: new MentionLexicon(buildLexicon(train)),
      marginalFloor: 0.1,
      vocabularyFloor: 0.01,
      vocabularyMaxTokens: 6,
    });
    let added = 0;
    served.forEach((record, i) => {
      assert.deepEqual(
        record.mentions,
        decideMentions(loosest[i], annotator.normalization, resolver),
        `PMID ${record.pmid}`,
      );
      // The steps only add mentions: every Viterbi mention is still there, with its span.
      const viterbi = decideMentions(loosest[i], {
        ...annotator.normalization,
        recognition: VITERBI_ONLY,
      });
      for (const m of viterbi) {
        assert.ok(
          record.mentions.some((r) => r.start === m.start && r.end === m.end && r.type === m.type),
        );
      }
      added += record.mentions.length - viterbi.length;
    });
    assert.ok(added > 0, 'no step added any mention on 40 dev abstracts');
  });

  test('a normalization.json chosen for another model version is refused at load', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'medstream-served-'));
    temporary.push(dir);
    for (const file of ['manifest.json', 'model.onnx', 'words.txt', 'chars.txt']) {
      await symlink(join(MODEL_DIR, file), join(dir, file));
    }
    await writeFile(
      join(dir, NORMALIZATION_FILE),
      JSON.stringify({
        format: 'medstream-normalization/1',
        model: { name: 'bc5cdr-mtl', version: '0.9.0' },
      }),
    );
    await assert.rejects(
      OnnxAnnotator.create({ modelDir: dir }),
      (error: unknown) => error instanceof MedStreamError && error.code === 'MODEL_INVALID',
    );
  });
});
