import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { AnnotatedArticle, DeadLetter } from '../../codec/records.js';
import { codecForTopic } from '../../codec/schema-registry.js';
import type { Config } from '../../config/config.js';
import { loadConfig } from '../../config/config.js';
import { MedStreamError, isMedStreamError } from '../../errors.js';
import type { SinkRunnerEvent, SinkRunnerStats } from '../../sinks/kafka-sink-runner.js';
import { KafkaSinkRunner } from '../../sinks/kafka-sink-runner.js';
import {
  createSearchIndexSink,
  searchIndexSinkOptionsFromConfig,
} from '../../sinks/search-index/search-index-sink.js';
import type { FileFormatName } from '../../sinks/files/file-format.js';
import { FILE_FORMAT_NAMES, fileFormat } from '../../sinks/files/file-format.js';
import {
  DEFAULT_FILE_PREFIX,
  DEFAULT_ROTATE_BYTES,
  DEFAULT_ROTATE_RECORDS,
  FileSink,
} from '../../sinks/files/file-sink.js';
import { loadConceptLookup } from '../../sinks/knowledge-graph/concept-lookup.js';
import {
  createKnowledgeGraphSink,
  knowledgeGraphSinkOptionsFromConfig,
} from '../../sinks/knowledge-graph/knowledge-graph-sink.js';
import type { Sink } from '../../sinks/sink.js';
import { createKafka } from '../../transport/kafka/client.js';
import { topicNames } from '../../transport/kafka/topics.js';
import { byteSize, positiveInt } from '../option-parsers.js';
import { AttributeKeys, createSinkInstruments } from '../../telemetry/instruments.js';
import type { SinkInstruments } from '../../telemetry/instruments.js';
import { withTelemetry } from '../../telemetry/sdk.js';
import { handleShutdown } from '../shutdown.js';

/**
 * `medstream sink <target>`: one sink as a Kafka consumer group on `pubmed.entities`
 * (sinks/kafka-sink-runner) until SIGTERM. Configuration is validated before anything
 * connects; the target's own settings come from the environment (docs/configuration.md).
 */

export interface SinkCommonOptions {
  group?: string;
  json?: boolean;
}

export interface SinkSummary {
  sink: string;
  groupId: string;
  input: string;
  reason: 'signal' | 'failure';
  failure?: MedStreamError;
  seconds: number;
  stats: SinkRunnerStats;
}

function errorText(error: unknown): string {
  if (isMedStreamError(error)) return `${error.message} [${error.code}]`;
  return error instanceof Error ? error.message : String(error);
}

function describeEvent(event: SinkRunnerEvent): string | undefined {
  switch (event.kind) {
    case 'assigned':
      return `assigned partitions [${event.partitions.join(', ')}]`;
    case 'crashed':
      return `consumer crashed (${errorText(event.error)})${event.restart ? '; restarting' : ''}`;
    case 'committed':
      return undefined;
  }
}

export interface RunSinkDeps {
  config: Config;
  signal: AbortSignal;
  log: (line: string) => void;
  onStopping?: () => void;
  /** Readiness: true once the group assigned partitions, false while the consumer restarts. */
  onReady?: (ready: boolean, reason?: string) => void;
  instruments?: SinkInstruments;
}

