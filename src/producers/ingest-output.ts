import type { PubmedEvent } from './pubmed-xml/parse-pubmed-xml.js';

/**
 * Where `ingest` puts the parsed events. A source unit (one update file, one E-utilities date
 * window) is written event by event and then committed; `commitUnit` resolves only once the
 * unit's records are durable, and only then does the caller advance the source's checkpoint.
 *
 * `isCommitted(unit)` lets an output that records its own unit markers (Kafka, atomically with
 * the records) tell the caller that a unit re-offered after a crash is already durable, so
 * it is skipped instead of sent twice.
 */
export interface IngestOutput {
  write(event: PubmedEvent): Promise<void>;
  commitUnit(unit: string): Promise<void>;
  isCommitted(unit: string): boolean;
  close(): Promise<void>;
}
