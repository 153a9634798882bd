import { existsSync } from 'node:fs';
import { loadavg, availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Article } from '../../codec/records.js';
import type { Config } from '../../config/config.js';
import { MedStreamError } from '../../errors.js';
import { documentAsArticle } from '../../eval/evaluate-annotator.js';
import { costGraph, readModelVariant } from '../../model/model-variant.js';
import type { SessionOptions } from '../../model/onnx-session.js';
import type { PubmedEvent } from '../../producers/pubmed-xml/parse-pubmed-xml.js';
import { readPubTatorFile } from '../../text/pubtator-reader.js';
import { corpusFile } from '../../text/training-export.js';
import { DEFAULT_MODEL_DIR, ensureDictionary } from '../annotation/load-annotator.js';
import type { AnnotatorStats, MentionResolver } from '../annotation/onnx-annotator.js';
import { DEFAULT_BATCH_CALL_COST, OnnxAnnotator } from '../annotation/onnx-annotator.js';
import { annotateInProcess } from '../in-process.js';
import { DictionaryMentionResolver } from '../normalization/mention-resolver.js';
import { measureKafkaEndToEnd } from './kafka-e2e.js';
import type { ModelFlops } from './model-flops.js';
import { modelFlops, sha256File } from './model-flops.js';
import type { RooflineResult } from './roofline.js';
import { measureRoofline } from './roofline.js';

/**
 * The processor benchmark (`npm run bench -- --json`, `medstream bench --json`): the annotator
 * alone, in-process (tokenization, sentence splitting, batching, ONNX inference, CRF decoding,
 * concept candidates, dictionary normalization), over real abstract text — the BC5CDR test
 * abstracts read from the data root, repeated to the requested count — and how that compares
 * with what the machine can do:
 *
 * - `model_gflops_per_token`: FLOPs of the served graph for one sentence of the measured mean
 *   length and character width, counted from the ONNX graph (model-flops.ts), per token; for an
 *   int8 variant, of the float graph it was quantized from (same multiply-accumulates, done in
 *   integers), so its efficiency compares it with the float GEMM roofline and may exceed 1;
 * - `roofline_gflops`: a GEMM shaped like the model's largest matrix product at the measured
 *   batch size, run through onnxruntime-node with the same session options (roofline.ts);
 * - `efficiency` = tokens_per_s × model_gflops_per_token ÷ roofline_gflops.
 *
 * The machine may be shared: load average, cores and the CPU time the process used are
 * reported with the numbers.
 */

export const DEFAULT_BENCH_ABSTRACTS = 2000;
const WARMUP_ABSTRACTS = 64;

export interface ProcessorBenchOptions {
  config: Config;
  /** Served model directory; default models/bc5cdr-mtl. */
  modelDir?: string;
  abstracts?: number;
  intraOpThreads?: number;
  graphOptimization?: SessionOptions['graphOptimization'];
  maxBatchTokens?: number;
  maxBatchRows?: number;
  batchPlanning?: 'least-cost' | 'greedy';
  batchCallCost?: number;
  /** Articles per annotate call (the in-process micro-batch). */
  maxBatchArticles?: number;
  /** false: the model's concepts only, no dictionary normalizer. */
  dictionary?: boolean;
  /** Python with models/ installed, for the FLOP counter (cached per model sha256). */
  python?: string;
  /** Skip the roofline GEMM and FLOP count (sweeps measure throughput only). */
  throughputOnly?: boolean;
  /** Minimum seconds of timed GEMM runs for the roofline (default 2). */
  rooflineSeconds?: number;
  /** Also run the articles through the Kafka processor stage (needs KAFKA_BROKERS). */
  kafka?: boolean;
  /**
   * Profile the annotator's ONNX session with onnxruntime's profiler (written as
   * `<prefix>_<date>.json` when the session closes); see src/model/onnx-profile.ts. Slows the runs down.
   */
  profileFilePrefix?: string;
  log?: (line: string) => void;
}

