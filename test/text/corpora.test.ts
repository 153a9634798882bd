import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { exportTraining } from '../../src/text/training-export.js';
import type {
  CorpusName,
  ExportSummary,
  SplitName,
  TrainingSentence,
} from '../../src/text/training-export.js';

/**
 * The real corpora (read from the configured data root, never copied): document and mention
 * counts from shared/data/README.md, and the tokenizer's granularity target — fewer than 0.5% of
 * gold mentions may start or end inside a token. Fails (never skips) when the data is missing.
 */
const MAX_MISALIGNED = 0.005;

const EXPECTED: Record<
  CorpusName,
  Record<SplitName, { documents: number; mentionsByType: Record<string, number> }>
> = {
  'ncbi-disease': {
    // 593 train documents include PMID 8528200 twice.
    train: { documents: 593, mentionsByType: { Disease: 5145 } },
    dev: { documents: 100, mentionsByType: { Disease: 787 } },
    test: { documents: 100, mentionsByType: { Disease: 960 } },
  },
  bc5cdr: {
    train: { documents: 500, mentionsByType: { Chemical: 5203, Disease: 4182 } },
    dev: { documents: 500, mentionsByType: { Chemical: 5347, Disease: 4244 } },
    test: { documents: 500, mentionsByType: { Chemical: 5385, Disease: 4424 } },
  },
};

const SPLITS: SplitName[] = ['train', 'dev', 'test'];

for (const corpus of ['ncbi-disease', 'bc5cdr'] as const) {
  describe(`${corpus} corpus export`, () => {
    let out: string;
    let summary: ExportSummary;
    before(async () => {
      const { dataRoot } = loadConfig();
      assert.ok(existsSync(join(dataRoot, 'corpora', corpus)), `corpus missing under ${dataRoot}`);
      out = await mkdtemp(join(tmpdir(), `medstream-${corpus}-`));
      summary = await exportTraining({
        dataRoot,
        corpus,
        splits: SPLITS,
        scheme: 'bio',
        outDir: out,
      });
    });
    after(async () => {
      await rm(out, { recursive: true, force: true });
    });

    test('document and mention counts match the data README', () => {
      for (const split of SPLITS) {
        const s = summary.splits[split]!;
        const expected = EXPECTED[corpus][split];
        assert.equal(s.documents_read, expected.documents, `${split} documents`);
        const byType: Record<string, number> = {};
        for (const [type, n] of Object.entries(s.mentions_read_by_type)) {
          const merged = corpus === 'ncbi-disease' ? 'Disease' : type;
          byType[merged] = (byType[merged] ?? 0) + n;
        }
        assert.deepEqual(byType, expected.mentionsByType, `${split} mentions`);
      }
      assert.deepEqual(summary.pmids_in_several_splits, []);
    });

    test('fewer than 0.5% of mentions fall inside a token, per split and overall', () => {
      let mentions = 0;
      let misaligned = 0;
      for (const split of SPLITS) {
        const s = summary.splits[split]!;
        assert.ok(
          s.misaligned_rate < MAX_MISALIGNED,
          `${split}: ${s.misaligned_mentions}/${s.mentions}`,
        );
        mentions += s.mentions;
        misaligned += s.misaligned_mentions;
      }
      assert.ok(misaligned / mentions < MAX_MISALIGNED);
    });

    test('corpus quirks are absorbed and counted', () => {
      const train = summary.splits.train!;
      if (corpus === 'ncbi-disease') {
        assert.equal(train.duplicate_documents_dropped, 1); // PMID 8528200
        assert.equal(train.documents, 592);
        assert.equal(train.text_mismatches, 1); // 10923035 711-761
        assert.equal(train.text_mismatches_whitespace_only, 1);
      } else {
        for (const split of SPLITS) {
          assert.equal(summary.splits[split]!.text_mismatches, 0);
          assert.ok(summary.splits[split]!.relations > 1000);
        }
      }
      for (const split of SPLITS) {
        const s = summary.splits[split]!;
        // Dropping is the exception: crossing and overlap losses stay tiny.
        assert.ok(
          s.mentions_crossing_sentences + s.overlapping_mentions_dropped < s.mentions * 0.001,
        );
      }
    });

    test('every JSONL line is self-consistent', async () => {
      for (const split of SPLITS) {
        const lines = (await readFile(join(out, `${split}.jsonl`), 'utf8')).trimEnd().split('\n');
        assert.equal(lines.length, summary.splits[split]!.sentences);
        let tokens = 0;
        for (const line of lines) {
          const s = JSON.parse(line) as TrainingSentence;
          tokens += s.tokens.length;
          s.offsets.forEach(([a, b], k) => {
            assert.equal(s.text.slice(a - s.text_start, b - s.text_start), s.tokens[k]);
          });
          assert.equal(s.tags.length, s.tokens.length);
          assert.equal(s.men_tags.length, s.tokens.length);
          assert.equal(s.concept_ids.length, s.tokens.length);
        }
        assert.equal(tokens, summary.splits[split]!.tokens);
      }
    });
  });
}
