import { MedStreamError } from '../../errors.js';

/**
 * Layout of the search index: the mapping of {@link SearchDocument}, the index settings, the
 * composable index template that applies both to every `<alias>-*` index, and the names of
 * the concrete indices behind the alias.
 */

/** Bumped whenever the mapping changes; stored in the template's and each index's `_meta`. */
export const MAPPING_VERSION = 1;

export interface IndexSettings {
  /** Primary shards. 1 suits a single node and up to ~30 GB; a full PubMed back-fill wants 3–6. */
  shards: number;
  /** Replica copies; 0 on a single node (a replica could never be allocated), ≥ 1 in production. */
  replicas: number;
  /** `index.refresh_interval`: how soon writes become searchable; raise it (`30s`) for back-fills. */
  refreshInterval: string;
  /**
   * `index.gc_deletes`: how long a deleted document's version is remembered, i.e. how long an
   * older upsert arriving after a tombstone is refused (409) instead of recreating the document.
   * Correctness does not depend on it: records of one PMID are replayed in partition order, so a
   * replayed upsert is always followed by its replayed tombstone and the end state is "deleted"
   * either way. A window longer than the default 60 s only keeps a deleted article from showing
   * up for a moment while a replay (a sink restart, a rebalance) passes over it. The versions are
   * held in memory per shard, which costs little at PubMed's deletion rate (thousands a year).
   */
  gcDeletes: string;
}

export const defaultIndexSettings: Readonly<IndexSettings> = Object.freeze({
  shards: 1,
  replicas: 0,
  refreshInterval: '1s',
  gcDeletes: '1h',
});

const keyword = { type: 'keyword' } as const;

/** Mapping of {@link SearchDocument}; a unit test holds every document field against it. */
export function searchIndexMappings(): Record<string, unknown> {
  return {
    dynamic: 'strict',
    _meta: { mappingVersion: MAPPING_VERSION, managedBy: 'medstream' },
    properties: {
      pmid: keyword,
      version: { type: 'integer' },
      title: { type: 'text' },
      abstract: { type: 'text' },
      journal: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 512 } } },
      publicationDate: { type: 'date', format: 'yyyy||yyyy-MM||yyyy-MM-dd' },
      meshHeadings: {
        properties: {
          ui: keyword,
          name: keyword,
          majorTopic: { type: 'boolean' },
        },
      },
      textSha256: keyword,
      modelName: keyword,
      modelVersion: keyword,
      vocabularyVersion: keyword,
      processedAt: { type: 'date', format: 'epoch_millis' },
      // Nested so that a query can require type and id on the same mention. Each mention is a
      // hidden Lucene document; `index.mapping.nested_objects.limit` (10,000 per article by
      // default) is far above what an abstract yields.
      mentions: {
        type: 'nested',
        properties: {
          start: { type: 'integer' },
          end: { type: 'integer' },
          text: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
          type: keyword,
          ids: keyword,
          score: { type: 'float' },
          source: keyword,
        },
      },
      conceptIds: keyword,
      mentionTypes: keyword,
    },
  };
}

export function searchIndexSettings(settings: IndexSettings): Record<string, unknown> {
  return {
    'index.number_of_shards': settings.shards,
    'index.number_of_replicas': settings.replicas,
    'index.refresh_interval': settings.refreshInterval,
    'index.gc_deletes': settings.gcDeletes,
  };
}

export function indexTemplateName(alias: string): string {
  return `${alias}-template`;
}

/** Indices the template governs: every concrete index named `<alias>-…`. */
export function indexTemplatePattern(alias: string): string {
  return `${alias}-*`;
}

/**
 * Composable template (`PUT _index_template/<alias>-template`). The priority grows with the
 * alias length: aliases that are prefixes of one another (`pubmed-entities`,
 * `pubmed-entities-staging`) give overlapping patterns, the server refuses two overlapping
 * templates of equal priority, and the longer (more specific) alias must win for its indices.
 */
export function indexTemplateBody(alias: string, settings: IndexSettings): Record<string, unknown> {
  return {
    index_patterns: [indexTemplatePattern(alias)],
    priority: 100 + alias.length,
    version: MAPPING_VERSION,
    _meta: { mappingVersion: MAPPING_VERSION, managedBy: 'medstream', alias },
    template: { settings: searchIndexSettings(settings), mappings: searchIndexMappings() },
  };
}

const MAX_INDEX_NAME_BYTES = 255;

/**
 * Throws CONFIG_INVALID unless `name` is a legal index or alias name for OpenSearch and
 * Elasticsearch: lowercase, no `\ / * ? " < > | , # :` or whitespace, not starting with `-`,
 * `_`, `+` or `.` (dot-names are hidden/system indices), at most 255 bytes.
 */
export function assertIndexName(name: string, what: string): string {
  const problems: string[] = [];
  if (name.length === 0) problems.push('is empty');
  if (name !== name.toLowerCase()) problems.push('has uppercase letters');
  if (/[\\/*?"<>|,#:\s]/.test(name))
    problems.push('contains one of \\ / * ? " < > | , # : or a space');
  if (/^[-_+.]/.test(name)) problems.push('starts with -, _, + or .');
  if (Buffer.byteLength(name) > MAX_INDEX_NAME_BYTES) problems.push('is longer than 255 bytes');
  if (problems.length > 0) {
    throw new MedStreamError('CONFIG_INVALID', `${what} "${name}" ${problems.join(', ')}`);
  }
  return name;
}

function namePart(value: string, what: string): string {
  const part = value
    .toLowerCase()
    .replace(/[^a-z0-9._]+/g, '-')
    .replace(/^[-._]+|[-._]+$/g, '');
  if (part === '') {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `${what} "${value}" has no letters or digits to name an index after`,
    );
  }
  return part;
}

/**
 * `<alias>-<modelName>-<modelVersion>`, lowercased, with every run of characters outside
 * `[a-z0-9._]` replaced by one `-` (`BioBERT/CRF`, `2.0+cuda` → `biobert-crf`, `2.0-cuda`).
 * Two model versions that differ only in such characters share an index name; version strings
 * like `1.2.0` or `2024-06-01` are kept as they are.
 */
export function concreteIndexName(alias: string, modelName: string, modelVersion: string): string {
  assertIndexName(alias, 'Index alias');
  const name = `${alias}-${namePart(modelName, 'Model name')}-${namePart(modelVersion, 'Model version')}`;
  return assertIndexName(name, 'Index name');
}