/** Runs `sink` from the entities topic until `deps.signal` aborts or it fails. */
export async function runKafkaSink(
  sink: Sink,
  options: SinkCommonOptions,
  deps: RunSinkDeps,
): Promise<SinkSummary> {
  const { config, log } = deps;
  if (config.KAFKA_BROKERS === undefined) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `medstream sink ${sink.name} reads from Kafka: set KAFKA_BROKERS (locally: \`npm run services -- up kafka\`, then source .cache/services/env.sh)`,
    );
  }
  const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  const groupId = options.group ?? `${config.MEDSTREAM_SINK_GROUP_PREFIX}-${sink.name}`;
  const registry = config.SCHEMA_REGISTRY_URL;
  const startedAt = performance.now();
  const runner = new KafkaSinkRunner({
    kafka: createKafka({
      brokers: config.KAFKA_BROKERS,
      clientId: `${config.KAFKA_CLIENT_ID}-sink-${sink.name}`,
    }),
    topics,
    groupId,
    sink,
    annotatedCodec: await codecForTopic<AnnotatedArticle>(
      'annotated-article',
      topics.entities,
      registry,
    ),
    deadLetterCodec: await codecForTopic<DeadLetter>('dead-letter', topics.deadLetters, registry),
    ...(deps.instruments === undefined ? {} : { instruments: deps.instruments }),
    limits: {
      maxRecords: config.MEDSTREAM_SINK_BATCH_RECORDS,
      maxBytes: config.MEDSTREAM_SINK_BATCH_BYTES,
    },
    ...(config.KAFKA_CREATE_TOPICS
      ? {
          createTopics: {
            partitions: config.KAFKA_TOPIC_PARTITIONS,
            replicationFactor: config.KAFKA_REPLICATION_FACTOR,
          },
        }
      : {}),
    onEvent: (event) => {
      if (event.kind === 'assigned') deps.onReady?.(true);
      if (event.kind === 'crashed') deps.onReady?.(false, 'consumer restarting');
      const line = describeEvent(event);
      if (line !== undefined) log(line);
    },
  });
  log(`group ${groupId}: ${topics.entities} → ${sink.name}`);

  let failure: unknown;
  const reason = await new Promise<'signal' | 'failure'>((resolve) => {
    const onAbort = (): void => resolve('signal');
    if (deps.signal.aborted) onAbort();
    deps.signal.addEventListener('abort', onAbort, { once: true });
    void runner.stopped.then((exit) => {
      failure ??= exit.failure;
      resolve('failure');
    });
    runner.start().then(
      () => log('consuming'),
      (error: unknown) => {
        failure ??= error;
        resolve('failure');
      },
    );
  });
  deps.onStopping?.();
  await runner.close();
  const summary: SinkSummary = {
    sink: sink.name,
    groupId,
    input: topics.entities,
    reason,
    seconds: (performance.now() - startedAt) / 1000,
    stats: runner.stats,
  };
  if (reason === 'failure') {
    summary.failure = isMedStreamError(failure)
      ? failure
      : new MedStreamError('SERVICE_UNAVAILABLE', `sink stopped: ${errorText(failure)}`, {
          cause: failure,
        });
  }
  return summary;
}

export function formatSinkSummary(summary: SinkSummary): string {
  const { stats } = summary;
  const codes = Object.entries(stats.deadLetterCodes)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  return (
    `medstream sink ${summary.sink}: ${stats.written} written, ${stats.deleted} deleted, ` +
    `${stats.deadLetters} dead letters${codes === '' ? '' : ` (${codes})`} in ${stats.batches} batches; ` +
    `${summary.seconds.toFixed(1)} s\n`
  );
}

/** The served model's name and version (names the search index behind the alias). */
async function modelIdentity(modelDir: string): Promise<{ name: string; version: string }> {
  let manifest: { name?: unknown; version?: unknown };
  try {
    manifest = JSON.parse(await readFile(join(modelDir, 'manifest.json'), 'utf8')) as {
      name?: unknown;
      version?: unknown;
    };
  } catch (error) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `cannot read ${join(modelDir, 'manifest.json')}: name the index with --index or the model with --model`,
      { cause: error },
    );
  }
  if (typeof manifest.name !== 'string' || typeof manifest.version !== 'string') {
    throw new MedStreamError('MODEL_INVALID', `${modelDir}/manifest.json has no name or version`);
  }
  return { name: manifest.name, version: manifest.version };
}

type SinkFactory = (
  config: Config,
  log: (line: string) => void,
  instruments: SinkInstruments,
) => Promise<Sink>;

