import { createHash } from 'node:crypto';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { oneOf, positiveInt } from '../option-parsers.js';
import type { Config } from '../../config/config.js';
import { loadConfig } from '../../config/config.js';
import {
  addDays,
  daysBetween,
  describeWindow,
  formatIsoDate,
} from '../../producers/eutils/date-windows.js';
import type { EutilsDateType, EsearchRetmode } from '../../producers/eutils/eutils-client.js';
import { DEFAULT_EUTILS_BASE_URL, EutilsClient } from '../../producers/eutils/eutils-client.js';
import { DEFAULT_TERM, eutilsSource, pageBytes } from '../../producers/eutils/eutils-source.js';
import { HttpClient } from '../../producers/http/http-client.js';
import type { RetryEvent } from '../../producers/http/http-client.js';
import { sharedNcbiRateLimiter } from '../../producers/http/rate-limiter.js';
import type { PubmedEvent } from '../../producers/pubmed-xml/parse-pubmed-xml.js';
import { parsePubmedXml } from '../../producers/pubmed-xml/parse-pubmed-xml.js';
import { isRemote } from '../../producers/update-files/update-file-listing.js';
import { updateFilesSource } from '../../producers/update-files/update-files-source.js';
import type { Article, DeadLetter } from '../../codec/records.js';
import { codecForTopic } from '../../codec/schema-registry.js';
import type { IngestOutput } from '../../producers/ingest-output.js';
import { KafkaIngestOutput } from '../../producers/kafka-output.js';
import { NdjsonOutput } from '../../producers/ndjson-output.js';
import { withTelemetry } from '../../telemetry/sdk.js';
import { createKafka } from '../../transport/kafka/client.js';
import { topicNames } from '../../transport/kafka/topics.js';

/**
 * `medstream ingest eutils|files`: runs a producer source through the PubMed XML parser and
 * writes every event (article, delete, dead letter) to Kafka when KAFKA_BROKERS is set and no
 * `--out` is given, otherwise as one NDJSON line to stdout or `--out`.
 *
 * Durability order: write the unit's records → flush (a Kafka transaction commit; fsync for a
 * file) → commit the source's checkpoint. A crash anywhere before the commit re-sends that unit
 * on the next run (Kafka: the aborted transaction is invisible and a unit marker catches a crash
 * between the two commits; NDJSON: at-least-once, records keyed by PMID, `--out` opened for
 * append so a resumed run continues the same file).
 *
 * Writing to Kafka, the command runs with telemetry and the ops server (telemetry/sdk.ts):
 * ready once the Kafka output is open, not ready from SIGINT/SIGTERM on.
 */

export interface IngestSummary {
  source: 'eutils' | 'files';
  /** Windows (eutils) or files committed. */
  units: number;
  articles: number;
  deletes: number;
  deadLetters: number;
  requests: number;
  retries: number;
  checkpoint: string;
  /** Last committed window / file. */
  last: string | undefined;
}

export interface IngestEutilsOptions {
  since: string;
  until?: string;
  datetype: EutilsDateType;
  term: string;
  pageSize: number;
  retmode: EsearchRetmode;
  baseUrl: string;
  checkpoint?: string;
  out?: string;
  progress?: boolean;
}

export interface IngestFilesOptions {
  from: string;
  checkpoint?: string;
  out?: string;
  requireMd5?: boolean;
  progress?: boolean;
}

/**
 * `--out FILE` (or `-`) writes NDJSON; otherwise, with KAFKA_BROKERS configured, records go to
 * Kafka in one transaction per unit; otherwise NDJSON on stdout.
 */
async function openOutput(
  out: string | undefined,
  source: { key: string; kind: 'eutils' | 'files' },
  config: Config,
): Promise<IngestOutput> {
  const brokers = config.KAFKA_BROKERS;
  if (out !== undefined || brokers === undefined) return NdjsonOutput.open(out);
  const sourceKey = source.key;
  const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  return KafkaIngestOutput.open({
    kafka: createKafka({ brokers, clientId: config.KAFKA_CLIENT_ID }),
    topics: {
      articles: topics.articles,
      deadLetters: topics.deadLetters,
      checkpoints: topics.ingestCheckpoints,
    },
    transactionalId: `medstream-ingest-${createHash('sha256').update(sourceKey).digest('hex').slice(0, 16)}`,
    sourceKey,
    sourceKind: source.kind,
    articleCodec: await codecForTopic<Article>(
      'article',
      topics.articles,
      config.SCHEMA_REGISTRY_URL,
    ),
    deadLetterCodec: await codecForTopic<DeadLetter>(
      'dead-letter',
      topics.deadLetters,
      config.SCHEMA_REGISTRY_URL,
    ),
    ...(config.KAFKA_CREATE_TOPICS
      ? {
          createTopics: {
            partitions: config.KAFKA_TOPIC_PARTITIONS,
            replicationFactor: config.KAFKA_REPLICATION_FACTOR,
          },
        }
      : {}),
  });
}

