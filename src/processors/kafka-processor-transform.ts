import type { IHeaders } from 'kafkajs';
import type { AvroCodec } from '../codec/avro-codec.js';
import type { AnnotatedArticle, Article, DeadLetter } from '../codec/records.js';
import { articleText, toDeadLetter } from '../codec/records.js';
import type { ErrorCode } from '../errors.js';
import { MedStreamError, isMedStreamError } from '../errors.js';
import type { Annotator } from './annotation/annotator.js';

/**
 * The processor's transform, independent of Kafka: classify each input record (article,
 * tombstone or poison), annotate the articles of a micro-batch in one call, and build the
 * output records in input order. The Kafka stage wraps one such batch in one transaction.
 *
 * Poison records never fail the batch: a value that is not an Article, a missing key, a key
 * that is not the article's PMID, a text longer than the annotator accepts, or an annotation
 * that does not encode becomes a dead letter with the original bytes. Only failures of the
 * batch as a whole (the annotator throws, breaks its contract) propagate.
 */

export const PROCESSOR_STAGE = 'processor';

/** Dead letters keep at most this many bytes of the original value. */
export const DEFAULT_MAX_DEAD_LETTER_VALUE_BYTES = 64 * 1024;

/** A consumed record, as the transport hands it over. */
export interface InputRecord {
  topic: string;
  partition: number;
  /** Kafka offset, decimal. */
  offset: string;
  key: Buffer | null;
  /** Null: a deletion tombstone. */
  value: Buffer | null;
  /** Record headers (the producer's W3C trace context among them), when the transport has them. */
  headers?: IHeaders;
}

export type ClassifiedRecord =
  | { kind: 'article'; input: InputRecord; pmid: string; article: Article; chars: number }
  | { kind: 'tombstone'; input: InputRecord; pmid: string }
  | { kind: 'poison'; input: InputRecord; error: MedStreamError };

export interface ClassifyOptions {
  articleCodec: AvroCodec<Article>;
  maxTextChars: number;
}

export function classifyRecord(input: InputRecord, options: ClassifyOptions): ClassifiedRecord {
  const pmid = input.key === null ? '' : input.key.toString('utf8');
  if (pmid.length === 0) {
    return poison(input, 'RECORD_KEY_MISSING', 'record has no key (PMID)');
  }
  if (input.value === null) return { kind: 'tombstone', input, pmid };
  let article: Article;
  try {
    article = options.articleCodec.decode(input.value);
  } catch (error) {
    if (isMedStreamError(error)) return { kind: 'poison', input, error };
    throw error;
  }
  if (article.pmid !== pmid) {
    return poison(input, 'RECORD_INVALID', `key ${pmid} is not the article's PMID ${article.pmid}`);
  }
  const chars = articleText(article).length;
  if (chars > options.maxTextChars) {
    return poison(
      input,
      'RECORD_TOO_LARGE',
      `text of PMID ${pmid} has ${chars} characters; the annotator accepts at most ${options.maxTextChars}`,
    );
  }
  return { kind: 'article', input, pmid, article, chars };
}

function poison(input: InputRecord, code: ErrorCode, message: string): ClassifiedRecord {
  return { kind: 'poison', input, error: new MedStreamError(code, message) };
}

/** Micro-batch weight: the text the annotator will see. */
export function recordWeight(record: ClassifiedRecord): number {
  return record.kind === 'article' ? record.chars : 0;
}

export interface MicroBatchLimits {
  maxItems: number;
  /** Text characters; a batch closes once it reaches this (one record may cross it). */
  maxChars: number;
}

/**
 * Cuts already-fetched records into micro-batches by count and text size, lazily: a batch is
 * classified (decoded) only when it is pulled, so memory holds one batch of decoded articles.
 * The time bound lives one level up, in the fetch (`maxWaitTimeInMs`): a fetched batch is
 * complete, so nothing here waits.
 */
