import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import type { AnnotatedArticle } from '../codec/records.js';
import type { Config } from '../config/config.js';
import { ensureDictionary, loadAnnotator } from '../processors/annotation/load-annotator.js';
import { annotateInProcess } from '../processors/in-process.js';
import { DictionaryMentionResolver } from '../processors/normalization/mention-resolver.js';
import { parsePubmedXml } from '../producers/pubmed-xml/parse-pubmed-xml.js';
import { formatPubTator } from '../sinks/files/pubtator-format.js';
import { SAMPLE_ARTICLES, sampleArticlesXml } from './sample-articles.js';

export interface DemoOptions {
  outDir: string;
  modelDir?: string;
  progress: boolean;
  log: (line: string) => void;
}

export interface DemoSummary {
  articles: number;
  mentions: number;
  normalized: number;
  byType: Record<string, number>;
  topConcepts: { id: string; name: string | null; type: string; articles: number }[];
  seconds: number;
  articlesPerSecond: number;
  model: string;
  outputs: string[];
}

async function* bytes(text: string): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  yield Buffer.from(text, 'utf8');
}

/**
 * The main job on one machine: the project's sample citations → the real XML parser → the
 * in-process processor (served model + dictionary normalizer) → NDJSON and PubTator files,
 * and a summary of what was found.
 */
export async function runDemo(config: Config, options: DemoOptions): Promise<DemoSummary> {
  options.log(
    `input: the ${SAMPLE_ARTICLES.length} sample citations shipped with MedStream ` +
      '(continuous PubMed ingestion: `medstream ingest eutils|files`)',
  );
  const resolver = await DictionaryMentionResolver.load(
    await ensureDictionary(config, undefined, options.log),
  );
  const annotator = await loadAnnotator(config, {
    ...(options.modelDir === undefined ? {} : { modelDir: options.modelDir }),
    resolver,
    log: options.log,
  });
  const names = resolver.dictionary;
  const bar = options.progress
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: 'annotating {bar} {value}/{total} articles | {mentions} mentions',
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const records: AnnotatedArticle[] = [];
  const started = performance.now();
  let mentions = 0;
  bar?.start(SAMPLE_ARTICLES.length, 0, { mentions: 0 });
  try {
    const events = parsePubmedXml(bytes(sampleArticlesXml()), { source: 'medstream-sample' });
    for await (const event of annotateInProcess(events, annotator, { maxBatchArticles: 8 })) {
      if (event.kind !== 'annotated') continue;
      records.push(event.record);
      mentions += event.record.mentions.length;
      bar?.update(records.length, { mentions });
    }
  } finally {
    bar?.stop();
    await annotator.close();
  }
  const seconds = (performance.now() - started) / 1000;

  await mkdir(options.outDir, { recursive: true });
  const ndjson = join(options.outDir, 'annotations.ndjson');
  const pubtator = join(options.outDir, 'annotations.pubtator');
  await writeFile(ndjson, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  await writeFile(pubtator, records.map(formatPubTator).join(''));

  const byType: Record<string, number> = {};
  const concepts = new Map<string, { type: string; pmids: Set<string> }>();
  let normalized = 0;
  for (const record of records) {
    for (const m of record.mentions) {
      byType[m.type] = (byType[m.type] ?? 0) + 1;
      if (m.ids.length > 0) normalized += 1;
      for (const id of m.ids) {
        const entry = concepts.get(id) ?? { type: m.type, pmids: new Set<string>() };
        entry.pmids.add(record.pmid);
        concepts.set(id, entry);
      }
    }
  }
  const topConcepts = [...concepts]
    .sort((a, b) => b[1].pmids.size - a[1].pmids.size || a[0].localeCompare(b[0]))
    .slice(0, 10)
    .map(([id, c]) => ({
      id,
      name: names.conceptName(id) ?? null,
      type: c.type,
      articles: c.pmids.size,
    }));
  return {
    articles: records.length,
    mentions,
    normalized,
    byType,
    topConcepts,
    seconds,
    articlesPerSecond: records.length / seconds,
    model: `${annotator.modelName}@${annotator.modelVersion}`,
    outputs: [ndjson, pubtator],
  };
}

export function formatDemoSummary(summary: DemoSummary): string {
  const rows: [string, string][] = [
    ['model', summary.model],
    ['articles', String(summary.articles)],
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