/** `--out` or no broker: NDJSON; otherwise Kafka. */
function writesToKafka(out: string | undefined, config: Config): boolean {
  return out === undefined && config.KAFKA_BROKERS !== undefined;
}

/** How an ingest run reports to the command around it (readiness of the ops server). */
export interface IngestHooks {
  /** The output is open (for Kafka: producer fenced, unit markers read). */
  onReady?: () => void;
  /** SIGINT/SIGTERM arrived: the run stops after the current unit's records are dropped. */
  onStopping?: () => void;
}

/**
 * Ingesting into Kafka is a long-running producer (a back-fill takes days): it runs with
 * telemetry and the ops server. Writing NDJSON is a plain command and starts none.
 */
async function runIngest(
  out: string | undefined,
  config: Config,
  run: (hooks: IngestHooks) => Promise<IngestSummary>,
): Promise<IngestSummary> {
  if (!writesToKafka(out, config)) return run({});
  return withTelemetry('ingest', config, (telemetry) =>
    run({
      onReady: () => telemetry.setReady(true),
      onStopping: () => telemetry.beginShutdown(),
    }),
  );
}

interface Counters {
  articles: number;
  deletes: number;
  deadLetters: number;
}

async function writeEvents(
  events: AsyncIterable<PubmedEvent>,
  sink: IngestOutput,
  counters: Counters,
): Promise<void> {
  for await (const event of events) {
    if (event.kind === 'article') counters.articles += 1;
    else if (event.kind === 'delete') counters.deletes += 1;
    else counters.deadLetters += 1;
    await sink.write(event);
  }
}

/** A cli-progress bar on stderr when it is a terminal; a no-op otherwise. */
class Progress {
  private readonly bar: cliProgress.SingleBar | undefined;

  constructor(enabled: boolean, unit: string) {
    this.bar = enabled
      ? new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `{bar} {value}/{total} ${unit} | {articles} articles | {requests} requests, {retries} retries | {current}`,
            hideCursor: true,
            fps: 5,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  }

  start(total: number): void {
    this.bar?.start(Math.max(total, 1), 0, {
      articles: 0,
      requests: 0,
      retries: 0,
      current: '',
    });
  }

  grow(by: number): void {
    if (this.bar !== undefined) this.bar.setTotal(this.bar.getTotal() + by);
  }

  update(done: number, payload: Record<string, unknown>): void {
    this.bar?.update(done, payload);
  }

  stop(): void {
    this.bar?.stop();
  }
}

