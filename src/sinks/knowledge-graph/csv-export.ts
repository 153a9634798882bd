import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnnotatedArticle } from '../../codec/records.js';
import { MedStreamError, isMedStreamError } from '../../errors.js';
import { DEFAULT_MAX_PAIRED_CONCEPTS, buildArticleGraph, compareIds } from './graph-model.js';
import type { ConceptLookup, ConceptRow } from './graph-model.js';
import { ExternalPairCounter, PAIR_INDEX_LIMIT, pairKey, splitPairKey } from './pair-counter.js';

/**
 * Bulk export for back-fills: AnnotatedArticles → the four CSV files `neo4j-admin database
 * import full` loads into an empty database, orders of magnitude faster than transactions. The
 * rows come from the same functions as the streaming sink's (graph-model.ts), so the imported
 * graph equals the graph the sink builds from the same articles; afterwards the sink's
 * `start()` creates the constraints and streaming continues on top.
 *
 * Memory: concepts are kept in memory (bounded by the vocabularies, not by the corpus: MeSH,
 * its supplementary concepts and OMIM are well under 10^6 ids, ~200 bytes each); PMIDs seen are
 * a bitset (5 MB for 40M PMIDs); CO_OCCURS counts go through ExternalPairCounter (~130 MB at
 * most, plus run files on disk). Articles and mentions are streamed straight to their files.
 *
 * Input: one record per PMID, as the compacted `pubmed.entities` topic holds them. A PMID seen
 * again is reported to `onRejected` and left out (the first occurrence is exported): send the
 * later record through the streaming sink after the import, where its version orders it.
 */

export const CSV_FILES = Object.freeze({
  articles: 'articles.csv',
  concepts: 'concepts.csv',
  mentions: 'mentions.csv',
  coOccurs: 'co_occurs.csv',
});

export const CSV_HEADERS = Object.freeze({
  articles:
    'pmid:ID(Article),version:long,articleVersion:int,title,modelName,modelVersion,' +
    'publicationDate,pairedConcepts:string[],:LABEL',
  concepts: 'id:ID(Concept),name,type,vocabulary,:LABEL',
  mentions: ':START_ID(Article),:END_ID(Concept),:TYPE,count:int,spans:string[],model',
  coOccurs: ':START_ID(Concept),:END_ID(Concept),:TYPE,articles:int',
});

/** Arrays are one field joined by `;`, neo4j-admin's default array delimiter. */
export const ARRAY_DELIMITER = ';';

/**
 * One CSV field as neo4j-admin reads it: null → an empty unquoted field (no property); a
 * string → always quoted, `"` doubled, so that an empty string stays an empty string and commas
 * need no thought. Line breaks inside a field need `--multiline-fields=true`.
 */
export function csvField(value: string | null): string {
  return value === null ? '' : `"${value.replaceAll('"', '""')}"`;
}

export function csvArray(values: readonly string[]): string {
  return values.length === 0 ? '' : csvField(values.join(ARRAY_DELIMITER));
}

const LINE_BREAK = /[\r\n]/;

export interface ImportArgumentOptions {
  readonly database?: string;
  /** Needed when a field has a line break (the export summary says so). */
  readonly multilineFields?: boolean;
  /** Where the tool lists bad input lines; its default is `import.report` in the working dir. */
  readonly reportFile?: string;
}

/**
 * `neo4j-admin` arguments after the tool name for the files in `dir`:
 * `neo4j-admin database import full neo4j --nodes=… --relationships=…`. The database must be
 * stopped and empty (or pass `--overwrite-destination`).
 */
export function neo4jAdminImportArguments(
  dir: string,
  options: ImportArgumentOptions = {},
): string[] {
  return [
    'database',
    'import',
    'full',
    options.database ?? 'neo4j',
    `--nodes=${join(dir, CSV_FILES.articles)}`,
    `--nodes=${join(dir, CSV_FILES.concepts)}`,
    `--relationships=${join(dir, CSV_FILES.mentions)}`,
    `--relationships=${join(dir, CSV_FILES.coOccurs)}`,
    `--array-delimiter=${ARRAY_DELIMITER}`,
    ...(options.multilineFields === true ? ['--multiline-fields=true'] : []),
    ...(options.reportFile === undefined ? [] : [`--report-file=${options.reportFile}`]),
  ];
}

