/**
 * Dictionary normalizer benchmark: `npx tsx bench/normalizer.ts`. Prints one JSON object.
 *
 * Protocol (oracle NER: the GOLD mention spans of the test splits are normalized, so only
 * normalization is measured):
 * - thresholds: τ_tfidf per entity type chosen on the dev splits (NCBI-disease + BC5CDR pooled)
 *   with a dictionary built from vocabularies + TRAIN mentions;
 * - test: a dictionary built from vocabularies + TRAIN + DEV mentions (never test), written to
 *   a temporary directory and loaded back the way the processor loads it;
 * - configurations: exact only / exact + TF-IDF, each without and with abbreviation
 *   resolution (Schwartz–Hearst over the same abstract); decisions by `combineCandidates`
 *   without model candidates (steps 2, 3, 5 of its rule);
 * - metrics: mention-level accuracy (exact ID set) and document-level concept P/R/F1 as the
 *   BioCreative V CDR kit computes it (`f1`), plus the same with MEDIC alternative IDs mapped
 *   to their primary ID on both sides (`canonical`; differs only where gold uses alternative
 *   IDs, i.e. NCBI's OMIM IDs);
 * - speed: lookups/s over all test mentions (and over the mentions that need TF-IDF), load
 *   time and memory measured in a fresh child process.
 * Reads the corpora and vocabularies from the configured data root (never copied).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { conceptAccuracy, evaluateConcepts } from '../src/eval/corpus-metrics.js';
import type { EvalDocument, EvalMention } from '../src/eval/corpus-metrics.js';
import {
  abbreviationMap,
  findAbbreviations,
} from '../src/processors/normalization/abbreviations.js';
import {
  DEFAULT_THRESHOLDS,
  combineCandidates,
  tuneThresholds,
} from '../src/processors/normalization/combine.js';
import type { CombineThresholds, TuningExample } from '../src/processors/normalization/combine.js';
import { ConceptDictionary } from '../src/processors/normalization/concept-dictionary.js';
import { buildDictionary } from '../src/processors/normalization/dictionary-builder.js';
import { DICTIONARY_FILE } from '../src/processors/normalization/dictionary-data.js';
import { writeDictionary } from '../src/processors/normalization/dictionary-store.js';
import { Normalizer } from '../src/processors/normalization/normalizer.js';
import { readPubTatorFile } from '../src/text/pubtator-reader.js';
import type { PubTatorDocument } from '../src/text/pubtator-reader.js';
import { CORPUS_NAMES, corpusFile, entityTypeOf } from '../src/text/training-export.js';
import type { CorpusName, SplitName } from '../src/text/training-export.js';

interface Dataset {
  readonly name: string;
  readonly corpus: CorpusName;
  readonly type: string;
}

const DATASETS: readonly Dataset[] = [
  { name: 'ncbi-disease/Disease', corpus: 'ncbi-disease', type: 'Disease' },
  { name: 'bc5cdr/Disease', corpus: 'bc5cdr', type: 'Disease' },
  { name: 'bc5cdr/Chemical', corpus: 'bc5cdr', type: 'Chemical' },
];

const CONFIGS = [
  { name: 'exact', tfidf: false, abbreviations: false },
  { name: 'exact+abbreviations', tfidf: false, abbreviations: true },
  { name: 'exact+tfidf', tfidf: true, abbreviations: false },
  { name: 'exact+tfidf+abbreviations', tfidf: true, abbreviations: true },
] as const;

const round = (x: number, digits = 4): number => Number(x.toFixed(digits));

async function readSplit(dataRoot: string, corpus: CorpusName, split: SplitName) {
  const docs: PubTatorDocument[] = [];
  for await (const doc of readPubTatorFile(corpusFile(dataRoot, corpus, split))) docs.push(doc);
  return docs;
}

/** Dictionary candidates for every gold mention of one dataset. */
function examplesFor(
  docs: readonly PubTatorDocument[],
  dataset: Dataset,
  normalizer: Normalizer,
  useAbbreviations: boolean,
): TuningExample[] {
  const examples: TuningExample[] = [];
  for (const doc of docs) {
    const abbreviations = useAbbreviations
      ? abbreviationMap(findAbbreviations(doc.text, { breaks: [doc.title.length] }))
      : undefined;
    for (const m of doc.mentions) {
      if (entityTypeOf(dataset.corpus, m.type) !== dataset.type) continue;
      examples.push({
        pmid: doc.pmid,
        type: dataset.type,
        start: m.start,
        end: m.end,
        goldIds: m.ids,
        model: [],
        dictionary: normalizer.normalize(m.text, dataset.type, { abbreviations }),
      });
    }
  }
  return examples;
}

