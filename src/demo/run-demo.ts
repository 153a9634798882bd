import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import type { AnnotatedArticle } from '../codec/records.js';
import type { Config } from '../config/config.js';
import { ensureDictionary, loadAnnotator } from '../processors/annotation/load-annotator.js';
import type { AnnotatedEvent } from '../processors/in-process.js';
import { annotateInProcess } from '../processors/in-process.js';
import { throughSinks } from '../sinks/in-process-sink-driver.js';
import { conceptLookupFromDictionary } from '../sinks/knowledge-graph/graph-model.js';
import {
  createKnowledgeGraphSink,
  knowledgeGraphSinkOptionsFromConfig,
} from '../sinks/knowledge-graph/knowledge-graph-sink.js';
import {
  SearchIndexSink,
  createSearchIndexSink,
  searchIndexSinkOptionsFromConfig,
} from '../sinks/search-index/search-index-sink.js';
import type { Sink } from '../sinks/sink.js';
import { annotateThroughKafka } from './kafka-stages.js';
import { DictionaryMentionResolver } from '../processors/normalization/mention-resolver.js';
import { parsePubmedXml } from '../producers/pubmed-xml/parse-pubmed-xml.js';
import { formatPubTator } from '../sinks/files/pubtator-format.js';
import { pageBytes } from '../producers/eutils/eutils-source.js';
import { sharedNcbiRateLimiter } from '../producers/http/rate-limiter.js';
import type { PubmedEvent } from '../producers/pubmed-xml/parse-pubmed-xml.js';
import type { TopConcept } from './demo-stats.js';
import { countMentions, topConcepts } from './demo-stats.js';
import type { DemoInput, LiveInputOptions } from './live-input.js';
import { checkLiveOptions, fetchLiveCitations } from './live-input.js';
import { renderReportHtml } from './report-html.js';
import { SAMPLE_ARTICLES, sampleArticlesXml } from './sample-articles.js';

export interface DemoOptions {
  outDir: string;
  modelDir?: string;
  progress: boolean;
  log: (line: string) => void;
  /** Try PubMed E-utilities first; false (`--offline`) uses the sample citations directly. */
  live: false | Omit<LiveInputOptions, 'apiKey' | 'tool' | 'email' | 'limiter'>;
  /** Join the stages through this Kafka cluster instead of in-process queues. */
  kafka?: readonly string[];
  /** Also index the results into this OpenSearch (behind OPENSEARCH_INDEX_ALIAS). */
  opensearch?: string;
  /** Also load the results into this Neo4j graph. */
  neo4j?: string;
}

export interface DemoSummary {
  input: DemoInput;
  articles: number;
  /** Records that could not be annotated (dead letters: malformed, too long); not in the outputs. */
  skipped: number;
  mentions: number;
  normalized: number;
  byType: Record<string, number>;
  topConcepts: TopConcept[];
  seconds: number;
  articlesPerSecond: number;
  model: string;
  vocabularyVersion: string;
  outputs: string[];
}

async function* bytes(text: string): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  yield Buffer.from(text, 'utf8');
}

interface ChosenInput {
  input: DemoInput;
  events: AsyncIterable<PubmedEvent>;
  expected: number;
  pubmedLinks: boolean;
}

/**
 * Live PubMed citations when E-utilities answers, otherwise the sample citations written for
 * the project (never the shared data folder: the demo must run from a fresh clone).
 */
