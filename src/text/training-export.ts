import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { once } from 'node:events';
import { MedStreamError } from '../errors.js';
import { addPubTatorStats, emptyPubTatorStats, readPubTatorFile } from './pubtator-reader.js';
import type { PubTatorDocument, PubTatorMention, PubTatorStats } from './pubtator-reader.js';
import { sentencesFromTokens } from './sentence-splitter.js';
import type { Sentence } from './sentence-splitter.js';
import { encodeSpans } from './tag-scheme.js';
import type { TagScheme, TokenSpan } from './tag-scheme.js';
import { TOKENIZER_VERSION, tokenize } from './tokenizer.js';
import type { Token } from './tokenizer.js';

/**
 * Training-data export: PubTator corpora → token JSONL that the Python trainers read as is
 * (architecture.md, "One tokenizer": Python never tokenizes raw text). One line per sentence:
 *
 * ```
 * { pmid, doc_index, sentence_index, text_start, text_end, text,
 *   tokens: [...], offsets: [[s, e], ...],              // offsets into title + " " + abstract
 *   tags: [...],                                          // MER, all entity types merged
 *   men_tags: [...], concept_ids: [[...], ...],           // MEN, same spans as `tags`
 *   tags_by_type: { Disease: [...], ... },                // MER per type (resolved per type)
 *   men_tags_by_type: { Disease: [...], ... },
 *   mentions: [{ start, end, text, type, source_type, ids, token_start, token_end, aligned,
 *                in_tags }] }
 * ```
 *
 * Conventions the trainers rely on:
 * - MER labels are entity types (`Disease`, `Chemical`): `B-Disease`, `I-Chemical`, `O` (BIOES
 *   adds `E-`/`S-`). NCBI's SpecificDisease/DiseaseClass/Modifier/CompositeMention are all
 *   `Disease` (kept in `source_type`).
 * - MEN labels are concept labels: the mention's CURIEs joined by its composite joiner
 *   (`MESH:D054549`, `MESH:D058186|MESH:D017093`, `MESH:D015862+MESH:D058499`), `NIL` for a
 *   mention without an ID (`-1`); in tag form `B-MESH:D054549`.
 * - A mention whose offsets fall inside a token is expanded to the enclosing tokens (counted as
 *   misaligned); one that crosses a sentence boundary is dropped (counted) so that training
 *   sentences are exactly what the processors will see; overlapping mentions are resolved
 *   greedily (earliest start, then longest, then file order) and the losers dropped (counted),
 *   separately for the merged tags and for each type.
 * - An exact duplicate document (same PMID, text and mentions: NCBI train 8528200) is exported
 *   once and counted; a same-PMID document that differs is kept and counted as a conflict.
 */
export const EXPORT_FORMAT_VERSION = 1;

export type CorpusName = 'ncbi-disease' | 'bc5cdr';
export type SplitName = 'train' | 'dev' | 'test';

export const CORPUS_NAMES: readonly CorpusName[] = ['ncbi-disease', 'bc5cdr'];
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'dev', 'test'];
export const NIL_LABEL = 'NIL';

interface CorpusSpec {
  /** Paths relative to the data root. */
  readonly files: Readonly<Record<SplitName, string>>;
  /** Corpus type column → MER entity type. */
  readonly entityType: (sourceType: string) => string;
}

const CORPORA: Readonly<Record<CorpusName, CorpusSpec>> = {
  'ncbi-disease': {
    files: {
      train: 'corpora/ncbi-disease/NCBItrainset_corpus.txt',
      dev: 'corpora/ncbi-disease/NCBIdevelopset_corpus.txt',
      test: 'corpora/ncbi-disease/NCBItestset_corpus.txt',
    },
    entityType: () => 'Disease',
  },
  bc5cdr: {
    files: {
      train: 'corpora/bc5cdr/CDR_TrainingSet.PubTator.txt',
      dev: 'corpora/bc5cdr/CDR_DevelopmentSet.PubTator.txt',
      test: 'corpora/bc5cdr/CDR_TestSet.PubTator.txt',
    },
    entityType: (type) => type,
  },
};

/** Absolute path of a corpus split under the data root. */
export function corpusFile(dataRoot: string, corpus: CorpusName, split: SplitName): string {
  return join(dataRoot, CORPORA[corpus].files[split]);
}