export function* cutMicroBatches(
  records: Iterable<ClassifiedRecord>,
  limits: MicroBatchLimits,
): Generator<ClassifiedRecord[], void, undefined> {
  let batch: ClassifiedRecord[] = [];
  let chars = 0;
  for (const record of records) {
    batch.push(record);
    chars += recordWeight(record);
    if (batch.length >= limits.maxItems || chars >= limits.maxChars) {
      yield batch;
      batch = [];
      chars = 0;
    }
  }
  if (batch.length > 0) yield batch;
}

export interface OutputMessage {
  key: Buffer | string | null;
  value: Buffer | null;
}

export interface TransformResult {
  /** Annotated articles and tombstones, in input order. */
  entities: OutputMessage[];
  /** Dead letters, in input order. */
  deadLetters: OutputMessage[];
  articles: number;
  tombstones: number;
  characters: number;
  /** Dead letters per error code. */
  deadLetterCodes: Map<string, number>;
}

export interface TransformOptions {
  annotator: Annotator;
  annotatedCodec: AvroCodec<AnnotatedArticle>;
  deadLetterCodec: AvroCodec<DeadLetter>;
  maxDeadLetterValueBytes?: number;
  now?: () => number;
}

export function deadLetterFor(
  input: InputRecord,
  error: MedStreamError,
  maxValueBytes: number,
  at: number,
): DeadLetter {
  const original = input.value ?? Buffer.alloc(0);
  const value = Buffer.from(original.subarray(0, maxValueBytes));
  return toDeadLetter(
    {
      key: input.key === null ? null : Buffer.from(input.key),
      value,
      valueTruncated: value.length < original.length,
      valueSize: original.length,
      stage: PROCESSOR_STAGE,
      errorCode: error.code,
      message: error.message,
      source: null,
      position: null,
    },
    { topic: input.topic, partition: input.partition, offset: Number(input.offset), at },
  );
}

export async function transformBatch(
  records: readonly ClassifiedRecord[],
  options: TransformOptions,
): Promise<TransformResult> {
  const now = options.now ?? Date.now;
  const maxValueBytes = options.maxDeadLetterValueBytes ?? DEFAULT_MAX_DEAD_LETTER_VALUE_BYTES;
  const articles = records.filter((r) => r.kind === 'article');
  const annotated =
    articles.length === 0 ? [] : await options.annotator.annotate(articles.map((r) => r.article));
  if (annotated.length !== articles.length) {
    throw new MedStreamError(
      'INTERNAL',
      `annotator returned ${annotated.length} results for ${articles.length} articles`,
    );
  }

  const result: TransformResult = {
    entities: [],
    deadLetters: [],
    articles: 0,
    tombstones: 0,
    characters: 0,
    deadLetterCodes: new Map(),
  };
  const at = now();
  const dead = (input: InputRecord, error: MedStreamError): void => {
    result.deadLetters.push({
      key: input.key,
      value: options.deadLetterCodec.encode(deadLetterFor(input, error, maxValueBytes, at)),
    });
    result.deadLetterCodes.set(error.code, (result.deadLetterCodes.get(error.code) ?? 0) + 1);
  };

  let next = 0;
  for (const record of records) {
    if (record.kind === 'poison') {
      dead(record.input, record.error);
    } else if (record.kind === 'tombstone') {
      result.entities.push({ key: record.pmid, value: null });
      result.tombstones += 1;
    } else {
      const output = annotated[next++];
      if (output.pmid !== record.pmid) {
        throw new MedStreamError(
          'INTERNAL',
          `annotator returned PMID ${output.pmid} where ${record.pmid} was expected (order broken)`,
        );
      }
      let value: Buffer;
      try {
        value = options.annotatedCodec.encode(output);
      } catch (error) {
        if (!isMedStreamError(error)) throw error;
        dead(record.input, error);
        continue;
      }
      result.entities.push({ key: record.pmid, value });
      result.articles += 1;
      result.characters += record.chars;
    }
  }
  return result;
}
