import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import { registerExportTrainingCommand } from '../../src/cli/commands/export-training.js';
import { parsePubTator } from '../../src/text/pubtator-reader.js';
import {
  corpusFile,
  documentToSentences,
  emptyAlignmentCounts,
  exportTraining,
} from '../../src/text/training-export.js';
import type { ExportSummary, TrainingSentence } from '../../src/text/training-export.js';
import { TOKENIZER_VERSION } from '../../src/text/tokenizer.js';
import { CDR_DOC, NCBI_DOC, pubtatorFile } from './pubtator-fixture.js';
import type { FixtureDocument } from './pubtator-fixture.js';

const tokensOf = (s: TrainingSentence, tags: readonly string[]): string[] =>
  s.tokens.map((t, k) => `${t}/${tags[k]}`);

describe('documentToSentences', () => {
  const [cdr] = parsePubTator(pubtatorFile([CDR_DOC]));

  test('sentences, offsets and MER/MEN tags (BIO)', () => {
    const counts = emptyAlignmentCounts();
    const sentences = documentToSentences(
      cdr,
      { corpus: 'bc5cdr', scheme: 'bio', docIndex: 7 },
      counts,
    );
    assert.equal(sentences.length, 4); // title + 3 abstract sentences
    for (const s of sentences) {
      assert.equal(s.pmid, '1000001');
      assert.equal(s.doc_index, 7);
      s.offsets.forEach(([a, b], k) => assert.equal(cdr.text.slice(a, b), s.tokens[k]));
      assert.equal(s.text, cdr.text.slice(s.text_start, s.text_end));
      for (const list of [s.tags, s.men_tags, s.concept_ids, ...Object.values(s.tags_by_type)]) {
        assert.equal(list.length, s.tokens.length);
      }
    }
    assert.deepEqual(tokensOf(sentences[0], sentences[0].tags), [
      'Cisplatin/B-Chemical',
      '-/O',
      'induced/O',
      'nephrotoxicity/B-Disease',
      'in/O',
      'rats/O',
    ]);
    const second = sentences[1];
    const failure = second.tokens.indexOf('acute');
    assert.deepEqual(second.men_tags.slice(failure, failure + 6), [
      'B-MESH:D058186|MESH:D017093',
      ...Array<string>(5).fill('I-MESH:D058186|MESH:D017093'),
    ]);
    assert.deepEqual(second.concept_ids[failure], ['MESH:D058186', 'MESH:D017093']);
    assert.deepEqual(second.tags_by_type.Chemical.slice(0, 4), ['O', 'O', 'B-Chemical', 'O']);
    assert.deepEqual(second.tags_by_type.Disease.slice(0, 4), ['O', 'O', 'O', 'O']);
    // `Ca` inside `Ca2` is expanded to the enclosing token and counted.
    const last = sentences[3];
    const ca = last.mentions.find((m) => m.text === 'Ca')!;
    assert.equal(ca.aligned, false);
    assert.equal(ca.concept, 'NIL');
    assert.equal(last.tokens[ca.token_start], 'Ca2');
    assert.equal(last.men_tags[ca.token_start], 'B-NIL');
    assert.deepEqual(counts, {
      ...emptyAlignmentCounts(),
      sentences: 4,
      tokens: sentences.reduce((n, s) => n + s.tokens.length, 0),
      mentions: CDR_DOC.mentions.length,
      misaligned: 1,
    });
  });

  test('BIOES', () => {
    const [first] = documentToSentences(cdr, { corpus: 'bc5cdr', scheme: 'bioes', docIndex: 0 });
    assert.deepEqual(first.tags.slice(0, 4), ['S-Chemical', 'O', 'O', 'S-Disease']);
  });

  test('NCBI subtypes map to Disease; the source type is kept', () => {
    const [ncbi] = parsePubTator(pubtatorFile([NCBI_DOC]));
    const sentences = documentToSentences(ncbi, {
      corpus: 'ncbi-disease',
      scheme: 'bio',
      docIndex: 0,
    });
    const mentions = sentences.flatMap((s) => s.mentions);
    assert.deepEqual(
      mentions.map((m) => [m.type, m.source_type, m.concept]),
      [
        ['Disease', 'CompositeMention', 'MESH:D061325+OMIM:604370'],
        ['Disease', 'CompositeMention', 'MESH:D001943|MESH:D010051'],
        ['Disease', 'Modifier', 'MESH:D005199'],
        ['Disease', 'SpecificDisease', 'OMIM:208900'],
      ],
    );
    assert.deepEqual(Object.keys(sentences[0].tags_by_type), ['Disease']);
  });

  test('overlaps are resolved (longest wins) and counted, per type and merged', () => {
    const doc: FixtureDocument = {
      pmid: '3',
      title: 'Metabolic acidosis after methanol ingestion',
      abstract: 'Severe metabolic acidosis developed.',
      mentions: [
        { text: 'Metabolic acidosis', type: 'Disease', ids: 'D000138' },
        { text: 'acidosis', type: 'Disease', ids: 'D000138' },
        { text: 'methanol ingestion', type: 'Disease', ids: 'D000001' },
        { text: 'methanol', type: 'Chemical', ids: 'D000432' },
      ],
    };
    const [parsed] = parsePubTator(pubtatorFile([doc]));
    const counts = emptyAlignmentCounts();
    const [title] = documentToSentences(
      parsed,
      { corpus: 'bc5cdr', scheme: 'bio', docIndex: 0 },
      counts,
    );
    assert.deepEqual(title.tags, ['B-Disease', 'I-Disease', 'O', 'B-Disease', 'I-Disease']);
    assert.deepEqual(title.tags_by_type.Chemical, ['O', 'O', 'O', 'B-Chemical', 'O']);
    assert.equal(counts.overlapDropped, 2); // `acidosis`, `methanol`
    assert.deepEqual(counts.overlapDroppedByType, { Disease: 1 });
    assert.deepEqual(
      title.mentions.map((m) => [m.text, m.in_tags]),
      [
        ['Metabolic acidosis', true],
        ['acidosis', false],
        ['methanol ingestion', true],
        ['methanol', false],
      ],
    );
  });

  test('a mention crossing a sentence boundary is dropped and counted', () => {
    const doc: FixtureDocument = {
      pmid: '4',
      title: 'Two sentences',
      abstract: 'It caused renal failure. Liver failure followed.',
      mentions: [{ text: 'failure. Liver', type: 'Disease', ids: 'D1' }],
    };
    const [parsed] = parsePubTator(pubtatorFile([doc]));
    const counts = emptyAlignmentCounts();
    const sentences = documentToSentences(
      parsed,
      { corpus: 'bc5cdr', scheme: 'bio', docIndex: 0 },
      counts,
    );
    assert.equal(counts.crossingSentences, 1);
    assert.ok(sentences.every((s) => s.mentions.length === 0 && s.tags.every((t) => t === 'O')));
  });
});

