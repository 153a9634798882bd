import type { AnnotatedEvent } from '../processors/in-process.js';
import type { Sink, SinkRecord, SinkRejection } from './sink.js';

/**
 * Drives sinks from the in-process pipeline (`medstream demo`, `annotate` into a search index
 * or graph without Kafka): annotated articles and deletions are grouped into batches, each
 * batch is written to every sink (in parallel: sinks are independent), and only then are its
 * events passed on, so a consumer of this generator never sees an event that is not stored.
 *
 * Versions: in-process there is no offset, so records are numbered from `versionBase`
 * (default: the run's start time in microseconds — a later run's records outrank an earlier
 * run's, as a later Kafka offset would). Do not mix in-process writes and a Kafka sink on the
 * same index or graph: offsets are far smaller than these numbers.
 */

export interface InProcessSinkOptions {
  /** Records per sink write. */
  readonly maxRecords: number;
  readonly versionBase?: number;
  readonly signal?: AbortSignal;
  /** Called for every record a sink rejected (the caller writes it to its dead-letter file). */
  readonly onRejected?: (sink: string, rejection: SinkRejection) => void;
}

export interface InProcessSinkStats {
  readonly written: Record<string, number>;
  readonly deleted: Record<string, number>;
  readonly rejected: Record<string, number>;
}

export async function* throughSinks(
  events: AsyncIterable<AnnotatedEvent>,
  sinks: readonly Sink[],
  options: InProcessSinkOptions,
  stats: InProcessSinkStats = { written: {}, deleted: {}, rejected: {} },
): AsyncGenerator<AnnotatedEvent> {
  const signal = options.signal ?? new AbortController().signal;
  let version = options.versionBase ?? Date.now() * 1000;
  let pending: AnnotatedEvent[] = [];
  let records: SinkRecord[] = [];

  const flush = async (): Promise<AnnotatedEvent[]> => {
    const batch = records;
    const out = pending;
    records = [];
    pending = [];
    if (batch.length > 0) {
      const results = await Promise.all(sinks.map((sink) => sink.write(batch, signal)));
      results.forEach((result, i) => {
        const name = sinks[i]?.name ?? String(i);
        stats.written[name] = (stats.written[name] ?? 0) + result.written;
        stats.deleted[name] = (stats.deleted[name] ?? 0) + result.deleted;
        stats.rejected[name] = (stats.rejected[name] ?? 0) + result.rejected.length;
        for (const rejection of result.rejected) options.onRejected?.(name, rejection);
      });
    }
    return out;
  };

  for await (const event of events) {
    pending.push(event);
    if (event.kind === 'annotated') {
      version += 1;
      records.push({ pmid: event.record.pmid, article: event.record, version, origin: null });
    } else if (event.kind === 'delete') {
      version += 1;
      records.push({ pmid: event.pmid, article: null, version, origin: null });
    }
    if (records.length >= options.maxRecords) yield* await flush();
  }
  yield* await flush();
}
