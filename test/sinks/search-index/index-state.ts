import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Client } from '@opensearch-project/opensearch';
import type { Mention } from '../../../src/codec/records.js';
import { deleteIndexTemplate } from '../../../src/sinks/search-index/index-admin.js';
import type { SinkRecord } from '../../../src/sinks/sink.js';

/**
 * What an index should hold after a sequence of sink records, computed from the input alone,
 * and what it does hold, read back in full: integration tests compare the two.
 */

export interface IndexedEntry {
  readonly pmid: string;
  /** The external version (`_version`): the sink record's version. */
  readonly version: number;
  readonly textSha256: string;
  readonly modelVersion: string;
  readonly mentions: readonly Mention[];
}

/**
 * The state external versioning must produce: per PMID the record with the highest version
 * wins, whatever order the records were written in; a winning tombstone means no document.
 */
export function expectedEntries(records: Iterable<SinkRecord>): IndexedEntry[] {
  const latest = new Map<string, SinkRecord>();
  for (const record of records) {
    const current = latest.get(record.pmid);
    if (current === undefined || record.version > current.version) latest.set(record.pmid, record);
  }
  const entries: IndexedEntry[] = [];
  for (const record of latest.values()) {
    if (record.article === null) continue;
    entries.push({
      pmid: record.pmid,
      version: record.version,
      textSha256: record.article.textSha256,
      modelVersion: record.article.modelVersion,
      mentions: record.article.mentions,
    });
  }
  return entries.sort((a, b) => (a.pmid < b.pmid ? -1 : a.pmid > b.pmid ? 1 : 0));
}

/** Documents per concept id, counting each article once per concept. */
export function expectedConceptCounts(entries: readonly IndexedEntry[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of entries) {
    for (const id of new Set(entry.mentions.flatMap((m) => m.ids))) {
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/** sha256 over the entries sorted by PMID: version, text hash and the full mention list. */
export function checksum(entries: readonly IndexedEntry[]): string {
  const hash = createHash('sha256');
  const sorted = [...entries].sort((a, b) => (a.pmid < b.pmid ? -1 : a.pmid > b.pmid ? 1 : 0));
  for (const e of sorted) {
    const mentions = e.mentions.map((m) => [
      m.start,
      m.end,
      m.text,
      m.type,
      m.ids,
      m.score,
      m.source,
    ]);
    hash.update(
      `${e.pmid}\t${e.version}\t${e.textSha256}\t${e.modelVersion}\t${JSON.stringify(mentions)}\n`,
    );
  }
  return hash.digest('hex');
}

interface Hit {
  _id: string;
  _version?: number;
  _source: {
    pmid: string;
    textSha256: string;
    modelVersion: string;
    mentions: Mention[];
  };
  /** The `pmid` sort value. */
  sort: string[];
}

/**
 * Every document of `index` (an index or an alias), paged with search_after on `pmid`, with
 * its `_version`. Asserts `_id` = `pmid` for each.
 */
export async function fetchEntries(client: Client, index: string): Promise<IndexedEntry[]> {
  const entries: IndexedEntry[] = [];
  let after: string[] | undefined;
  for (;;) {
    const response = await client.search({
      index,
      body: {
        size: 1000,
        version: true,
        sort: [{ pmid: 'asc' }],
        _source: ['pmid', 'textSha256', 'modelVersion', 'mentions'],
        query: { match_all: {} },
        ...(after === undefined ? {} : { search_after: after }),
      },
    });
    const hits = response.body.hits.hits as unknown as Hit[];
    for (const hit of hits) {
      assert.equal(hit._id, hit._source.pmid, '_id is the PMID');
      entries.push({
        pmid: hit._source.pmid,
        version: hit._version ?? -1,
        textSha256: hit._source.textSha256,
        modelVersion: hit._source.modelVersion,
        mentions: hit._source.mentions,
      });
    }
    if (hits.length < 1000) return entries;
    after = hits[hits.length - 1]?.sort;
  }
}

/** Documents per concept id as a terms aggregation on the top-level `conceptIds` sees them. */
export async function indexedConceptCounts(
  client: Client,
  index: string,
): Promise<Map<string, number>> {
  // A variable, not a literal: the client's generated types lack the terms aggregation's `field`.
  const terms = { field: 'conceptIds', size: 10_000 };
  const response = await client.search({
    index,
    body: { size: 0, aggs: { concepts: { terms } } },
  });
  const aggs = response.body.aggregations as unknown as {
    concepts: { buckets: { key: string; doc_count: number }[]; sum_other_doc_count: number };
  };
  assert.equal(aggs.concepts.sum_other_doc_count, 0);
  return new Map(aggs.concepts.buckets.map((b) => [b.key, b.doc_count]));
}

/** Asserts the index holds exactly `expected`: count, no duplicates, concepts, checksum. */
export async function assertIndexHolds(
  client: Client,
  index: string,
  expected: readonly IndexedEntry[],
): Promise<void> {
  await client.indices.refresh({ index });
  const count = await client.count({ index });
  assert.equal(count.body.count, expected.length, 'document count');
  const actual = await fetchEntries(client, index);
  assert.equal(actual.length, expected.length, 'documents read back');
  assert.equal(new Set(actual.map((e) => e.pmid)).size, actual.length, 'no duplicate PMIDs');
  assert.deepEqual(
    new Map([...(await indexedConceptCounts(client, index))].sort()),
    new Map([...expectedConceptCounts(expected)].sort()),
    'documents per concept',
  );
  if (checksum(actual) !== checksum(expected)) {
    // The checksum says whether; the first differing entry says where.
    const byPmid = new Map(expected.map((e) => [e.pmid, e]));
    const wrong = actual.find((e) => JSON.stringify(e) !== JSON.stringify(byPmid.get(e.pmid)));
    assert.fail(`content checksum differs; first differing document: ${JSON.stringify(wrong)}`);
  }
}

/** Deletes every `<alias>-*` index and the alias's template, and checks they are gone. */
export async function removeAliasIndices(client: Client, alias: string): Promise<void> {
  await client.indices.delete({ index: `${alias}-*`, ignore_unavailable: true });
  await deleteIndexTemplate(client, alias);
  const left = await client.cat.indices({ index: `${alias}-*`, format: 'json' });
  assert.deepEqual(left.body, [], `indices of ${alias} left behind`);
}