export interface CsvExportOptions {
  /** Output folder; created if needed. Existing files of the same names are replaced. */
  readonly dir: string;
  readonly conceptLookup: ConceptLookup;
  readonly maxPairedConcepts?: number;
  /**
   * `Article.version` of an exported article. Default −1: below every version the streaming
   * sink sees (Kafka offsets, sequence numbers), so any record streamed after the import wins.
   */
  readonly versionOf?: (article: AnnotatedArticle) => number;
  /**
   * Where the pair counter's run files go (in a new subfolder, removed at the end); default
   * `dir`. Needs up to 12 bytes per pair occurrence: ~9 GB for 36M abstracts at ~20 pairs.
   */
  readonly tempDir?: string;
  /** Pair occurrences buffered in memory before a run file is written. */
  readonly pairChunkEntries?: number;
  /** Articles left out (invalid, or a PMID seen before). Default: none are reported. */
  readonly onRejected?: (pmid: string, error: MedStreamError) => void;
  readonly signal?: AbortSignal;
}

export interface CsvExportSummary {
  readonly articles: number;
  readonly concepts: number;
  readonly mentions: number;
  /** Distinct concept pairs: CO_OCCURS relationships. */
  readonly coOccurrences: number;
  /** Sum of CO_OCCURS `articles`. */
  readonly pairOccurrences: number;
  readonly skippedPairs: number;
  readonly rejected: number;
  /** Run files the pair counter wrote (0: the pairs fitted in memory). */
  readonly pairRuns: number;
  /** A field has a line break: import with `--multiline-fields=true`. */
  readonly multilineFields: boolean;
  readonly importArguments: readonly string[];
}

/** A file written through a string buffer, honouring the stream's backpressure. */
class CsvFile {
  private readonly stream: WriteStream;
  private buffer = '';
  private failure: Error | undefined;

  constructor(path: string, header: string) {
    this.stream = createWriteStream(path);
    this.stream.on('error', (error) => {
      this.failure = error;
    });
    this.buffer = `${header}\n`;
  }

  async line(text: string): Promise<void> {
    this.buffer += `${text}\n`;
    if (this.buffer.length >= 1 << 16) await this.flush();
  }

  private async flush(): Promise<void> {
    this.check();
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
    this.check();
  }

  private check(): void {
    if (this.failure !== undefined) {
      throw new MedStreamError(
        'OUTPUT_WRITE_FAILED',
        `writing ${String(this.stream.path)}: ${this.failure.message}`,
        { cause: this.failure },
      );
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await once(this.stream, 'finish');
    this.check();
  }

  destroy(): void {
    this.stream.destroy();
  }
}

/**
 * PMIDs seen: a growable bitset below 2^27 (PubMed's PMIDs are below 5·10^7; 16 MiB at most),
 * a Set for anything larger.
 */
class PmidSet {
  private bits = new Uint8Array(1 << 20);
  private readonly others = new Set<string>();