/** MER entity type for a corpus' type column. */
export function entityTypeOf(corpus: CorpusName, sourceType: string): string {
  return CORPORA[corpus].entityType(sourceType);
}

/** MEN concept label of a mention (see module comment). */
export function conceptLabel(mention: Pick<PubTatorMention, 'ids' | 'idJoiner'>): string {
  if (mention.ids.length === 0) return NIL_LABEL;
  return mention.ids.join(mention.idJoiner ?? '|');
}

export interface ExportedMention {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly type: string;
  readonly source_type: string;
  readonly ids: readonly string[];
  readonly concept: string;
  /** Token range within the sentence, [token_start, token_end). */
  readonly token_start: number;
  readonly token_end: number;
  /** Whether start and end fall on token boundaries (else expanded to enclosing tokens). */
  readonly aligned: boolean;
  /** Whether it survived overlap resolution for the merged `tags`. */
  readonly in_tags: boolean;
}

/** One JSONL line. */
export interface TrainingSentence {
  readonly pmid: string;
  readonly doc_index: number;
  readonly sentence_index: number;
  readonly text_start: number;
  readonly text_end: number;
  readonly text: string;
  readonly tokens: readonly string[];
  readonly offsets: readonly (readonly [number, number])[];
  readonly tags: readonly string[];
  readonly men_tags: readonly string[];
  readonly concept_ids: readonly (readonly string[])[];
  readonly tags_by_type: Readonly<Record<string, readonly string[]>>;
  readonly men_tags_by_type: Readonly<Record<string, readonly string[]>>;
  readonly mentions: readonly ExportedMention[];
}

/** Alignment/resolution counts for the exported documents of one split. */
export interface AlignmentCounts {
  sentences: number;
  tokens: number;
  mentions: number;
  /** Start or end inside a token: expanded to the enclosing tokens. */
  misaligned: number;
  /** Covering no token at all (whitespace only): dropped. */
  noTokens: number;
  /** Spanning two or more sentences: dropped. */
  crossingSentences: number;
  /** Lost in the merged (all types) overlap resolution. */
  overlapDropped: number;
  /** Lost in the per-type overlap resolution, by type. */
  overlapDroppedByType: Record<string, number>;
}

export function emptyAlignmentCounts(): AlignmentCounts {
  return {
    sentences: 0,
    tokens: 0,
    mentions: 0,
    misaligned: 0,
    noTokens: 0,
    crossingSentences: 0,
    overlapDropped: 0,
    overlapDroppedByType: {},
  };
}

interface Placed {
  readonly mention: PubTatorMention;
  readonly type: string;
  readonly concept: string;
  readonly sentence: number;
  /** Token range within the sentence. */
  readonly tokenStart: number;
  readonly tokenEnd: number;
  readonly aligned: boolean;
  readonly order: number;
}

