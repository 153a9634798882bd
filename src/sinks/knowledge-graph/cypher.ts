/**
 * The loader's Cypher. Every data statement is `UNWIND $rows AS row …` over rows sorted by
 * their key (PMID, concept id, concept pair), so concurrent writers take locks in one order and
 * a batch costs a handful of round trips however many records it has.
 */

/**
 * Created by `start()`. Each uniqueness constraint brings the range index its MERGEs use;
 * `IF NOT EXISTS` makes start-up idempotent and leaves an equivalent constraint of another name
 * alone.
 */
export const SCHEMA_STATEMENTS: readonly string[] = [
  'CREATE CONSTRAINT medstream_article_pmid IF NOT EXISTS FOR (a:Article) REQUIRE a.pmid IS UNIQUE',
  'CREATE CONSTRAINT medstream_concept_id IF NOT EXISTS FOR (c:Concept) REQUIRE c.id IS UNIQUE',
  'CREATE CONSTRAINT medstream_deleted_article_pmid IF NOT EXISTS ' +
    'FOR (d:DeletedArticle) REQUIRE d.pmid IS UNIQUE',
];

/** Waits for the indexes to come online (they populate in the background on a loaded graph). */
export const AWAIT_INDEXES = 'CALL db.awaitIndexes($seconds)';

/**
 * Locks the Article node of every PMID of the batch, then reads its state. MERGE creates a
 * placeholder (no `version`) where none exists, so that two transactions handling a new PMID
 * also serialize on it (the uniqueness constraint makes the second MERGE wait); setting and
 * removing a property is Neo4j's documented way to take the write lock before reading, so the
 * state read here cannot change until this transaction ends. Placeholders that the batch does
 * not turn into articles are deleted before commit (DELETE_PLACEHOLDERS).
 */
export const LOCK_AND_READ = `
UNWIND $pmids AS pmid
MERGE (a:Article {pmid: pmid})
SET a.medstreamLock = true
REMOVE a.medstreamLock
WITH a, pmid
OPTIONAL MATCH (d:DeletedArticle {pmid: pmid})
RETURN pmid, a.version AS version, a.pairedConcepts AS pairedConcepts, d.version AS deletedVersion`;

/**
 * A known concept (from the dictionary) gets the dictionary's name and type even when the node
 * exists, but is written only when they differ: popular concepts appear in most batches, and a
 * needless SET would lock them every time. An unknown concept keeps the name it was created
 * with.
 */
export const MERGE_CONCEPTS = `
UNWIND $rows AS row
MERGE (c:Concept {id: row.id})
  ON CREATE SET c.name = row.name, c.type = row.type, c.vocabulary = row.vocabulary
WITH c, row
WHERE row.known
  AND (coalesce(c.name, '') <> row.name
    OR coalesce(c.type, '') <> coalesce(row.type, '')
    OR coalesce(c.vocabulary, '') <> row.vocabulary)
SET c.name = row.name, c.type = row.type, c.vocabulary = row.vocabulary`;

export const DELETE_MENTIONS = `
UNWIND $pmids AS pmid
MATCH (:Article {pmid: pmid})-[m:MENTIONS]->()
DELETE m`;

/** `row.properties` holds every Article property but `pmid`; null values remove a property. */
export const SET_ARTICLES = `
UNWIND $rows AS row
MATCH (a:Article {pmid: row.pmid})
SET a += row.properties`;

export const CREATE_MENTIONS = `
UNWIND $rows AS row
MATCH (a:Article {pmid: row.pmid})
MATCH (c:Concept {id: row.concept})
CREATE (a)-[:MENTIONS {count: row.count, spans: row.spans, model: row.model}]->(c)`;

export const DELETE_MARKERS = `
UNWIND $pmids AS pmid
MATCH (d:DeletedArticle {pmid: pmid})
DELETE d`;

export const DELETE_ARTICLES = `
UNWIND $rows AS row
MATCH (a:Article {pmid: row.pmid})
DETACH DELETE a`;

export const MARK_DELETED = `
UNWIND $rows AS row
MERGE (d:DeletedArticle {pmid: row.pmid})
SET d.version = row.version`;

/**
 * `SET r.articles = r.articles + row.delta` reads the property it writes (a direct dependency),
 * so Cypher takes the relationship's write lock before reading it: no increment is lost to a
 * concurrent transaction. A pair whose count reaches 0 is deleted.
 */
export const APPLY_PAIR_DELTAS = `
UNWIND $rows AS row
MATCH (x:Concept {id: row.start})
MATCH (y:Concept {id: row.end})
MERGE (x)-[r:CO_OCCURS]->(y)
  ON CREATE SET r.articles = 0
SET r.articles = r.articles + row.delta
WITH r
WHERE r.articles <= 0
DELETE r`;

export const DELETE_PLACEHOLDERS = `
UNWIND $pmids AS pmid
MATCH (a:Article {pmid: pmid})
WHERE a.version IS NULL
DELETE a`;
