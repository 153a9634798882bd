import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { listSupportedBackends } from 'onnxruntime-node';
import { loadConfig } from '../../config/config.js';

export interface Readiness {
  node: string;
  onnxruntimeBackends: string[];
  dataRoot: string;
  dataRootPresent: boolean;
  transport: 'in-process' | 'kafka';
}

export function readiness(): Readiness {
  const config = loadConfig();
  return {
    node: process.version,
    onnxruntimeBackends: listSupportedBackends().map((b) => b.name),
    dataRoot: config.dataRoot,
    dataRootPresent: existsSync(config.dataRoot),
    transport: config.KAFKA_BROKERS === undefined ? 'in-process' : 'kafka',
  };
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run the whole pipeline on the embedded in-process default.')
    .option('--json', 'print machine-readable output')
    .action((options: { json?: boolean }) => {
      const report = readiness();
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      process.stdout.write(
        [
          'MedStream readiness',
          `  node:              ${report.node}`,
          `  onnxruntime:       ${report.onnxruntimeBackends.join(', ')}`,
          `  data root:         ${report.dataRoot}${report.dataRootPresent ? '' : ' (missing)'}`,
          `  transport:         ${report.transport}`,
          '',
        ].join('\n'),
      );
    });
}