  /** Adds `pmid`; false when it was there already. */
  add(pmid: string): boolean {
    const n = Number(pmid);
    if (!Number.isSafeInteger(n) || n >= 2 ** 27) {
      if (this.others.has(pmid)) return false;
      this.others.add(pmid);
      return true;
    }
    const byte = Math.floor(n / 8);
    if (byte >= this.bits.length) {
      let size = this.bits.length;
      while (size <= byte) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (n % 8);
    if ((this.bits[byte] & mask) !== 0) return false;
    this.bits[byte] |= mask;
    return true;
  }
}

interface ConceptEntry {
  readonly index: number;
  readonly row: ConceptRow;
}

export async function exportKnowledgeGraphCsv(
  articles: AsyncIterable<AnnotatedArticle> | Iterable<AnnotatedArticle>,
  options: CsvExportOptions,
): Promise<CsvExportSummary> {
  const maxPairedConcepts = options.maxPairedConcepts ?? DEFAULT_MAX_PAIRED_CONCEPTS;
  const versionOf = options.versionOf ?? (() => -1);
  await mkdir(options.dir, { recursive: true });
  const tempParent = options.tempDir ?? options.dir;
  await mkdir(tempParent, { recursive: true });
  const counter = new ExternalPairCounter({
    dir: await mkdtemp(join(tempParent, '.co-occurs-')),
    ...(options.pairChunkEntries === undefined ? {} : { chunkEntries: options.pairChunkEntries }),
  });
  const files = {
    articles: new CsvFile(join(options.dir, CSV_FILES.articles), CSV_HEADERS.articles),
    mentions: new CsvFile(join(options.dir, CSV_FILES.mentions), CSV_HEADERS.mentions),
    concepts: new CsvFile(join(options.dir, CSV_FILES.concepts), CSV_HEADERS.concepts),
    coOccurs: new CsvFile(join(options.dir, CSV_FILES.coOccurs), CSV_HEADERS.coOccurs),
  };
  const concepts = new Map<string, ConceptEntry>();
  const conceptIds: string[] = [];
  const seen = new PmidSet();
  let exported = 0;
  let mentions = 0;
  let skippedPairs = 0;
  let rejected = 0;
  let multilineFields = false;
  const field = (value: string | null) => {
    if (value !== null && LINE_BREAK.test(value)) multilineFields = true;
    return csvField(value);
  };
  const reject = (pmid: string, error: MedStreamError) => {
    rejected += 1;
    options.onRejected?.(pmid, error);
  };

  try {
    for await (const article of articles) {
      options.signal?.throwIfAborted();
      let graph;
      try {
        graph = buildArticleGraph(article, options.conceptLookup, maxPairedConcepts);
      } catch (error) {
        if (!isMedStreamError(error) || error.code !== 'SINK_REJECTED') throw error;
        reject(article.pmid, error);
        continue;
      }
      if (!seen.add(graph.pmid)) {
        reject(
          graph.pmid,
          new MedStreamError(
            'SINK_REJECTED',
            `PMID ${graph.pmid} occurs again in the export input; its first record was exported ` +
              '(stream this one through the graph sink after the import)',
            { details: { pmid: graph.pmid } },
          ),
        );
        continue;
      }
      const version = versionOf(article);
      if (!Number.isSafeInteger(version)) {
        throw new MedStreamError('INTERNAL', `versionOf(${graph.pmid}) is not an integer`);
      }
      for (const row of graph.concepts) {
        if (concepts.has(row.id)) continue;
        if (conceptIds.length === PAIR_INDEX_LIMIT) {
          throw new MedStreamError(
            'SINK_REJECTED',
            `more than ${PAIR_INDEX_LIMIT} distinct concepts: the export's pair encoding is full`,
          );
        }
        concepts.set(row.id, { index: conceptIds.length, row });
        conceptIds.push(row.id);
      }
      await files.articles.line(
        [
          field(graph.pmid),
          String(version),
          String(graph.articleVersion),
          field(graph.title),
          field(graph.modelName),
          field(graph.modelVersion),
          field(graph.publicationDate),
          csvArray(graph.pairedConcepts),
          'Article',
        ].join(','),
      );
      for (const mention of graph.mentions) {
        await files.mentions.line(
          [
            field(graph.pmid),
            field(mention.concept),
            'MENTIONS',
            String(mention.count),
            csvArray(mention.spans),
            field(graph.model),
          ].join(','),
        );
      }
      mentions += graph.mentions.length;
      const indices = graph.pairedConcepts.map((id) => concepts.get(id)?.index ?? -1);
      const keys: number[] = [];
      for (let i = 0; i < indices.length; i += 1) {
        for (let j = i + 1; j < indices.length; j += 1) keys.push(pairKey(indices[i], indices[j]));
      }
      await counter.add(keys);
      skippedPairs += graph.skippedPairs;
      exported += 1;
    }

    for (const id of [...conceptIds].sort(compareIds)) {
      const row = concepts.get(id)?.row;
      if (row === undefined) continue;
      await files.concepts.line(
        [field(row.id), field(row.name), field(row.type), field(row.vocabulary), 'Concept'].join(
          ',',
        ),
      );
    }
    let coOccurrences = 0;
    let pairOccurrences = 0;
    for await (const batch of counter.counts()) {
      options.signal?.throwIfAborted();
      for (let i = 0; i < batch.length; i += 1) {
        const [start, end] = splitPairKey(batch.keys[i]);
        await files.coOccurs.line(
          `${field(conceptIds[start])},${field(conceptIds[end])},CO_OCCURS,${batch.counts[i]}`,
        );
        coOccurrences += 1;
        pairOccurrences += batch.counts[i];
      }
    }
    for (const file of Object.values(files)) await file.close();
    return {
      articles: exported,
      concepts: conceptIds.length,
      mentions,
      coOccurrences,
      pairOccurrences,
      skippedPairs,
      rejected,
      pairRuns: counter.runCount,
      multilineFields,
      importArguments: neo4jAdminImportArguments(options.dir, { multilineFields }),
    };
  } catch (error) {
    for (const file of Object.values(files)) file.destroy();
    throw error;
  } finally {
    await counter.dispose();
  }
}
