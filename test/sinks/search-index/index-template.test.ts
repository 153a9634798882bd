import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MedStreamError } from '../../../src/errors.js';
import {
  assertIndexName,
  concreteIndexName,
  defaultIndexSettings,
  indexTemplateBody,
  indexTemplateName,
  searchIndexMappings,
} from '../../../src/sinks/search-index/index-template.js';
import { toSearchDocument } from '../../../src/sinks/search-index/search-document.js';
import { generateArticles, generatedConcepts } from '../generated-articles.js';

function isConfigInvalid(error: unknown): boolean {
  return error instanceof MedStreamError && error.code === 'CONFIG_INVALID';
}

interface MappingNode {
  type?: string;
  properties?: Record<string, MappingNode>;
}

/** Every field path the mapping declares, `mentions.ids` style. */
function mappedPaths(properties: Record<string, MappingNode>, prefix = ''): string[] {
  return Object.entries(properties).flatMap(([name, node]) => [
    `${prefix}${name}`,
    ...(node.properties === undefined ? [] : mappedPaths(node.properties, `${prefix}${name}.`)),
  ]);
}

/** Every field path a document carries; arrays contribute their elements' fields. */
function documentPaths(value: unknown, prefix = ''): string[] {
  const items: unknown[] = Array.isArray(value) ? (value as unknown[]) : [value];
  const paths = new Set<string>();
  for (const item of items) {
    if (typeof item !== 'object' || item === null) continue;
    for (const [name, child] of Object.entries(item)) {
      paths.add(`${prefix}${name}`);
      for (const p of documentPaths(child, `${prefix}${name}.`)) paths.add(p);
    }
  }
  return [...paths];
}

describe('search-index mapping', () => {
  test('maps exactly the fields a search document has, and is strict', () => {
    const article = generateArticles({
      firstPmid: 1,
      count: 20,
      concepts: generatedConcepts('map'),
      seed: 3,
    }).find((a) => a.mentions.length > 0);
    assert.ok(article !== undefined, 'an article with mentions, so mention fields are present');
    article.meshHeadings = [{ ui: 'D003920', name: 'Diabetes Mellitus', majorTopic: true }];
    const mappings = searchIndexMappings() as {
      dynamic: string;
      properties: Record<string, MappingNode>;
    };
    assert.equal(mappings.dynamic, 'strict');
    assert.deepEqual(
      documentPaths(toSearchDocument(article)).sort(),
      mappedPaths(mappings.properties).sort(),
    );
  });

  test('mentions are nested; concept ids and types are top-level keywords', () => {
    const { properties } = searchIndexMappings() as { properties: Record<string, MappingNode> };
    assert.equal(properties.mentions?.type, 'nested');
    assert.equal(properties.conceptIds?.type, 'keyword');
    assert.equal(properties.mentionTypes?.type, 'keyword');
    assert.equal(properties.pmid?.type, 'keyword');
    assert.equal(properties.publicationDate?.type, 'date');
  });
});

describe('index template', () => {
  test('covers <alias>-* with the mapping and the settings', () => {
    const body = indexTemplateBody('pubmed-entities', { ...defaultIndexSettings, shards: 3 }) as {
      index_patterns: string[];
      template: { settings: Record<string, unknown>; mappings: { dynamic: string } };
    };
    assert.deepEqual(body.index_patterns, ['pubmed-entities-*']);
    assert.equal(body.template.mappings.dynamic, 'strict');
    assert.deepEqual(body.template.settings, {
      'index.number_of_shards': 3,
      'index.number_of_replicas': 0,
      'index.refresh_interval': '1s',
      'index.gc_deletes': '1h',
    });
    assert.equal(indexTemplateName('pubmed-entities'), 'pubmed-entities-template');
  });

  test('an alias that extends another one gets the higher priority', () => {
    const general = indexTemplateBody('pubmed-entities', defaultIndexSettings) as {
      priority: number;
    };
    const specific = indexTemplateBody('pubmed-entities-staging', defaultIndexSettings) as {
      priority: number;
    };
    assert.ok(specific.priority > general.priority);
  });
});

describe('concrete index names', () => {
  test('<alias>-<model>-<version>, kept as is when already legal', () => {
    assert.equal(
      concreteIndexName('pubmed-entities', 'bc5cdr-mtl', '1.2.0'),
      'pubmed-entities-bc5cdr-mtl-1.2.0',
    );
  });

  test('sanitizes model names and versions into a legal index name', () => {
    assert.equal(
      concreteIndexName('pubmed-entities', 'BioBERT/CRF', '2.0+cuda'),
      'pubmed-entities-biobert-crf-2.0-cuda',
    );
    assert.equal(concreteIndexName('pe', '  _Model #1: "big" ', '.v3.'), 'pe-model-1-big-v3');
    const name = concreteIndexName('pe', 'Ümlaut*?<>|,', '2024-06-01');
    assert.equal(name, 'pe-mlaut-2024-06-01');
    assert.equal(assertIndexName(name, 'test'), name);
  });

  test('refuses names that cannot be made legal', () => {
    assert.throws(() => concreteIndexName('pe', '***', '1'), isConfigInvalid);
    assert.throws(() => concreteIndexName('pe', 'model', ''), isConfigInvalid);
    assert.throws(() => concreteIndexName('pe', 'm'.repeat(300), '1'), isConfigInvalid);
    assert.throws(() => concreteIndexName('Bad Alias', 'm', '1'), isConfigInvalid);
  });

  test('assertIndexName names the problem', () => {
    for (const bad of ['Upper', 'a b', '_hidden', '-x', '+x', '.dot', 'a:b', 'a,b', 'a*', '']) {
      assert.throws(() => assertIndexName(bad, 'Index name'), isConfigInvalid, bad);
    }
    assert.throws(
      () => assertIndexName('Upper case', 'Index alias'),
      (error: unknown) =>
        isConfigInvalid(error) &&
        (error as Error).message.includes('uppercase') &&
        (error as Error).message.includes('space'),
    );
    assert.equal(assertIndexName('pubmed-entities_2.x', 'Index name'), 'pubmed-entities_2.x');
  });
});