/** Aborts on SIGINT/SIGTERM: stop fetching; the checkpoint stays at the last commit. */
function interruptSignal(onInterrupt?: () => void): {
  signal: AbortSignal;
  dispose: () => void;
} {
  const controller = new AbortController();
  const onSignal = (name: string) => () => {
    process.stderr.write(
      `\nmedstream: ${name}, stopping; the next run resumes from the checkpoint\n`,
    );
    onInterrupt?.();
    controller.abort(new Error(`interrupted by ${name}`));
  };
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

function httpClient(config: Config, logRetries: boolean): HttpClient {
  return new HttpClient({
    limiter: sharedNcbiRateLimiter(config.NCBI_API_KEY),
    userAgent: `medstream/0.1 (${config.NCBI_TOOL}${config.NCBI_EMAIL === undefined ? '' : `; ${config.NCBI_EMAIL}`})`,
    onRetry: logRetries
      ? (event: RetryEvent) =>
          process.stderr.write(
            `medstream: retry ${event.attempt} in ${(event.delayMs / 1000).toFixed(1)} s: ` +
              `${event.error.message} [${event.error.code}]\n`,
          )
      : undefined,
  });
}

export async function ingestEutils(
  options: IngestEutilsOptions,
  config: Config = loadConfig(),
  hooks: IngestHooks = {},
): Promise<IngestSummary> {
  const checkpoint =
    options.checkpoint ?? join(config.cacheDir, 'checkpoints', `eutils-${options.datetype}.json`);
  const showProgress = options.progress ?? process.stderr.isTTY === true;
  const http = httpClient(config, !showProgress);
  const client = new EutilsClient({
    http,
    baseUrl: options.baseUrl,
    tool: config.NCBI_TOOL,
    ...(config.NCBI_API_KEY === undefined ? {} : { apiKey: config.NCBI_API_KEY }),
    ...(config.NCBI_EMAIL === undefined ? {} : { email: config.NCBI_EMAIL }),
    retmode: options.retmode,
  });
  const sink = await openOutput(
    options.out,
    { key: `eutils:${options.datetype}:${options.term}`, kind: 'eutils' },
    config,
  );
  hooks.onReady?.();
  const progress = new Progress(showProgress, 'windows');
  const interrupt = interruptSignal(hooks.onStopping);
  const counters: Counters = { articles: 0, deletes: 0, deadLetters: 0 };
  let units = 0;
  let last: string | undefined;
  try {
    // Progress total: base windows from the start (or resume) day to the last day; splits add.
    const until = options.until ?? addDays(formatIsoDate(Date.now()), -1);
    let fromDay = options.since;
    let started = false;
    const source = eutilsSource({
      client,
      since: options.since,
      ...(options.until === undefined ? {} : { until: options.until }),
      datetype: options.datetype,
      term: options.term,
      pageSize: options.pageSize,
      checkpointPath: checkpoint,
      signal: interrupt.signal,
      onEvent: (event) => {
        if (event.kind === 'search' && !started) {
          started = true;
          progress.start(Math.max(0, daysBetween(fromDay, until)) + 1);
        }
        if (event.kind === 'resume') {
          fromDay = event.cursor.date;
          last = describeWindow(event.lastWindow);
          if (!showProgress) process.stderr.write(`medstream: resuming after ${last}\n`);
        } else if (event.kind === 'split') {
          progress.grow(1);
        } else if (event.kind === 'short-page' || event.kind === 'history-renewed') {
          if (!showProgress)
            process.stderr.write(`medstream: ${event.kind} in ${describeWindow(event.window)}\n`);
        }
      },
    });
    for await (const item of source) {
      if (item.kind === 'page') {
        if (!sink.isCommitted(describeWindow(item.window))) {
          await writeEvents(parsePubmedXml(pageBytes(item), { source: 'eutils' }), sink, counters);
        }
      } else {
        const unit = describeWindow(item.window);
        if (!sink.isCommitted(unit)) await sink.commitUnit(unit);
        await item.commit();
        units += 1;
        if (item.checkpointable) last = describeWindow(item.window);
      }
      progress.update(units, {
        ...counters,
        requests: http.stats.requests,
        retries: http.stats.retries,
        current: describeWindow(item.window),
      });
    }
  } finally {
    progress.stop();
    interrupt.dispose();
    await sink.close();
    await http.close();
  }
  return {
    source: 'eutils',
    units,
    ...counters,
    requests: http.stats.requests,
    retries: http.stats.retries,
    checkpoint,
    last,
  };
}

export async function ingestFiles(
  options: IngestFilesOptions,
  config: Config = loadConfig(),
  hooks: IngestHooks = {},
): Promise<IngestSummary> {
  const checkpoint =
    options.checkpoint ?? join(config.cacheDir, 'checkpoints', 'update-files.json');
  const showProgress = options.progress ?? process.stderr.isTTY === true;
  // Update files are not E-utilities, but they come from the same NCBI hosts: one limiter.
  const http = isRemote(options.from) ? httpClient(config, !showProgress) : undefined;
  const sink = await openOutput(
    options.out,
    { key: `files:${options.from}`, kind: 'files' },
    config,
  );
  hooks.onReady?.();
  const progress = new Progress(showProgress, 'files');
  const interrupt = interruptSignal(hooks.onStopping);
  const counters: Counters = { articles: 0, deletes: 0, deadLetters: 0 };
  let units = 0;
  let last: string | undefined;
  try {
    const source = updateFilesSource({
      from: options.from,
      cacheDir: config.cacheDir,
      checkpointPath: checkpoint,
      ...(http === undefined ? {} : { http }),
      requireMd5: options.requireMd5 === true,
      signal: interrupt.signal,
      onEvent: (event) => {
        if (event.kind === 'listed') {
          progress.start(event.pending);
          if (!showProgress) {
            process.stderr.write(
              `medstream: ${event.total} files listed, ${event.committed} already committed, ${event.pending} to do\n`,
            );
          }
        } else if (event.kind === 'out-of-order') {
          process.stderr.write(
            `medstream: warning: ${event.name} sorts before the already committed ${event.after}; ` +
              'it is applied now, after newer files\n',
          );
        }
      },
    });
    for await (const file of source) {
      progress.update(units, {
        ...counters,
        requests: http?.stats.requests ?? 0,
        retries: http?.stats.retries ?? 0,
        current: file.name,
      });
      if (sink.isCommitted(file.name)) {
        // Already in Kafka (crash after the transaction, before the checkpoint): drain only.
        for await (const chunk of file.xml) void chunk;
      } else {
        await writeEvents(parsePubmedXml(file.xml, { source: file.name }), sink, counters);
        await sink.commitUnit(file.name);
      }
      await file.commit();
      units += 1;
      last = file.name;
      progress.update(units, { ...counters, current: file.name });
    }
  } finally {
    progress.stop();
    interrupt.dispose();
    await sink.close();
    await http?.close();
  }
  return {
    source: 'files',
    units,
    ...counters,
    requests: http?.stats.requests ?? 0,
    retries: http?.stats.retries ?? 0,
    checkpoint,
    last,
  };
}

function printSummary(summary: IngestSummary): void {
  const unit = summary.source === 'eutils' ? 'windows' : 'files';
  process.stderr.write(
    `medstream ingest ${summary.source}: ${summary.units} ${unit}, ${summary.articles} articles, ` +
      `${summary.deletes} deletes, ${summary.deadLetters} dead letters` +
      (summary.requests > 0 ? `, ${summary.requests} requests (${summary.retries} retries)` : '') +
      `; checkpoint ${summary.checkpoint}${summary.last === undefined ? '' : ` at ${summary.last}`}\n`,
  );
}

export function registerIngestCommand(program: Command): void {
  const ingest = program
    .command('ingest')
    .description(
      'Fetch PubMed records and write them to Kafka (with KAFKA_BROKERS, exactly once) or as NDJSON (stdout or --out), resumably.',
    );

  ingest
    .command('eutils')
    .description('esearch by date window + efetch in pages from NCBI E-utilities.')
    .requiredOption('--since <date>', 'first day, YYYY-MM-DD')
    .option('--until <date>', 'last day, YYYY-MM-DD (default: yesterday, UTC)')
    .option(
      '--datetype <type>',
      'edat (Entrez date) or mhda (MeSH date)',
      oneOf(['edat', 'mhda'] as const),
      'edat',
    )
    .option('--term <query>', 'PubMed query restricting the records', DEFAULT_TERM)
    .option('--page-size <n>', 'records per efetch page', positiveInt, 500)
    .option(
      '--retmode <mode>',
      'esearch response format: json or xml',
      oneOf(['json', 'xml'] as const),
      'json',
    )
    .option('--base-url <url>', 'E-utilities base URL', DEFAULT_EUTILS_BASE_URL)
    .option(
      '--checkpoint <file>',
      'checkpoint file (default: <cache>/checkpoints/eutils-<datetype>.json)',
    )
    .option('--out <file>', 'append NDJSON to this file instead of stdout')
    .action(async (options: IngestEutilsOptions) => {
      const config = loadConfig();
      printSummary(
        await runIngest(options.out, config, (hooks) => ingestEutils(options, config, hooks)),
      );
    });

  ingest
    .command('files')
    .description(
      'PubMed baseline/update files (pubmed*.xml.gz) from a folder or an HTTP(S) listing.',
    )
    .requiredOption(
      '--from <dirOrUrl>',
      'folder, or URL of a directory listing (e.g. …/pubmed/updatefiles/)',
    )
    .option(
      '--checkpoint <file>',
      'checkpoint file (default: <cache>/checkpoints/update-files.json)',
    )
    .option('--out <file>', 'append NDJSON to this file instead of stdout')
    .option('--require-md5', 'refuse files without a published .md5')
    .action(async (options: IngestFilesOptions) => {
      const config = loadConfig();
      printSummary(
        await runIngest(options.out, config, (hooks) => ingestFiles(options, config, hooks)),
      );
    });
}