async function chooseInput(config: Config, options: DemoOptions): Promise<ChosenInput> {
  const samples = `the ${SAMPLE_ARTICLES.length} sample citations shipped with MedStream`;
  let fallbackReason: string;
  if (options.live === false) {
    fallbackReason = 'live PubMed input skipped (--offline)';
  } else {
    options.log(
      `fetching up to ${options.live.maxArticles} citations of the last ${options.live.days} ` +
        'days from PubMed E-utilities',
    );
    const live = await fetchLiveCitations({
      ...options.live,
      tool: config.NCBI_TOOL,
      ...(config.NCBI_API_KEY === undefined ? {} : { apiKey: config.NCBI_API_KEY }),
      ...(config.NCBI_EMAIL === undefined ? {} : { email: config.NCBI_EMAIL }),
      limiter: sharedNcbiRateLimiter(config.NCBI_API_KEY),
    });
    if (live.ok) {
      const c = live.citations;
      const description =
        `PubMed E-utilities: ${c.articles} of ${c.found} citations with an abstract in ` +
        `English, Entrez date ${c.from} to ${c.to}`;
      options.log(`input: ${description}`);
      return {
        input: { source: 'eutils', description, fallbackReason: null },
        events: parsePubmedXml(pageBytes(c), { source: 'eutils' }),
        expected: c.articles,
        pubmedLinks: true,
      };
    }
    fallbackReason =
      live.kind === 'unreachable'
        ? `PubMed E-utilities not reachable (${live.reason})`
        : `PubMed E-utilities: ${live.reason}`;
  }
  options.log(`${fallbackReason}; using ${samples}`);
  return {
    input: { source: 'samples', description: samples, fallbackReason },
    events: parsePubmedXml(bytes(sampleArticlesXml()), { source: 'medstream-sample' }),
    expected: SAMPLE_ARTICLES.length,
    pubmedLinks: false,
  };
}

/**
 * The main job on one machine: PubMed citations of the last days (or the project's sample
 * citations) → the real XML parser → the in-process processor (served model + dictionary
 * normalizer) → NDJSON, PubTator and an HTML report, and a summary of what was found.
 */
