import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { formatDemoSummary, runDemo } from '../../demo/run-demo.js';

interface DemoCliOptions {
  out: string;
  model?: string;
  json?: boolean;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run the whole pipeline on the embedded in-process default (sample citations).')
    .option('--out <dir>', 'where to write the results', 'out/demo')
    .option('--model <dir>', 'served model directory (default: models/bc5cdr-mtl)')
    .option('--json', 'print the summary as JSON')
    .action(async (options: DemoCliOptions) => {
      const config = loadConfig();
      const summary = await runDemo(config, {
        outDir: resolve(options.out),
        ...(options.model === undefined ? {} : { modelDir: options.model }),
        progress: process.stderr.isTTY === true && options.json !== true,
        log: (line) => process.stderr.write(`medstream: ${line}\n`),
      });
      process.stdout.write(
        options.json === true ? `${JSON.stringify(summary)}\n` : formatDemoSummary(summary),
      );
    });
}
