import { hostname } from 'node:os';
import type { Command } from 'commander';
import { positiveInt } from '../option-parsers.js';
import { handleShutdown } from '../shutdown.js';
import type { AnnotatedArticle, Article, DeadLetter } from '../../codec/records.js';
import { codecForTopic } from '../../codec/schema-registry.js';
import type { Config } from '../../config/config.js';
import { loadConfig } from '../../config/config.js';
import { MedStreamError, isMedStreamError } from '../../errors.js';
import type { Annotator } from '../../processors/annotation/annotator.js';
import { loadAnnotator } from '../../processors/annotation/load-annotator.js';
import type { ProcessorEvent, ProcessorStats } from '../../processors/kafka-processor.js';
import { KafkaProcessor } from '../../processors/kafka-processor.js';
import { AttributeKeys, createProcessorInstruments } from '../../telemetry/instruments.js';
import type { ProcessorInstruments } from '../../telemetry/instruments.js';
import { withTelemetry } from '../../telemetry/sdk.js';
import { createKafka } from '../../transport/kafka/client.js';
import { topicNames } from '../../transport/kafka/topics.js';

/**
 * `medstream process`: the processor stage on Kafka (see processors/kafka-processor). Runs
 * until SIGTERM/SIGINT or a non-retriable failure, then takes the one shutdown path under a
 * hard timeout: stop fetching → the in-flight micro-batch commits → leave the group → close
 * the producers → close the annotator. A second signal, or the timeout, exits at once; what
 * was not committed is processed again by the next owner of the partitions, exactly once.
 *
 * The command runs with telemetry (telemetry/sdk.ts): `/readyz` turns 200 once the model is
 * loaded and the consumer joined its group, 503 while the consumer restarts after a crash and
 * from the first step of the shutdown path; telemetry is flushed and shut down last.
 */

export interface ProcessOptions {
  group?: string;
  instanceId?: string;
  model?: string;
  maxBatch?: number;
  maxBatchChars?: number;
  maxDelayMs?: number;
  json?: boolean;
}

export type AnnotatorFactory = (options: { modelDir: string }) => Promise<Annotator>;

/** The annotator the command serves: change this line to serve another model family. */
/** The served model with the dictionary normalizer, as `annotate` and `eval` use it. */
export const defaultAnnotatorFactory: AnnotatorFactory = ({ modelDir }) => {
  const config = loadConfig();
  const threads = config.MEDSTREAM_PROCESSOR_THREADS;
  return loadAnnotator(config, {
    modelDir,
    ...(threads === undefined ? {} : { intraOpThreads: threads }),
  });
};

export interface ProcessDeps {
  annotatorFactory?: AnnotatorFactory;
  config?: Config;
  /** Stops the processor when aborted (the command wires SIGTERM/SIGINT to one). */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Called when the shutdown path begins (the command arms its hard timeout there). */
  onStopping?: () => void;
  /** Readiness changes: ready once the model is loaded and the consumer joined its group. */
  onReady?: (ready: boolean, reason?: string) => void;
  /** Default: created from the global meter (the SDK must be started before). */
  instruments?: ProcessorInstruments;
}

export type StopReason = 'signal' | 'failure';

export interface ProcessSummary {
  groupId: string;
  instanceId: string;
  input: string;
  output: string;
  model: string;
  reason: StopReason;
  /** Why the processor stopped on its own (`reason` = failure). */
  failure?: MedStreamError;
  seconds: number;
  stats: ProcessorStats;
}

function processLog(line: string): void {
  process.stderr.write(`medstream process: ${line}\n`);
}

/** The brokers, or the configuration error that says how to set them. */
function requireBrokers(config: Config): string[] {
  if (config.KAFKA_BROKERS === undefined) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      'medstream process reads from Kafka: set KAFKA_BROKERS (locally: `npm run services -- up kafka`, then source .cache/services/env.sh)',
    );
  }
  return config.KAFKA_BROKERS;
}

function describeEvent(event: ProcessorEvent): string | undefined {
  switch (event.kind) {
    case 'assigned':
      return `assigned partitions [${event.partitions.join(', ')}]`;
    case 'skipped':
      return `partition ${event.partition}: skipped ${event.records} records already committed (offset ${event.committedOffset})`;
    case 'aborted':
      return `partition ${event.partition}: transaction aborted (${errorText(event.error)}); re-reading from the committed offset`;
    case 'crashed':
      return `consumer crashed (${errorText(event.error)})${event.restart ? '; restarting' : ''}`;
    case 'committed':
      return undefined;
  }
}