export interface ProcessorBenchResult {
  model: {
    name: string;
    version: string;
    dir: string;
    /** sha256 of the served ONNX file. */
    sha256: string | null;
    /** The manifest's quantization (e.g. int8 weights per output channel), or null. */
    quantization: string | null;
  };
  config: {
    intra_op_threads: number | 'default';
    graph_optimization: string;
    execution_provider: 'cpu';
    max_batch_tokens: number;
    max_batch_rows: number;
    batch_planning: string;
    max_batch_articles: number;
    dictionary: boolean;
  };
  machine: { cpus: number; load_average: number[]; node: string };
  abstracts: number;
  tokens: number;
  seconds: number;
  abstracts_per_s: number;
  tokens_per_s: number;
  /** CPU seconds the process used per wall second (all threads). */
  cpu_cores_used: number;
  /** Share of the wall time spent in ONNX runs (the rest: tokenization, decoding, normalization). */
  inference_share: number;
  batches: number;
  mean_batch_rows: number;
  /** Padded token cells ÷ real tokens. */
  padding_ratio: number;
  /** Padded token × character cells ÷ padded token cells. */
  mean_char_width: number;
  model_gflops_per_token: number | null;
  flops: {
    shape: { batch: number; seq: number; chars: number };
    by_op_share: Record<string, number>;
    source: string;
    /** An int8 variant's FLOPs are those of the float graph it was quantized from. */
    counted_on: 'own graph' | 'float source graph';
  } | null;
  roofline_gflops: number | null;
  roofline: { m: number; k: number; n: number; runs: number; ms_per_run: number } | null;
  efficiency: number | null;
  /** The model's own rate in its ONNX runs: tokens ÷ inference seconds × FLOPs/token. */
  inference_gflops: number | null;
  rss_mb: number;
  /** With --kafka: articles topic → Kafka processor stage → entities topic. */
  e2e_abstracts_per_s?: number;
  /** e2e_abstracts_per_s ÷ abstracts_per_s. */
  e2e_ratio?: number;
  e2e?: { abstracts: number; seconds: number; partitions: number; transactions: number };
}

const round = (x: number, digits = 4): number => Number(x.toFixed(digits));

/** BC5CDR test abstracts (unique PMIDs) as articles, repeated to `count`; copies get new PMIDs. */
export async function benchArticles(config: Config, count: number): Promise<Article[]> {
  const path = corpusFile(config.dataRoot, 'bc5cdr', 'test');
  if (!existsSync(path)) {
    throw new MedStreamError(
      'INPUT_NOT_FOUND',
      `the bench reads the BC5CDR test abstracts from ${path}: set MEDSTREAM_DATA to the data root`,
    );
  }
  const base: Article[] = [];
  const seen = new Set<string>();
  for await (const doc of readPubTatorFile(path)) {
    if (!seen.has(doc.pmid)) base.push(documentAsArticle(doc));
    seen.add(doc.pmid);
  }
  const out: Article[] = [];
  for (let i = 0; i < count; i += 1) {
    const article = base[i % base.length];
    const copy = Math.floor(i / base.length);
    // Copies are distinct records (keys) with the same text; PMIDs stay numeric.
    out.push(
      copy === 0
        ? article
        : { ...article, pmid: String(copy * 100_000_000 + Number(article.pmid)) },
    );
  }
  return out;
}

export async function loadResolver(
  config: Config,
  dictionary: boolean,
  log?: (line: string) => void,
): Promise<MentionResolver | undefined> {
  if (!dictionary) return undefined;
  return DictionaryMentionResolver.load(await ensureDictionary(config, undefined, log));
}

function statsDelta(after: AnnotatorStats, before: AnnotatorStats): AnnotatorStats {
  return {
    articles: after.articles - before.articles,
    tokens: after.tokens - before.tokens,
    batches: after.batches - before.batches,
    paddedTokens: after.paddedTokens - before.paddedTokens,
    paddedCharCells: after.paddedCharCells - before.paddedCharCells,
    inferenceMs: after.inferenceMs - before.inferenceMs,
    rows: after.rows - before.rows,
  };
}

async function* asEvents(articles: readonly Article[]): AsyncGenerator<PubmedEvent> {
  for (const article of articles)
    yield await Promise.resolve<PubmedEvent>({ kind: 'article', article });
}

/** Runs the in-process annotation over `articles`; returns wall seconds and CPU seconds. */
export async function timeInProcess(
  annotator: OnnxAnnotator,
  articles: readonly Article[],
  maxBatchArticles: number,
): Promise<{ seconds: number; cpuSeconds: number; annotated: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let annotated = 0;
  for await (const event of annotateInProcess(asEvents(articles), annotator, {
    maxBatchArticles,
    maxBatchChars: Number.MAX_SAFE_INTEGER,
  })) {
    if (event.kind === 'annotated') annotated += 1;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, annotated };
}

