/**
 * Throughput of several served model directories under the same conditions: the processor
 * benchmark (throughput only) for each model in turn, in interleaved rounds, so that changes
 * of a shared machine's load spread over all of them; the median per model is reported.
 *
 *   npx tsx bench/compare-models.ts --models models/bc5cdr-mtl,models/bc5cdr-mtl-int8 \
 *     [--abstracts 1000] [--threads 1] [--rounds 3]
 *
 * Prints one JSON object: per model the median abstracts/s and every round's value, with the
 * load average before each round.
 */
import { Command, CommanderError } from 'commander';
import { loadavg } from 'node:os';
import { positiveInt } from '../src/cli/option-parsers.js';
import { loadConfig } from '../src/config/config.js';
import { isMedStreamError } from '../src/errors.js';
import {
  benchArticles,
  loadResolver,
  runProcessorBench,
} from '../src/processors/bench/processor-bench.js';

interface Options {
  models: string[];
  abstracts: number;
  threads: number;
  rounds: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('compare-models')
    .exitOverride()
    .requiredOption('--models <dirs>', 'comma-separated served model directories', (v: string) =>
      v.split(',').map((x) => x.trim()),
    )
    .option('--abstracts <n>', 'abstracts per run', positiveInt, 1000)
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt, 1)
    .option('--rounds <n>', 'interleaved rounds', positiveInt, 3);
  try {
    program.parse(['node', 'compare-models', ...argv]);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  const options = program.opts<Options>();
  const log = (line: string) => process.stderr.write(`compare-models: ${line}\n`);
  try {
    const config = loadConfig();
    const articles = await benchArticles(config, options.abstracts);
    const resolver = await loadResolver(config, true, log);
    const shared = { articles, ...(resolver === undefined ? {} : { resolver }) };
    const rounds = new Map<string, { abstracts_per_s: number; load: number }[]>(
      options.models.map((m) => [m, []]),
    );
    const names = new Map<string, string>();
    for (let r = 0; r < options.rounds; r += 1) {
      for (const modelDir of options.models) {
        const load = Number(loadavg()[0].toFixed(2));
        const res = await runProcessorBench(
          { config, modelDir, intraOpThreads: options.threads, throughputOnly: true },
          shared,
        );
        names.set(modelDir, `${res.model.name}@${res.model.version}`);
        rounds.get(modelDir)?.push({ abstracts_per_s: res.abstracts_per_s, load });
        log(`round ${r + 1}: ${modelDir} ${res.abstracts_per_s} abstracts/s (load ${load})`);
      }
    }
    const models = options.models.map((dir) => {
      const rs = rounds.get(dir) ?? [];
      return {
        dir,
        model: names.get(dir),
        median_abstracts_per_s: Number(median(rs.map((x) => x.abstracts_per_s)).toFixed(2)),
        rounds: rs,
      };
    });
    process.stdout.write(
      `${JSON.stringify({ threads: options.threads, abstracts: articles.length, models })}\n`,
    );
    return 0;
  } catch (error) {
    if (isMedStreamError(error)) {
      process.stderr.write(`compare-models: ${error.message} [${error.code}]\n`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
