/**
 * Where the model's time goes, per ONNX operator: the processor benchmark's in-process run
 * (throughput only) with onnxruntime's profiler on, summarized by operator type and node.
 *
 *   npx tsx bench/model-profile.ts [--model DIR] [--abstracts N] [--threads N] [--keep DIR]
 *
 * Prints one JSON object: the (profiled, hence somewhat slower) throughput and the profile
 * summary (src/model/onnx-profile.ts). The raw Chrome-trace file is deleted unless
 * --keep names a folder to move it to (chrome://tracing or Perfetto read it).
 */
import { Command, CommanderError } from 'commander';
import { mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { positiveInt } from '../src/cli/option-parsers.js';
import { loadConfig } from '../src/config/config.js';
import { isMedStreamError, MedStreamError } from '../src/errors.js';
import { readProfile } from '../src/model/onnx-profile.js';
import { runProcessorBench } from '../src/processors/bench/processor-bench.js';

interface Options {
  model?: string;
  abstracts: number;
  threads: number;
  keep?: string;
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('model-profile')
    .exitOverride()
    .option('--model <dir>', 'served model directory (default: models/bc5cdr-mtl)')
    .option('--abstracts <n>', 'abstracts to annotate', positiveInt, 500)
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt, 1)
    .option('--keep <dir>', 'keep the raw onnxruntime profile in this folder');
  try {
    program.parse(['node', 'model-profile', ...argv]);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  const options = program.opts<Options>();
  const dir = await mkdtemp(join(tmpdir(), 'medstream-profile-'));
  try {
    const log = (line: string) => process.stderr.write(`model-profile: ${line}\n`);
    const result = await runProcessorBench({
      config: loadConfig(),
      ...(options.model === undefined ? {} : { modelDir: options.model }),
      abstracts: options.abstracts,
      intraOpThreads: options.threads,
      throughputOnly: true,
      profileFilePrefix: join(dir, 'onnxruntime'),
      log,
    });
    // The session writes its profile when the bench releases it.
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    if (files.length !== 1) {
      throw new MedStreamError('INTERNAL', `expected one profile in ${dir}, found ${files.length}`);
    }
    let path = join(dir, files[0]);
    const profile = await readProfile(path);
    if (options.keep !== undefined) {
      const kept = join(resolve(options.keep), files[0]);
      await rename(path, kept);
      path = kept;
    }
    const summary = {
      model: result.model,
      threads: options.threads,
      machine: result.machine,
      abstracts: result.abstracts,
      tokens: result.tokens,
      abstracts_per_s_profiled: result.abstracts_per_s,
      inference_share: result.inference_share,
      runs: profile.runs,
      kernel_share_of_runs: Number((profile.kernelUs / Math.max(1, profile.runUs)).toFixed(3)),
      us_per_token: Number((profile.kernelUs / Math.max(1, result.tokens)).toFixed(2)),
      by_op: profile.byOp,
      top_nodes: profile.topNodes,
      ...(options.keep === undefined ? {} : { profile_file: path }),
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  } catch (error) {
    if (isMedStreamError(error)) {
      process.stderr.write(`model-profile: ${error.message} [${error.code}]\n`);
      return 2;
    }
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