function errorText(error: unknown): string {
  if (isMedStreamError(error)) return `${error.message} [${error.code}]`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs the processor until `deps.signal` aborts or it fails, shuts it down, and returns what
 * it did (a failure is reported in the summary, not thrown, so it can be printed first).
 */
export async function runProcess(
  options: ProcessOptions,
  deps: ProcessDeps = {},
): Promise<ProcessSummary> {
  const config = deps.config ?? loadConfig();
  const log = deps.log ?? processLog;
  const brokers = requireBrokers(config);
  const groupId = options.group ?? config.MEDSTREAM_PROCESSOR_GROUP;
  const instanceId = options.instanceId ?? `${hostname()}-${process.pid}`;
  const modelDir = options.model ?? config.MEDSTREAM_MODEL_DIR;
  const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  const registry = config.SCHEMA_REGISTRY_URL;
  const startedAt = performance.now();

  const instruments = deps.instruments ?? createProcessorInstruments();
  const loadStarted = performance.now();
  const annotator = await (deps.annotatorFactory ?? defaultAnnotatorFactory)({ modelDir });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  instruments.modelLoadDuration.record(loadSeconds, {
    [AttributeKeys.modelName]: annotator.modelName,
    [AttributeKeys.modelVersion]: annotator.modelVersion,
  });
  const processor = new KafkaProcessor({
    kafka: createKafka({
      brokers,
      clientId: `${config.KAFKA_CLIENT_ID}-processor-${instanceId}`,
    }),
    topics: {
      articles: topics.articles,
      entities: topics.entities,
      deadLetters: topics.deadLetters,
    },
    groupId,
    instanceId,
    annotator,
    articleCodec: await codecForTopic<Article>('article', topics.articles, registry),
    annotatedCodec: await codecForTopic<AnnotatedArticle>(
      'annotated-article',
      topics.entities,
      registry,
    ),
    deadLetterCodec: await codecForTopic<DeadLetter>('dead-letter', topics.deadLetters, registry),
    maxBatchItems: options.maxBatch ?? config.MEDSTREAM_PROCESSOR_MAX_BATCH,
    maxBatchChars: options.maxBatchChars ?? config.MEDSTREAM_PROCESSOR_MAX_BATCH_CHARS,
    maxDelayMs: options.maxDelayMs ?? config.MEDSTREAM_PROCESSOR_MAX_DELAY_MS,
    sessionTimeoutMs: config.MEDSTREAM_PROCESSOR_SESSION_TIMEOUT_MS,
    ...(config.KAFKA_CREATE_TOPICS
      ? {
          createTopics: {
            partitions: config.KAFKA_TOPIC_PARTITIONS,
            replicationFactor: config.KAFKA_REPLICATION_FACTOR,
          },
        }
      : {}),
    instruments,
    onEvent: (event) => {
      if (event.kind === 'assigned') deps.onReady?.(true);
      else if (event.kind === 'crashed' && event.restart) {
        deps.onReady?.(false, 'consumer restarting after a crash');
      }
      const line = describeEvent(event);
      if (line !== undefined) log(line);
    },
  });
  log(
    `group ${groupId}, instance ${instanceId}, model ${annotator.modelName} ${annotator.modelVersion} ` +
      `(loaded in ${loadSeconds.toFixed(1)} s): ${topics.articles} → ${topics.entities}`,
  );

  let failure: unknown;
  const reason = await new Promise<StopReason>((resolve) => {
    const onAbort = (): void => resolve('signal');
    if (deps.signal?.aborted === true) onAbort();
    deps.signal?.addEventListener('abort', onAbort, { once: true });
    void processor.stopped.then((exit) => {
      failure ??= exit.failure;
      resolve('failure');
    });
    processor.start().then(
      () => log('consuming'),
      (error: unknown) => {
        failure ??= error;
        resolve('failure');
      },
    );
  });

  // The one shutdown path; the command's hard timeout surrounds it.
  deps.onStopping?.();
  try {
    await processor.close();
  } finally {
    await annotator.close();
  }
  const summary: ProcessSummary = {
    groupId,
    instanceId,
    input: topics.articles,
    output: topics.entities,
    model: `${annotator.modelName} ${annotator.modelVersion}`,
    reason,
    seconds: (performance.now() - startedAt) / 1000,
    stats: processor.stats,
  };
  if (reason === 'failure') {
    summary.failure = isMedStreamError(failure)
      ? failure
      : new MedStreamError('SERVICE_UNAVAILABLE', `processor stopped: ${errorText(failure)}`, {
          cause: failure,
        });
  }
  return summary;
}

export function formatSummary(summary: ProcessSummary): string {
  const { stats } = summary;
  const codes = Object.entries(stats.deadLetterCodes)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  return (
    `medstream process: ${stats.articles} articles, ${stats.tombstones} tombstones, ` +
    `${stats.deadLetters} dead letters${codes === '' ? '' : ` (${codes})`} in ${stats.batches} transactions; ` +
    `${stats.aborts} aborted, ${stats.skipped} records skipped as already committed; ` +
    `${stats.tokens > 0 ? `${stats.tokens} tokens, ` : ''}${stats.characters} characters; ` +
    `${summary.seconds.toFixed(1)} s, model ${summary.model}\n`
  );
}

export function registerProcessCommand(program: Command, deps: ProcessDeps = {}): void {
  program
    .command('process')
    .description(
      'Annotate articles from Kafka (pubmed.articles → pubmed.entities), exactly once, until SIGTERM.',
    )
    .option('--group <id>', 'consumer group (default: MEDSTREAM_PROCESSOR_GROUP)')
    .option('--instance-id <id>', 'name of this instance in logs and telemetry (default: host-pid)')
    .option('--model <dir>', 'served model directory (default: MEDSTREAM_MODEL_DIR)')
    .option('--max-batch <n>', 'articles per micro-batch and transaction', positiveInt)
    .option('--max-batch-chars <n>', 'text characters per micro-batch', positiveInt)
    .option('--max-delay-ms <n>', 'longest wait to fill a fetch when input trickles', positiveInt)
    .option('--json', 'print the summary as JSON on stdout')
    .action(async (options: ProcessOptions) => {
      const config = deps.config ?? loadConfig();
      // Before telemetry binds its port: a missing broker is the error to report.
      requireBrokers(config);
      const shutdown = handleShutdown('process', config.MEDSTREAM_SHUTDOWN_TIMEOUT_MS);
      try {
        const log = deps.log ?? processLog;
        const summary = await withTelemetry(
          'process',
          config,
          (telemetry) =>
            runProcess(options, {
              ...deps,
              config,
              log,
              signal: shutdown.signal,
              onStopping: () => {
                telemetry.beginShutdown();
                shutdown.arm();
              },
              onReady: (ready, reason) => telemetry.setReady(ready, reason),
            }),
          { ...(options.instanceId === undefined ? {} : { instanceId: options.instanceId }), log },
        );
        process.stderr.write(formatSummary(summary));
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