export async function runDemo(config: Config, options: DemoOptions): Promise<DemoSummary> {
  if (options.live !== false) checkLiveOptions(options.live);
  const resolver = await DictionaryMentionResolver.load(
    await ensureDictionary(config, undefined, options.log),
  );
  const annotator = await loadAnnotator(config, {
    ...(options.modelDir === undefined ? {} : { modelDir: options.modelDir }),
    resolver,
    log: options.log,
  });
  const names = resolver.dictionary;
  const sinks = targetSinks(config, options, annotator, conceptLookupFromDictionary(names));
  const records: AnnotatedArticle[] = [];
  let skipped = 0;
  let mentions = 0;
  let bar: cliProgress.SingleBar | undefined;
  try {
    const chosen = await chooseInput(config, options);
    bar = options.progress
      ? new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: 'annotating {bar} {value}/{total} articles | {mentions} mentions',
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    for (const sink of sinks) await sink.start();
    const started = performance.now();
    bar?.start(chosen.expected, 0, { mentions: 0 });
    const annotated: AsyncIterable<AnnotatedEvent> =
      options.kafka === undefined
        ? annotateInProcess(chosen.events, annotator, { maxBatchArticles: 8 })
        : annotateThroughKafka(config, chosen.events, annotator, {
            brokers: options.kafka,
            log: options.log,
          });
    const stored =
      sinks.length === 0 ? annotated : throughSinks(annotated, sinks, { maxRecords: 50 });
    for await (const event of stored) {
      if (event.kind === 'dead-letter') {
        skipped += 1;
        options.log(
          `skipped a record: ${event.record.errorCode}: ${event.record.message}` +
            (event.record.key === null ? '' : ` (PMID ${event.record.key.toString('utf8')})`),
        );
      } else if (event.kind === 'annotated') {
        records.push(event.record);
        mentions += event.record.mentions.length;
      }
      bar?.update(records.length + skipped, { mentions });
    }
    bar?.stop();
    bar = undefined;
    const seconds = (performance.now() - started) / 1000;
    const generatedAt = Date.now();

    await mkdir(options.outDir, { recursive: true });
    const ndjson = join(options.outDir, 'annotations.ndjson');
    const pubtator = join(options.outDir, 'annotations.pubtator');
    const report = join(options.outDir, 'report.html');
    await writeFile(ndjson, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    await writeFile(pubtator, records.map(formatPubTator).join(''));

    const counts = countMentions(records);
    const conceptName = (id: string): string | undefined => names.conceptName(id);
    const top = topConcepts(records, conceptName);
    const model = `${annotator.modelName}@${annotator.modelVersion}`;
    const vocabularyVersion = resolver.vocabularyVersion;
    await writeFile(
      report,
      renderReportHtml({
        input: chosen.input,
        model,
        vocabularyVersion,
        generatedAt,
        seconds,
        records,
        topConcepts: top,
        conceptName,
        pubmedLinks: chosen.pubmedLinks,
        skipped,
      }),
    );
    return {
      input: chosen.input,
      articles: records.length,
      skipped,
      mentions: counts.mentions,
      normalized: counts.normalized,
      byType: counts.byType,
      topConcepts: top,
      seconds,
      articlesPerSecond: records.length / seconds,
      model,
      vocabularyVersion,
      outputs: [ndjson, pubtator, report, ...targetDescriptions(options, sinks)],
    };
  } finally {
    bar?.stop();
    for (const sink of sinks) await sink.close();
    await annotator.close();
  }
}

/** The services named on the command line, as sinks the annotated records pass through. */
function targetSinks(
  config: Config,
  options: DemoOptions,
  model: { modelName: string; modelVersion: string },
  conceptLookup: ReturnType<typeof conceptLookupFromDictionary>,
): Sink[] {
  const sinks: Sink[] = [];
  if (options.opensearch !== undefined) {
    sinks.push(
      createSearchIndexSink({
        ...searchIndexSinkOptionsFromConfig({ ...config, OPENSEARCH_URL: options.opensearch }),
        model: { name: model.modelName, version: model.modelVersion },
        refresh: 'wait_for',
        log: options.log,
      }),
    );
  }
  if (options.neo4j !== undefined) {
    sinks.push(
      createKnowledgeGraphSink({
        ...knowledgeGraphSinkOptionsFromConfig({ ...config, NEO4J_URI: options.neo4j }),
        conceptLookup,
        log: options.log,
      }),
    );
  }
  return sinks;
}

function targetDescriptions(options: DemoOptions, sinks: readonly Sink[]): string[] {
  const out: string[] = [];
  for (const sink of sinks) {
    if (sink instanceof SearchIndexSink && options.opensearch !== undefined) {
      out.push(`${options.opensearch} (index ${sink.index ?? 'not created'})`);
    } else if (options.neo4j !== undefined) {
      out.push(`${options.neo4j} (graph)`);
    }
  }
  return out;
}

export function formatDemoSummary(summary: DemoSummary): string {
  const rows: [string, string][] = [
    ['input', summary.input.description],
    ...(summary.input.fallbackReason === null
      ? []
      : ([['', summary.input.fallbackReason]] as [string, string][])),
    ['model', summary.model],
    ['vocabulary', summary.vocabularyVersion],
    [
      'articles',
      String(summary.articles) +
        (summary.skipped === 0 ? '' : ` (${summary.skipped} records could not be annotated)`),
    ],
    [
      'mentions',
      `${summary.mentions} (${Object.entries(summary.byType)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')})`,
    ],
    ['normalized', `${summary.normalized} of ${summary.mentions} mentions have concept ids`],
    [
      'throughput',
      `${summary.articlesPerSecond.toFixed(1)} articles/s (${summary.seconds.toFixed(2)} s)`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = [
    '',
    'MedStream demo summary',
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
  ];
  lines.push('', '  top concepts (by articles):');
  for (const c of summary.topConcepts) {
    lines.push(
      `    ${String(c.articles).padStart(3)}  ${c.id.padEnd(14)} ${c.type.padEnd(9)} ${c.name ?? ''}`,
    );
  }
  lines.push('', '  outputs:', ...summary.outputs.map((o) => `    ${o}`), '');
  return lines.join('\n');
}