function predictedDocuments(
  examples: readonly TuningExample[],
  thresholds: CombineThresholds,
): EvalDocument[] {
  const byPmid = new Map<string, EvalMention[]>();
  for (const e of examples) {
    const list = byPmid.get(e.pmid) ?? [];
    list.push({
      start: e.start,
      end: e.end,
      type: e.type,
      ids: combineCandidates(e.model, e.dictionary, thresholds).ids,
    });
    byPmid.set(e.pmid, list);
  }
  return [...byPmid].map(([pmid, mentions]) => ({ pmid, mentions }));
}

function score(
  gold: readonly PubTatorDocument[],
  examples: readonly TuningExample[],
  dataset: Dataset,
  thresholds: CombineThresholds,
  dictionary: ConceptDictionary,
) {
  const pred = predictedDocuments(examples, thresholds);
  const base = { typeOf: (t: string) => entityTypeOf(dataset.corpus, t), types: [dataset.type] };
  const canonical = { ...base, canonicalId: (id: string) => dictionary.canonicalId(id) };
  const kit = evaluateConcepts(gold, pred, base).overall;
  const canon = evaluateConcepts(gold, pred, canonical).overall;
  const accuracy = conceptAccuracy(gold, pred, canonical);
  return {
    mentions: accuracy.mentions,
    accuracy: round(accuracy.accuracy),
    precision: round(kit.precision),
    recall: round(kit.recall),
    f1: round(kit.f1),
    tp: kit.tp,
    fp: kit.fp,
    fn: kit.fn,
    canonicalF1: round(canon.f1),
  };
}

/** Child-process mode: load the dictionary from DIR and report time and memory. */
async function measureLoad(dir: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const dictionary = await ConceptDictionary.load(dir);
  const t1 = performance.now();
  const normalizer = new Normalizer(dictionary);
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  gc?.();
  const after = process.memoryUsage();
  process.stdout.write(
    JSON.stringify({
      readMs: round(t1 - t0, 1),
      indexMs: round(t2 - t1, 1),
      totalMs: round(t2 - t0, 1),
      // CPU time of the load (user + system): less sensitive to other processes than wall time.
      cpuMs: round((cpu.user + cpu.system) / 1000, 1),
      heapMB: round((after.heapUsed - before.heapUsed) / 2 ** 20, 1),
      rssMB: round(after.rss / 2 ** 20, 1),
      concepts: normalizer.dictionary.size,
    }),
  );
}