function addTarget(
  parent: Command,
  name: string,
  description: string,
  configure: (command: Command) => Command,
  factory: (options: Record<string, unknown>) => SinkFactory,
): void {
  const command = parent
    .command(name)
    .description(description)
    .option('--group <id>', 'consumer group (default: MEDSTREAM_SINK_GROUP_PREFIX-<target>)')
    .option('--json', 'print the summary as JSON on stdout');
  configure(command).action(async (options: SinkCommonOptions & Record<string, unknown>) => {
    const config = loadConfig();
    const log = (line: string): void => {
      process.stderr.write(`medstream sink ${name}: ${line}\n`);
    };
    // Validated before anything connects: a bad setting fails here, not mid-stream.
    const instruments = createSinkInstruments();
    const sink = await factory(options)(config, log, instruments);
    const shutdown = handleShutdown(`sink ${name}`, config.MEDSTREAM_SHUTDOWN_TIMEOUT_MS);
    try {
      const summary = await withTelemetry(
        `sink-${name}`,
        config,
        (telemetry) =>
          runKafkaSink(sink, options, {
            config,
            signal: shutdown.signal,
            log,
            onStopping: () => {
              telemetry.beginShutdown();
              shutdown.arm();
            },
            onReady: (ready, reason) => telemetry.setReady(ready, reason),
            instruments,
          }),
        { log },
      );
      process.stderr.write(formatSinkSummary(summary));
      if (options.json === true) {
        const { failure, ...rest } = summary;
        process.stdout.write(
          `${JSON.stringify({ ...rest, failure: failure === undefined ? null : failure.code })}\n`,
        );
      }
      if (summary.failure !== undefined) throw summary.failure;
    } finally {
      shutdown.dispose();
    }
  });
}

export function registerSinkCommand(program: Command): void {
  const sink = program
    .command('sink')
    .description(
      'Write pubmed.entities into a search index, a knowledge graph or files, until SIGTERM.',
    );

  addTarget(
    sink,
    'opensearch',
    'OpenSearch / Elasticsearch index behind OPENSEARCH_INDEX_ALIAS (document id = PMID)',
    (command) =>
      command
        .option('--index <name>', 'concrete index to write (default: <alias>-<model>-<version>)')
        .option(
          '--model <dir>',
          'model whose name and version name the index (default: MEDSTREAM_MODEL_DIR)',
        ),
    (options) => async (config, log, instruments) => {
      const base = searchIndexSinkOptionsFromConfig(config);
      const index = typeof options.index === 'string' ? options.index : undefined;
      const model =
        index === undefined
          ? await modelIdentity(
              typeof options.model === 'string' ? options.model : config.MEDSTREAM_MODEL_DIR,
            )
          : undefined;
      return createSearchIndexSink({
        ...base,
        ...(index === undefined ? {} : { index }),
        ...(model === undefined ? {} : { model }),
        log,
        onRetry: (event) =>
          instruments.retries.add(1, {
            [AttributeKeys.sink]: 'opensearch',
            [AttributeKeys.errorCode]: event.reason,
          }),
      });
    },
  );

  addTarget(
    sink,
    'neo4j',
    'Neo4j knowledge graph: Article, Concept, MENTIONS and CO_OCCURS (NEO4J_URI)',
    (command) => command,
    () => async (config, log) => {
      const connection = knowledgeGraphSinkOptionsFromConfig(config);
      return createKnowledgeGraphSink({
        ...connection,
        conceptLookup: await loadConceptLookup(config, log),
        log,
      });
    },
  );

  for (const format of FILE_FORMAT_NAMES) {
    addTarget(
      sink,
      format,
      `${FORMAT_DESCRIPTIONS[format]} files in a directory, rotated and published complete`,
      (command) =>
        command
          .requiredOption('--out-dir <dir>', 'output directory')
          .option('--file-prefix <name>', `file name prefix (default: ${DEFAULT_FILE_PREFIX})`)
          .option(
            '--rotate-records <n>',
            `records per file (default: ${DEFAULT_ROTATE_RECORDS})`,
            positiveInt,
          )
          .option(
            '--rotate-bytes <size>',
            `most bytes per file, e.g. 256M (default: ${DEFAULT_ROTATE_BYTES / 1024 ** 2}M)`,
            byteSize,
          ),
      (options) => (_config, log) =>
        Promise.resolve(
          new FileSink({
            format: fileFormat(format),
            target: {
              kind: 'directory',
              dir: String(options.outDir),
              ...(typeof options.filePrefix === 'string' ? { prefix: options.filePrefix } : {}),
              ...(typeof options.rotateRecords === 'number'
                ? { rotateRecords: options.rotateRecords }
                : {}),
              ...(typeof options.rotateBytes === 'number'
                ? { rotateBytes: options.rotateBytes }
                : {}),
            },
            log,
          }),
        ),
    );
  }
}

const FORMAT_DESCRIPTIONS: Record<FileFormatName, string> = {
  pubtator: 'PubTator',
  bioc: 'BioC JSON',
  ndjson: 'NDJSON',
};