describe('exportTraining over a fixture data root', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'medstream-export-'));
    const write = async (path: string, content: string): Promise<void> => {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, content);
    };
    await write(corpusFile(root, 'bc5cdr', 'train'), pubtatorFile([CDR_DOC]));
    await write(corpusFile(root, 'bc5cdr', 'dev'), pubtatorFile([{ ...CDR_DOC, pmid: '1000002' }]));
    await write(
      corpusFile(root, 'bc5cdr', 'test'),
      pubtatorFile([{ ...CDR_DOC, pmid: '1000003' }]),
    );
    await write(corpusFile(root, 'ncbi-disease', 'train'), pubtatorFile([NCBI_DOC, NCBI_DOC]));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('writes <split>.jsonl and summary.json with counts', async () => {
    const out = join(root, 'out-cdr');
    const summary = await exportTraining({
      dataRoot: root,
      corpus: 'bc5cdr',
      splits: ['train', 'dev', 'test'],
      scheme: 'bio',
      outDir: out,
    });
    assert.deepEqual((await readdir(out)).sort(), [
      'dev.jsonl',
      'summary.json',
      'test.jsonl',
      'train.jsonl',
    ]);
    const onDisk = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as ExportSummary;
    assert.deepEqual(onDisk, summary);
    assert.equal(summary.tokenizer_version, TOKENIZER_VERSION);
    assert.deepEqual(summary.entity_types, ['Chemical', 'Disease']);
    const train = summary.splits.train!;
    assert.equal(train.documents, 1);
    assert.equal(train.sentences, 4);
    assert.equal(train.mentions, 7);
    assert.deepEqual(train.mentions_by_entity_type, { Chemical: 4, Disease: 3 });
    assert.equal(train.misaligned_mentions, 1);
    assert.equal(train.mentions_without_id, 1);
    assert.equal(train.relations, 1);
    assert.equal(train.file, 'corpora/bc5cdr/CDR_TrainingSet.PubTator.txt');
    assert.match(train.sha256, /^[0-9a-f]{64}$/);
    const lines = (await readFile(join(out, 'train.jsonl'), 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 4);
    const first = JSON.parse(lines[0]) as TrainingSentence;
    assert.deepEqual(first.tokens, ['Cisplatin', '-', 'induced', 'nephrotoxicity', 'in', 'rats']);
    assert.deepEqual(first.offsets[0], [0, 9]);
  });

  test('exact duplicate documents are exported once and counted', async () => {
    const summary = await exportTraining({
      dataRoot: root,
      corpus: 'ncbi-disease',
      splits: ['train'],
      scheme: 'bioes',
      outDir: join(root, 'out-ncbi'),
    });
    const train = summary.splits.train!;
    assert.equal(train.documents_read, 2);
    assert.equal(train.documents, 1);
    assert.equal(train.duplicate_documents_dropped, 1);
    assert.equal(train.mentions_read, 8);
    assert.equal(train.mentions, 4);
  });

  test('a missing corpus file is INPUT_NOT_FOUND and leaves no partial output', async () => {
    const out = join(root, 'out-missing');
    await assert.rejects(
      exportTraining({
        dataRoot: root,
        corpus: 'ncbi-disease',
        splits: ['dev'],
        scheme: 'bio',
        outDir: out,
      }),
      (error: unknown) => (error as { code?: string }).code === 'INPUT_NOT_FOUND',
    );
    assert.deepEqual(await readdir(out), []);
  });

  test('CLI: medstream export-training reads the data root from the configuration', async () => {
    let printed = '';
    const program = new Command().exitOverride();
    registerExportTrainingCommand(program, { write: (chunk: string) => (printed += chunk) !== '' });
    const out = join(root, 'out-cli');
    const previous = process.env.MEDSTREAM_DATA;
    process.env.MEDSTREAM_DATA = root;
    try {
      await program.parseAsync(
        [
          'export-training',
          '--corpus',
          'bc5cdr',
          '--split',
          'dev',
          '--scheme',
          'bioes',
          '--out',
          out,
        ],
        { from: 'user' },
      );
    } finally {
      if (previous === undefined) delete process.env.MEDSTREAM_DATA;
      else process.env.MEDSTREAM_DATA = previous;
    }
    const summary = JSON.parse(printed) as ExportSummary;
    assert.equal(summary.scheme, 'bioes');
    assert.deepEqual(Object.keys(summary.splits), ['dev']);
    assert.deepEqual((await readdir(out)).sort(), ['dev.jsonl', 'summary.json']);
  });

  test('CLI rejects an unknown corpus', async () => {
    const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
    registerExportTrainingCommand(program);
    await assert.rejects(
      program.parseAsync(['export-training', '--corpus', 'nope', '--out', 'x'], { from: 'user' }),
      (error: unknown) => (error as { code?: string }).code === 'commander.invalidArgument',
    );
  });
});