/** Index of the first token whose end is after `offset` (tokens sorted, non-overlapping). */
function firstTokenEndingAfter(tokens: readonly Token[], offset: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (tokens[mid].end <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first token starting at or after `offset`. */
function firstTokenStartingAtOrAfter(tokens: readonly Token[], offset: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (tokens[mid].start < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Greedy non-overlapping selection within each sentence (see module comment for the order). */
function resolveOverlaps(placed: readonly Placed[]): { kept: Placed[]; dropped: number } {
  const sorted = [...placed].sort(
    (a, b) =>
      a.sentence - b.sentence ||
      a.tokenStart - b.tokenStart ||
      b.tokenEnd - b.tokenStart - (a.tokenEnd - a.tokenStart) ||
      a.order - b.order,
  );
  const kept: Placed[] = [];
  let dropped = 0;
  let lastSentence = -1;
  let lastEnd = 0;
  for (const p of sorted) {
    if (p.sentence === lastSentence && p.tokenStart < lastEnd) {
      dropped += 1;
      continue;
    }
    kept.push(p);
    lastSentence = p.sentence;
    lastEnd = p.tokenEnd;
  }
  return { kept, dropped };
}

/**
 * Turns one document into training sentences (pure; the file export and the tests use it).
 * Sentences are split with a forced break after the title, as the processors do.
 */
export function documentToSentences(
  doc: PubTatorDocument,
  options: { corpus: CorpusName; scheme: TagScheme; docIndex: number },
  counts: AlignmentCounts = emptyAlignmentCounts(),
): TrainingSentence[] {
  const tokens = tokenize(doc.text);
  const sentences = sentencesFromTokens(doc.text, tokens, { breaks: [doc.title.length] });
  counts.sentences += sentences.length;
  counts.tokens += tokens.length;
  // First global token index of each sentence, to map token ranges to sentences.
  const firstToken: number[] = [];
  let running = 0;
  for (const s of sentences) {
    firstToken.push(running);
    running += s.tokens.length;
  }
  const sentenceOf = (tokenIndex: number): number => {
    let lo = 0;
    let hi = sentences.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (firstToken[mid] <= tokenIndex) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };

  const placed: Placed[] = [];
  doc.mentions.forEach((mention, order) => {
    counts.mentions += 1;
    const first = firstTokenEndingAfter(tokens, mention.start);
    const lastToken = firstTokenStartingAtOrAfter(tokens, mention.end) - 1;
    if (first >= tokens.length || lastToken < first) {
      counts.noTokens += 1;
      return;
    }
    const aligned = tokens[first].start === mention.start && tokens[lastToken].end === mention.end;
    if (!aligned) counts.misaligned += 1;
    const sentence = sentenceOf(first);
    if (sentenceOf(lastToken) !== sentence) {
      counts.crossingSentences += 1;
      return;
    }
    placed.push({
      mention,
      type: entityTypeOf(options.corpus, mention.type),
      concept: conceptLabel(mention),
      sentence,
      tokenStart: first - firstToken[sentence],
      tokenEnd: lastToken + 1 - firstToken[sentence],
      aligned,
      order,
    });
  });

  const merged = resolveOverlaps(placed);
  counts.overlapDropped += merged.dropped;
  const inTags = new Set(merged.kept);
  const types = [...new Set(placed.map((p) => p.type))].sort();
  const perType = new Map<string, Placed[]>();
  for (const type of types) {
    const resolved = resolveOverlaps(placed.filter((p) => p.type === type));
    perType.set(type, resolved.kept);
    if (resolved.dropped > 0) {
      counts.overlapDroppedByType[type] =
        (counts.overlapDroppedByType[type] ?? 0) + resolved.dropped;
    }
  }

  return sentences.map((sentence, index) =>
    buildSentence(doc, sentence, index, options, {
      placed: placed.filter((p) => p.sentence === index),
      merged: merged.kept.filter((p) => p.sentence === index),
      perType: new Map(
        [...perType].map(([type, kept]) => [type, kept.filter((p) => p.sentence === index)]),
      ),
      inTags,
      types,
    }),
  );
}

function buildSentence(
  doc: PubTatorDocument,
  sentence: Sentence,
  index: number,
  options: { scheme: TagScheme; docIndex: number },
  m: {
    placed: readonly Placed[];
    merged: readonly Placed[];
    perType: ReadonlyMap<string, readonly Placed[]>;
    inTags: ReadonlySet<Placed>;
    types: readonly string[];
  },
): TrainingSentence {
  const n = sentence.tokens.length;
  const span = (p: Placed, label: string): TokenSpan => ({
    start: p.tokenStart,
    end: p.tokenEnd,
    label,
  });
  const conceptIds: string[][] = Array.from({ length: n }, () => []);
  for (const p of m.merged) {
    for (let k = p.tokenStart; k < p.tokenEnd; k += 1) conceptIds[k] = [...p.mention.ids];
  }
  const tagsByType: Record<string, string[]> = {};
  const menTagsByType: Record<string, string[]> = {};
  for (const type of m.types) {
    const kept = m.perType.get(type) ?? [];
    tagsByType[type] = encodeSpans(
      n,
      kept.map((p) => span(p, p.type)),
      options.scheme,
    );
    menTagsByType[type] = encodeSpans(
      n,
      kept.map((p) => span(p, p.concept)),
      options.scheme,
    );
  }
  return {
    pmid: doc.pmid,
    doc_index: options.docIndex,
    sentence_index: index,
    text_start: sentence.start,
    text_end: sentence.end,
    text: doc.text.slice(sentence.start, sentence.end),
    tokens: sentence.tokens.map((t) => t.text),
    offsets: sentence.tokens.map((t) => [t.start, t.end] as const),
    tags: encodeSpans(
      n,
      m.merged.map((p) => span(p, p.type)),
      options.scheme,
    ),
    men_tags: encodeSpans(
      n,
      m.merged.map((p) => span(p, p.concept)),
      options.scheme,
    ),
    concept_ids: conceptIds,
    tags_by_type: tagsByType,
    men_tags_by_type: menTagsByType,
    mentions: [...m.placed]
      .sort((a, b) => a.tokenStart - b.tokenStart || a.order - b.order)
      .map((p) => ({
        start: p.mention.start,
        end: p.mention.end,
        text: p.mention.text,
        type: p.type,
        source_type: p.mention.type,
        ids: p.mention.ids,
        concept: p.concept,
        token_start: p.tokenStart,
        token_end: p.tokenEnd,
        aligned: p.aligned,
        in_tags: m.inTags.has(p),
      })),
  };
}

/** Per-split section of summary.json. */
export interface SplitSummary {
  file: string;
  sha256: string;
  output: string;
  documents_read: number;
  documents: number;
  duplicate_documents_dropped: number;
  conflicting_duplicate_pmids: string[];
  sentences: number;
  tokens: number;
  mentions_read: number;
  mentions_read_by_type: Record<string, number>;
  mentions: number;
  mentions_by_entity_type: Record<string, number>;
  text_mismatches: number;
  text_mismatches_whitespace_only: number;
  mentions_without_id: number;
  composite_id_mentions: number;
  relations: number;
  misaligned_mentions: number;
  misaligned_rate: number;
  mentions_without_tokens: number;
  mentions_crossing_sentences: number;
  overlapping_mentions_dropped: number;
  overlapping_mentions_dropped_by_type: Record<string, number>;
  concept_labels: number;
}

export interface ExportSummary {
  format_version: number;
  tokenizer_version: string;
  corpus: CorpusName;
  scheme: TagScheme;
  offsets: string;
  entity_types: string[];
  nil_label: string;
  handling: Record<string, string>;
  pmids_in_several_splits: string[];
  splits: Partial<Record<SplitName, SplitSummary>>;
}

export interface ExportOptions {
  readonly dataRoot: string;
  readonly corpus: CorpusName;
  readonly splits: readonly SplitName[];
  readonly scheme: TagScheme;
  readonly outDir: string;
}

/** Content fingerprint used to tell an exact duplicate document from a conflicting one. */
function fingerprint(doc: PubTatorDocument): string {
  const hash = createHash('sha256').update(doc.text);
  for (const m of doc.mentions) hash.update(`\n${m.start}\t${m.end}\t${m.type}\t${m.rawIds}`);
  return hash.digest('hex');
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Exports the given splits of a corpus to `outDir/<split>.jsonl` plus `outDir/summary.json`.
 * Files are written under a temporary name and renamed when complete, so a reader never sees a
 * half-written export.
 */
export async function exportTraining(options: ExportOptions): Promise<ExportSummary> {
  await mkdir(options.outDir, { recursive: true });
  const summary: ExportSummary = {
    format_version: EXPORT_FORMAT_VERSION,
    tokenizer_version: TOKENIZER_VERSION,
    corpus: options.corpus,
    scheme: options.scheme,
    offsets: 'UTF-16 code units into title + " " + abstract (document offsets, not sentence)',
    entity_types: [],
    nil_label: NIL_LABEL,
    handling: {
      misaligned: 'expanded to the enclosing tokens (aligned=false), counted',
      crossing_sentences: 'dropped, counted',
      overlapping: 'greedy: earliest start, then longest, then file order; losers dropped, counted',
      duplicate_documents: 'exact duplicates exported once, counted; differing ones kept',
      mentions_without_id: `kept; MEN label ${NIL_LABEL}`,
    },
    pmids_in_several_splits: [],
    splits: {},
  };
  const entityTypes = new Set<string>();
  const pmidSplits = new Map<string, Set<SplitName>>();
  for (const split of options.splits) {
    const path = corpusFile(options.dataRoot, options.corpus, split);
    const result = await exportSplit(options, split, path, entityTypes);
    for (const pmid of result.pmids) {
      const seen = pmidSplits.get(pmid) ?? new Set<SplitName>();
      seen.add(split);
      pmidSplits.set(pmid, seen);
    }
    summary.splits[split] = result.summary;
  }
  summary.entity_types = [...entityTypes].sort();
  summary.pmids_in_several_splits = [...pmidSplits]
    .filter(([, splits]) => splits.size > 1)
    .map(([pmid]) => pmid)
    .sort();
  const summaryPath = join(options.outDir, 'summary.json');
  await writeFile(`${summaryPath}.tmp`, `${JSON.stringify(summary, null, 2)}\n`);
  await rename(`${summaryPath}.tmp`, summaryPath);
  return summary;
}

async function exportSplit(
  options: ExportOptions,
  split: SplitName,
  path: string,
  entityTypes: Set<string>,
): Promise<{ summary: SplitSummary; pmids: Set<string> }> {
  const outPath = join(options.outDir, `${split}.jsonl`);
  const tmpPath = `${outPath}.tmp`;
  const out = createWriteStream(tmpPath, { encoding: 'utf8' });
  const stats: PubTatorStats = emptyPubTatorStats();
  const counts = emptyAlignmentCounts();
  const seenPmids = new Set<string>();
  const fingerprints = new Map<string, string[]>();
  const conflicts = new Set<string>();
  const mentionsByEntityType: Record<string, number> = {};
  const concepts = new Set<string>();
  let duplicates = 0;
  let documents = 0;
  try {
    for await (const doc of readPubTatorFile(path)) {
      addPubTatorStats(stats, doc, seenPmids);
      const print = fingerprint(doc);
      const prints = fingerprints.get(doc.pmid) ?? [];
      if (prints.includes(print)) {
        duplicates += 1;
        continue;
      }
      if (prints.length > 0) conflicts.add(doc.pmid);
      prints.push(print);
      fingerprints.set(doc.pmid, prints);
      for (const m of doc.mentions) {
        const type = entityTypeOf(options.corpus, m.type);
        entityTypes.add(type);
        mentionsByEntityType[type] = (mentionsByEntityType[type] ?? 0) + 1;
        concepts.add(conceptLabel(m));
      }
      const docCounts = emptyAlignmentCounts();
      const sentences = documentToSentences(
        doc,
        { corpus: options.corpus, scheme: options.scheme, docIndex: documents },
        docCounts,
      );
      mergeCounts(counts, docCounts);
      documents += 1;
      for (const sentence of sentences) {
        if (!out.write(`${JSON.stringify(sentence)}\n`)) await once(out, 'drain');
      }
    }
    out.end();
    await once(out, 'finish');
    await rename(tmpPath, outPath);
  } catch (error) {
    out.destroy();
    await rm(tmpPath, { force: true });
    throw error;
  }
  if (documents === 0) {
    throw new MedStreamError('PUBTATOR_MALFORMED', `no documents in ${path}`, {
      details: { path },
    });
  }
  return {
    pmids: seenPmids,
    summary: {
      file: relative(options.dataRoot, path),
      sha256: await sha256File(path),
      output: `${split}.jsonl`,
      documents_read: stats.documents,
      documents,
      duplicate_documents_dropped: duplicates,
      conflicting_duplicate_pmids: [...conflicts].sort(),
      sentences: counts.sentences,
      tokens: counts.tokens,
      mentions_read: stats.mentions,
      mentions_read_by_type: stats.mentionsByType,
      mentions: counts.mentions,
      mentions_by_entity_type: mentionsByEntityType,
      text_mismatches: stats.textMismatches,
      text_mismatches_whitespace_only: stats.whitespaceOnlyMismatches,
      mentions_without_id: stats.mentionsWithoutId,
      composite_id_mentions: stats.compositeIdMentions,
      relations: stats.relations,
      misaligned_mentions: counts.misaligned,
      misaligned_rate: counts.mentions === 0 ? 0 : counts.misaligned / counts.mentions,
      mentions_without_tokens: counts.noTokens,
      mentions_crossing_sentences: counts.crossingSentences,
      overlapping_mentions_dropped: counts.overlapDropped,
      overlapping_mentions_dropped_by_type: counts.overlapDroppedByType,
      concept_labels: concepts.size,
    },
  };
}

function mergeCounts(into: AlignmentCounts, from: AlignmentCounts): void {
  into.sentences += from.sentences;
  into.tokens += from.tokens;
  into.mentions += from.mentions;
  into.misaligned += from.misaligned;
  into.noTokens += from.noTokens;
  into.crossingSentences += from.crossingSentences;
  into.overlapDropped += from.overlapDropped;
  for (const [type, n] of Object.entries(from.overlapDroppedByType)) {
    into.overlapDroppedByType[type] = (into.overlapDroppedByType[type] ?? 0) + n;
  }
}