export async function runProcessorBench(
  options: ProcessorBenchOptions,
  shared: { articles?: Article[]; resolver?: MentionResolver } = {},
): Promise<ProcessorBenchResult> {
  const log = options.log ?? (() => undefined);
  const modelDir = resolve(options.modelDir ?? DEFAULT_MODEL_DIR);
  if (!existsSync(join(modelDir, 'manifest.json'))) {
    throw new MedStreamError(
      'MODEL_INVALID',
      `no served model in ${modelDir}: train and export it (models/README.md) or pass --model DIR`,
    );
  }
  const count = options.abstracts ?? DEFAULT_BENCH_ABSTRACTS;
  const dictionary = options.dictionary ?? true;
  const maxBatchTokens = options.maxBatchTokens ?? 4096;
  const maxBatchRows = options.maxBatchRows ?? 128;
  const maxBatchArticles = options.maxBatchArticles ?? 64;
  const batchPlanning = options.batchPlanning ?? 'least-cost';
  const session: SessionOptions = {
    executionProvider: 'cpu',
    ...(options.intraOpThreads === undefined ? {} : { intraOpThreads: options.intraOpThreads }),
    ...(options.graphOptimization === undefined
      ? {}
      : { graphOptimization: options.graphOptimization }),
  };
  const articles = shared.articles ?? (await benchArticles(options.config, count));
  const resolver = shared.resolver ?? (await loadResolver(options.config, dictionary, log));
  const annotator = await OnnxAnnotator.create({
    modelDir,
    session:
      options.profileFilePrefix === undefined
        ? session
        : { ...session, profileFilePrefix: options.profileFilePrefix },
    maxBatchTokens,
    maxBatchRows,
    batchPlanning,
    ...(options.batchCallCost === undefined ? {} : { batchCallCost: options.batchCallCost }),
    ...(resolver === undefined ? {} : { resolver }),
  });
  let result: ProcessorBenchResult;
  try {
    log(`warm-up: ${WARMUP_ABSTRACTS} abstracts`);
    await annotator.annotate(articles.slice(0, WARMUP_ABSTRACTS));
    const before = { ...annotator.stats };
    log(`timing ${articles.length} abstracts (${modelDir})`);
    const timed = await timeInProcess(annotator, articles, maxBatchArticles);
    const stats = statsDelta(annotator.stats, before);
    const tokensPerS = stats.tokens / timed.seconds;
    const meanCharWidth = stats.paddedCharCells / Math.max(1, stats.paddedTokens);

    let flops: ModelFlops | null = null;
    let countedOn: 'own graph' | 'float source graph' = 'own graph';
    let roofline: RooflineResult | null = null;
    const variant = await readModelVariant(modelDir);
    if (options.throughputOnly !== true) {
      const dims = {
        batch: 1,
        seq: Math.max(1, Math.round(stats.tokens / Math.max(1, stats.rows))),
        chars: Math.max(1, Math.round(meanCharWidth)),
      };
      const cost = await costGraph(variant);
      countedOn = cost.countedOn;
      log(`counting model FLOPs at ${JSON.stringify(dims)} on ${cost.path}`);
      flops = await modelFlops(cost.path, dims, {
        cacheDir: options.config.cacheDir,
        ...(options.python === undefined ? {} : { python: options.python }),
      });
      if (flops.largestMatmul !== null) {
        // Rows of the model's largest product in the benchmark's batches: padded tokens per run.
        const m = Math.max(1, Math.round(stats.paddedTokens / Math.max(1, stats.batches)));
        const shape = { m, k: flops.largestMatmul.k, n: flops.largestMatmul.n };
        log(`roofline GEMM ${shape.m}×${shape.k}×${shape.n}`);
        roofline = await measureRoofline(shape, session, {
          ...(options.rooflineSeconds === undefined ? {} : { minSeconds: options.rooflineSeconds }),
        });
      }
    }
    const gflopsPerToken = flops === null ? null : flops.flopsPerToken / 1e9;
    const efficiency =
      gflopsPerToken === null || roofline === null
        ? null
        : (tokensPerS * gflopsPerToken) / roofline.gflops;
    result = {
      model: {
        name: annotator.modelName,
        version: annotator.modelVersion,
        dir: modelDir,
        sha256: options.throughputOnly === true ? null : await sha256File(annotator.modelPath),
        quantization:
          variant.quantization === null
            ? null
            : `${variant.quantization.weights} (${variant.quantization.nodes.length} nodes)`,
      },
      config: {
        intra_op_threads: options.intraOpThreads ?? 'default',
        graph_optimization: options.graphOptimization ?? 'all',
        execution_provider: 'cpu',
        max_batch_tokens: maxBatchTokens,
        max_batch_rows: maxBatchRows,
        batch_planning:
          batchPlanning === 'greedy'
            ? 'greedy'
            : `least-cost (call cost ${options.batchCallCost ?? DEFAULT_BATCH_CALL_COST})`,
        max_batch_articles: maxBatchArticles,
        dictionary,
      },
      machine: {
        cpus: availableParallelism(),
        load_average: loadavg().map((x) => round(x, 2)),
        node: process.version,
      },
      abstracts: timed.annotated,
      tokens: stats.tokens,
      seconds: round(timed.seconds, 3),
      abstracts_per_s: round(timed.annotated / timed.seconds, 2),
      tokens_per_s: Math.round(tokensPerS),
      cpu_cores_used: round(timed.cpuSeconds / timed.seconds, 2),
      inference_share: round(stats.inferenceMs / 1000 / timed.seconds, 3),
      batches: stats.batches,
      mean_batch_rows: round(stats.rows / Math.max(1, stats.batches), 1),
      padding_ratio: round(stats.paddedTokens / Math.max(1, stats.tokens), 3),
      mean_char_width: round(meanCharWidth, 2),
      model_gflops_per_token: gflopsPerToken === null ? null : round(gflopsPerToken, 6),
      flops:
        flops === null
          ? null
          : {
              shape: flops.dims,
              by_op_share: Object.fromEntries(
                Object.entries(flops.byOp)
                  .sort((a, b) => b[1] - a[1])
                  .map(([op, value]) => [op, round(value / flops.flops, 3)]),
              ),
              source: flops.source,
              counted_on: countedOn,
            },
      roofline_gflops: roofline === null ? null : round(roofline.gflops, 2),
      roofline:
        roofline === null
          ? null
          : {
              m: roofline.m,
              k: roofline.k,
              n: roofline.n,
              runs: roofline.runs,
              ms_per_run: round(roofline.secondsPerRun * 1000, 2),
            },
      efficiency: efficiency === null ? null : round(efficiency, 4),
      inference_gflops:
        gflopsPerToken === null
          ? null
          : round((stats.tokens / stats.inferenceMs) * 1000 * gflopsPerToken, 2),
      rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    if (options.kafka === true) {
      const e2e = await measureKafkaEndToEnd(options.config, annotator, articles, { log });
      result.e2e_abstracts_per_s = round(e2e.abstractsPerS, 2);
      result.e2e_ratio = round(e2e.abstractsPerS / result.abstracts_per_s, 3);
      result.e2e = {
        abstracts: e2e.abstracts,
        seconds: round(e2e.seconds, 3),
        partitions: e2e.partitions,
        transactions: e2e.transactions,
      };
    }
  } finally {
    await annotator.close();
  }
  return result;
}

export interface SweepPoint {
  intraOpThreads: number;
  maxBatchTokens: number;
  graphOptimization?: SessionOptions['graphOptimization'];
  batchPlanning?: 'least-cost' | 'greedy';
}

export interface SweepRow {
  intra_op_threads: number;
  max_batch_tokens: number;
  graph_optimization: string;
  batch_planning: string;
  /** Median over rounds. */
  abstracts_per_s: number;
  tokens_per_s: number;
  cpu_cores_used: number;
  padding_ratio: number;
  inference_share: number;
  rounds: number[];
}

/**
 * Throughput for each point of a grid, measured in interleaved rounds (every point once per
 * round) so that changes of the machine's load spread over all points; the median is reported.
 */
export async function sweepProcessorBench(
  options: ProcessorBenchOptions,
  points: readonly SweepPoint[],
  rounds = 2,
): Promise<SweepRow[]> {
  const log = options.log ?? (() => undefined);
  const articles = await benchArticles(options.config, options.abstracts ?? 500);
  const resolver = await loadResolver(options.config, options.dictionary ?? true, log);
  const shared = { articles, ...(resolver === undefined ? {} : { resolver }) };
  const runs: ProcessorBenchResult[][] = points.map(() => []);
  for (let r = 0; r < rounds; r += 1) {
    for (const [i, point] of points.entries()) {
      const res = await runProcessorBench(
        {
          ...options,
          ...point,
          throughputOnly: true,
          log: () => undefined,
        },
        shared,
      );
      log(
        `round ${r + 1}: threads ${point.intraOpThreads}, budget ${point.maxBatchTokens}, ` +
          `${point.graphOptimization ?? 'all'}, ${res.config.batch_planning}: ` +
          `${res.abstracts_per_s} abstracts/s`,
      );
      runs[i].push(res);
    }
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  return points.map((point, i) => ({
    intra_op_threads: point.intraOpThreads,
    max_batch_tokens: point.maxBatchTokens,
    graph_optimization: point.graphOptimization ?? 'all',
    batch_planning: runs[i][0].config.batch_planning,
    abstracts_per_s: round(median(runs[i].map((x) => x.abstracts_per_s)), 2),
    tokens_per_s: Math.round(median(runs[i].map((x) => x.tokens_per_s))),
    cpu_cores_used: round(median(runs[i].map((x) => x.cpu_cores_used)), 2),
    padding_ratio: runs[i][0].padding_ratio,
    inference_share: round(median(runs[i].map((x) => x.inference_share)), 3),
    rounds: runs[i].map((x) => x.abstracts_per_s),
  }));
}
