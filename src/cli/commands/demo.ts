import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config/config.js';
import { MedStreamError } from '../../errors.js';
import {
  DEFAULT_LIVE_DAYS,
  DEFAULT_LIVE_MAX_ARTICLES,
  MAX_LIVE_ARTICLES,
  MAX_LIVE_DAYS,
} from '../../demo/live-input.js';
import { formatDemoSummary, runDemo } from '../../demo/run-demo.js';

interface DemoCliOptions {
  out: string;
  model?: string;
  json?: boolean;
  offline?: boolean;
  days: number;
  maxArticles: number;
  kafka?: string | true;
  opensearch?: string | true;
  neo4j?: string | true;
}

/** `--flag VALUE`, or the configured value for a bare `--flag`; a clear error when neither. */
function serviceAddress(
  flag: string,
  given: string | true | undefined,
  configured: string | undefined,
  variable: string,
): string | undefined {
  if (given === undefined) return undefined;
  if (given !== true) return given;
  if (configured === undefined || configured === '') {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `--${flag} needs an address: give one (--${flag} ADDRESS) or set ${variable}`,
    );
  }
  return configured;
}

function intFrom1To(max: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(`must be an integer from 1 to ${max}`);
    }
    return n;
  };
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'Run the whole pipeline in-process on the newest PubMed citations (E-utilities), or on ' +
        'the sample citations shipped with MedStream when PubMed cannot be reached; writes ' +
        'NDJSON, PubTator and an HTML report.',
    )
    .option('--out <dir>', 'where to write the results', 'out/demo')
    .option('--model <dir>', 'served model directory (default: models/bc5cdr-mtl)')
    .option('--offline', 'do not try PubMed; annotate the sample citations')
    .option(
      '--days <n>',
      `PubMed citations of the last n days (Entrez date, UTC, today included; at most ${MAX_LIVE_DAYS})`,
      intFrom1To(MAX_LIVE_DAYS),
      DEFAULT_LIVE_DAYS,
    )
    .option(
      '--max-articles <n>',
      `at most n PubMed citations (at most ${MAX_LIVE_ARTICLES})`,
      intFrom1To(MAX_LIVE_ARTICLES),
      DEFAULT_LIVE_MAX_ARTICLES,
    )
    .option(
      '--kafka [brokers]',
      'join the stages through Kafka instead of in-process queues (default: KAFKA_BROKERS)',
    )
    .option(
      '--opensearch [url]',
      'also index the results into OpenSearch (default: OPENSEARCH_URL)',
    )
    .option('--neo4j [uri]', 'also load the results into Neo4j (default: NEO4J_URI)')
    .option('--json', 'print the summary as JSON')
    .action(async (options: DemoCliOptions) => {
      const config = loadConfig();
      const kafka = serviceAddress(
        'kafka',
        options.kafka,
        config.KAFKA_BROKERS?.join(','),
        'KAFKA_BROKERS',
      );
      const opensearch = serviceAddress(
        'opensearch',
        options.opensearch,
        config.OPENSEARCH_URL,
        'OPENSEARCH_URL',
      );
      const neo4j = serviceAddress('neo4j', options.neo4j, config.NEO4J_URI, 'NEO4J_URI');
      const summary = await runDemo(config, {
        ...(kafka === undefined ? {} : { kafka: kafka.split(',').map((b) => b.trim()) }),
        ...(opensearch === undefined ? {} : { opensearch }),
        ...(neo4j === undefined ? {} : { neo4j }),
        outDir: resolve(options.out),
        ...(options.model === undefined ? {} : { modelDir: options.model }),
        progress: process.stderr.isTTY === true && options.json !== true,
        log: (line) => process.stderr.write(`medstream: ${line}\n`),
        live:
          options.offline === true
            ? false
            : { days: options.days, maxArticles: options.maxArticles },
      });
      process.stdout.write(
        options.json === true ? `${JSON.stringify(summary)}\n` : formatDemoSummary(summary),
      );
    });
}