function lookupsPerSecond(
  normalizer: Normalizer,
  queries: readonly { text: string; type: string }[],
  seconds: number,
): number {
  for (const q of queries.slice(0, 500)) normalizer.normalize(q.text, q.type); // warm-up
  let done = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000 || done === 0) {
    for (const q of queries) normalizer.normalize(q.text, q.type);
    done += queries.length;
    elapsed = performance.now() - started;
  }
  return Math.round(done / (elapsed / 1000));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--measure-load') return measureLoad(process.argv[3]);
  const { dataRoot } = loadConfig();
  const corpora = CORPUS_NAMES;

  // 1. Thresholds on dev, dictionary from TRAIN.
  const trainOnly = new ConceptDictionary(
    (await buildDictionary({ dataRoot, corpora, splits: ['train'] })).data,
  );
  const devNormalizer = new Normalizer(trainOnly);
  const tuned: Record<string, { tfidf: number; devF1: number }> = {};
  for (const type of ['Disease', 'Chemical']) {
    const examples: TuningExample[] = [];
    for (const dataset of DATASETS.filter((d) => d.type === type)) {
      const docs = await readSplit(dataRoot, dataset.corpus, 'dev');
      examples.push(...examplesFor(docs, dataset, devNormalizer, true));
    }
    const best = tuneThresholds(examples);
    tuned[type] = { tfidf: best.thresholds.tfidf, devF1: round(best.f1) };
  }

  // 2. Test dictionary from TRAIN + DEV, through the artifact.
  const dir = await mkdtemp(join(tmpdir(), 'medstream-dictionary-'));
  try {
    const buildStarted = performance.now();
    const built = await buildDictionary({ dataRoot, corpora, splits: ['train', 'dev'] });
    const buildMs = performance.now() - buildStarted;
    const manifest = await writeDictionary(dir, built);
    const artifactBytes = (await stat(join(dir, DICTIONARY_FILE))).size;
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, '--expose-gc', process.argv[1], '--measure-load', dir],
      { encoding: 'utf8' },
    );
    if (child.status !== 0) throw new Error(`load measurement failed: ${child.stderr}`);
    const load = JSON.parse(child.stdout) as Record<string, number>;

    const dictionary = await ConceptDictionary.load(dir);
    const normalizers = {
      exact: new Normalizer(dictionary, { tfidf: false }),
      tfidf: new Normalizer(dictionary),
    };
    const results: Record<string, Record<string, ReturnType<typeof score>>> = {};
    const queries: { text: string; type: string }[] = [];
    for (const dataset of DATASETS) {
      const gold = await readSplit(dataRoot, dataset.corpus, 'test');
      const thresholds = { ...DEFAULT_THRESHOLDS, tfidf: tuned[dataset.type].tfidf };
      results[dataset.name] = {};
      for (const config of CONFIGS) {
        const normalizer = config.tfidf ? normalizers.tfidf : normalizers.exact;
        const examples = examplesFor(gold, dataset, normalizer, config.abbreviations);
        results[dataset.name][config.name] = score(gold, examples, dataset, thresholds, dictionary);
      }
      for (const doc of gold) {
        for (const m of doc.mentions) {
          if (entityTypeOf(dataset.corpus, m.type) === dataset.type) {
            queries.push({ text: m.text, type: dataset.type });
          }
        }
      }
    }
    const needTfidf = queries.filter((q) => normalizers.exact.lookup(q.text, q.type).length === 0);
    const speed = {
      lookupsPerSecond: lookupsPerSecond(normalizers.tfidf, queries, 2),
      tfidfLookupsPerSecond: lookupsPerSecond(normalizers.tfidf, needTfidf, 2),
      exactOnlyLookupsPerSecond: lookupsPerSecond(normalizers.exact, queries, 1),
      queries: queries.length,
      queriesNeedingTfidf: needTfidf.length,
    };
    process.stdout.write(
      `${JSON.stringify(
        {
          protocol:
            'oracle spans (gold test mentions); thresholds tuned on dev with a train-only dictionary; test dictionary = vocabularies + train + dev mentions',
          metrics: {
            accuracy: 'mention-level: exact ID set of gold mentions with IDs',
            f1: 'NEN document-level concept P/R/F1 as the BioCreative V CDR kit computes it',
            canonicalF1: 'the same with MEDIC alternative IDs mapped to primary on both sides',
          },
          thresholds: tuned,
          results,
          speed,
          dictionary: {
            vocabularyVersion: manifest.vocabularyVersion,
            artifactBytes,
            buildMs: round(buildMs, 0),
            counts: manifest.counts,
            load,
          },
          node: process.version,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
