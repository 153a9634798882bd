import type { IHeaders } from 'kafkajs';
import type { AvroCodec } from '../codec/avro-codec.js';
import type { AnnotatedArticle, DeadLetter } from '../codec/records.js';
import { toDeadLetter } from '../codec/records.js';
import { MedStreamError, isMedStreamError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { SinkRecord } from './sink.js';

/**
 * The pure half of the Kafka sink runner: `pubmed.entities` messages → {@link SinkRecord}s or
 * poison, batches bounded by count and bytes, and dead letters for what a sink cannot take.
 */

/** A consumed `pubmed.entities` message. */
export interface EntityMessage {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset, decimal. */
  readonly offset: string;
  readonly key: Buffer | null;
  /** Null: a deletion tombstone. */
  readonly value: Buffer | null;
  /** Carries the processor's trace context (`traceparent`). */
  readonly headers?: IHeaders;
}

export type DecodedEntity =
  | { readonly kind: 'record'; readonly message: EntityMessage; readonly record: SinkRecord }
  | { readonly kind: 'poison'; readonly message: EntityMessage; readonly error: MedStreamError };

function poison(message: EntityMessage, code: ErrorCode, text: string): DecodedEntity {
  return { kind: 'poison', message, error: new MedStreamError(code, text) };
}

/**
 * Version = the Kafka offset: a PMID is a key, so all its records share one partition, where
 * offsets grow with every write and a replay repeats them (see SinkRecord.version).
 */
export function decodeEntity(
  message: EntityMessage,
  codec: AvroCodec<AnnotatedArticle>,
): DecodedEntity {
  const pmid = message.key === null ? '' : message.key.toString('utf8');
  if (pmid.length === 0) return poison(message, 'RECORD_KEY_MISSING', 'record has no key (PMID)');
  const offset = Number(message.offset);
  const origin = { topic: message.topic, partition: message.partition, offset };
  if (message.value === null) {
    return { kind: 'record', message, record: { pmid, article: null, version: offset, origin } };
  }
  let article: AnnotatedArticle;
  try {
    article = codec.decode(message.value);
  } catch (error) {
    if (isMedStreamError(error)) return { kind: 'poison', message, error };
    throw error;
  }
  if (article.pmid !== pmid) {
    return poison(
      message,
      'RECORD_INVALID',
      `key ${pmid} is not the record's PMID ${article.pmid}`,
    );
  }
  return { kind: 'record', message, record: { pmid, article, version: offset, origin } };
}

export interface SinkBatchLimits {
  readonly maxRecords: number;
  /** Encoded message bytes (value + key) per batch; a single larger message is a batch alone. */
  readonly maxBytes: number;
}

/** Consecutive slices of `items`, each within the limits (order kept: offsets are committed in order). */
export function* cutSinkBatches<T extends { readonly message: EntityMessage }>(
  items: readonly T[],
  limits: SinkBatchLimits,
): Generator<T[], void, undefined> {
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = (item.message.value?.length ?? 0) + (item.message.key?.length ?? 0);
    if (batch.length > 0 && (batch.length >= limits.maxRecords || bytes + size > limits.maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/** Dead letters keep at most this many bytes of the original value. */
export const SINK_DEAD_LETTER_VALUE_BYTES = 64 * 1024;

export function sinkDeadLetter(
  sinkName: string,
  message: EntityMessage,
  errorCode: string,
  text: string,
  at: number,
): DeadLetter {
  const original = message.value ?? Buffer.alloc(0);
  const value = Buffer.from(original.subarray(0, SINK_DEAD_LETTER_VALUE_BYTES));
  return toDeadLetter(
    {
      key: message.key === null ? null : Buffer.from(message.key),
      value,
      valueTruncated: value.length < original.length,
      valueSize: original.length,
      stage: `sink:${sinkName}`,
      errorCode,
      message: text,
      source: null,
      position: null,
    },
    { topic: message.topic, partition: message.partition, offset: Number(message.offset), at },
  );
}

/** Dead letters for the poison messages of a batch and the records the sink rejected. */
export function batchDeadLetters(
  sinkName: string,
  poisoned: readonly Extract<DecodedEntity, { kind: 'poison' }>[],
  rejected: readonly { message: EntityMessage; errorCode: string; reason: string }[],
  codec: AvroCodec<DeadLetter>,
  at: number,
): { key: Buffer | null; value: Buffer }[] {
  const letters = [
    ...poisoned.map((p) => sinkDeadLetter(sinkName, p.message, p.error.code, p.error.message, at)),
    ...rejected.map((r) => sinkDeadLetter(sinkName, r.message, r.errorCode, r.reason, at)),
  ];
  return letters.map((letter) => ({ key: letter.key, value: codec.encode(letter) }));
}
