import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { oneOf, positiveInt, positiveInts } from '../option-parsers.js';
import { loadConfig } from '../../config/config.js';
import type { SessionOptions } from '../../model/onnx-session.js';
import type { ProcessorBenchResult, SweepPoint } from '../../processors/bench/processor-bench.js';
import {
  DEFAULT_BENCH_ABSTRACTS,
  runProcessorBench,
  sweepProcessorBench,
} from '../../processors/bench/processor-bench.js';

interface BenchOptions {
  model?: string;
  abstracts: number;
  threads?: number;
  graphOptimization?: SessionOptions['graphOptimization'];
  batchTokens: number;
  batchRows: number;
  batchArticles: number;
  batchPlanning: Planning;
  batchCallCost?: number;
  dictionary: boolean;
  python?: string;
  kafka?: boolean;
  sweep?: boolean;
  sweepThreads: number[];
  sweepTokens: number[];
  sweepPlanning: Planning[];
  sweepRounds: number;
  json?: boolean;
}

const GRAPH_OPTIMIZATION = ['disabled', 'basic', 'extended', 'all'] as const;
const PLANNING = ['least-cost', 'greedy'] as const;
type Planning = (typeof PLANNING)[number];

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number ≥ 0');
  return n;
}

function summary(r: ProcessorBenchResult): string {
  const lines = [
    `${r.model.name}@${r.model.version}: ${r.abstracts} abstracts, ${r.tokens} tokens in ${r.seconds} s`,
    `  ${r.abstracts_per_s} abstracts/s, ${r.tokens_per_s} tokens/s (${r.cpu_cores_used} cores busy, inference ${Math.round(r.inference_share * 100)}% of wall time)`,
    `  model ${r.model_gflops_per_token ?? '?'} GFLOP/token, roofline ${r.roofline_gflops ?? '?'} GFLOP/s, efficiency ${r.efficiency ?? '?'}`,
    `  padding ×${r.padding_ratio}, ${r.batches} batches, rss ${r.rss_mb} MB, load average ${r.machine.load_average.join(' ')}`,
  ];
  if (r.e2e_abstracts_per_s !== undefined) {
    lines.push(
      `  end to end through Kafka: ${r.e2e_abstracts_per_s} abstracts/s (×${r.e2e_ratio})`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description(
      'Benchmark the processor in-process on BC5CDR test abstracts: throughput, model FLOPs, roofline GEMM, efficiency.',
    )
    .option('--model <dir>', 'served model directory (default: models/bc5cdr-mtl)')
    .option(
      '--abstracts <n>',
      'abstracts to annotate (the test split, repeated)',
      positiveInt,
      DEFAULT_BENCH_ABSTRACTS,
    )
    .option(
      '--threads <n>',
      'onnxruntime intra-op threads (default: onnxruntime chooses)',
      positiveInt,
    )
    .option(
      '--graph-optimization <level>',
      GRAPH_OPTIMIZATION.join(' | '),
      oneOf(GRAPH_OPTIMIZATION),
    )
    .option('--batch-tokens <n>', 'padded token cells per inference call', positiveInt, 4096)
    .option('--batch-rows <n>', 'sentences per inference call', positiveInt, 128)
    .option('--batch-articles <n>', 'articles per annotate call (micro-batch)', positiveInt, 64)
    .option('--batch-planning <how>', PLANNING.join(' | '), oneOf(PLANNING), 'least-cost')
    .option(
      '--batch-call-cost <cells>',
      'least-cost planning: cost of one inference call in padded token cells',
      nonNegative,
    )
    .option('--no-dictionary', "use the model's concepts only, without the dictionary normalizer")
    .option(
      '--python <path>',
      'Python with models/ installed, for the FLOP counter (default: .venv/bin/python)',
    )
    .option('--kafka', 'also measure end to end through Kafka (needs KAFKA_BROKERS)')
    .option('--sweep', 'measure a grid of threads × batch token budgets instead (throughput only)')
    .option('--sweep-threads <list>', 'intra-op threads for --sweep', positiveInts, [1, 2])
    .option(
      '--sweep-tokens <list>',
      'batch token budgets for --sweep',
      positiveInts,
      [1024, 2048, 4096, 8192, 16384],
    )
    .option(
      '--sweep-planning <list>',
      'batch planning for --sweep',
      (value: string) => value.split(',').map((x) => oneOf(PLANNING)(x.trim())),
      ['least-cost'],
    )
    .option('--sweep-rounds <n>', 'interleaved rounds per grid point', positiveInt, 2)
    .option('--json', 'print one JSON object')
    .action(async (options: BenchOptions) => {
      const config = loadConfig();
      const log = (line: string) => process.stderr.write(`medstream bench: ${line}\n`);
      const base = {
        config,
        ...(options.model === undefined ? {} : { modelDir: options.model }),
        abstracts: options.abstracts,
        ...(options.threads === undefined ? {} : { intraOpThreads: options.threads }),
        ...(options.graphOptimization === undefined
          ? {}
          : { graphOptimization: options.graphOptimization }),
        maxBatchTokens: options.batchTokens,
        maxBatchRows: options.batchRows,
        maxBatchArticles: options.batchArticles,
        batchPlanning: options.batchPlanning,
        ...(options.batchCallCost === undefined ? {} : { batchCallCost: options.batchCallCost }),
        dictionary: options.dictionary,
        ...(options.python === undefined ? {} : { python: options.python }),
        kafka: options.kafka === true,
        log,
      };
      if (options.sweep === true) {
        const points: SweepPoint[] = options.sweepPlanning.flatMap((batchPlanning) =>
          options.sweepThreads.flatMap((threads) =>
            options.sweepTokens.map((tokens) => ({
              intraOpThreads: threads,
              maxBatchTokens: tokens,
              batchPlanning,
              ...(options.graphOptimization === undefined
                ? {}
                : { graphOptimization: options.graphOptimization }),
            })),
          ),
        );
        const rows = await sweepProcessorBench(base, points, options.sweepRounds);
        if (options.json === true) {
          process.stdout.write(`${JSON.stringify({ sweep: rows })}\n`);
          return;
        }
        process.stdout.write(
          '| planning | threads | batch tokens | abstracts/s | tokens/s | cores busy | padding | inference share |\n',
        );
        process.stdout.write('|---|---|---|---|---|---|---|---|\n');
        for (const r of rows) {
          process.stdout.write(
            `| ${r.batch_planning} | ${r.intra_op_threads} | ${r.max_batch_tokens} | ${r.abstracts_per_s} | ${r.tokens_per_s} | ${r.cpu_cores_used} | ${r.padding_ratio} | ${r.inference_share} |\n`,
          );
        }
        return;
      }
      const result = await runProcessorBench(base);
      process.stdout.write(options.json === true ? `${JSON.stringify(result)}\n` : summary(result));
    });
}
