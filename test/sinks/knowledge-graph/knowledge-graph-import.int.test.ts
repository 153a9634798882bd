import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import type { AnnotatedArticle } from '../../../src/codec/records.js';
import { loadConfig } from '../../../src/config/config.js';
import {
  exportKnowledgeGraphCsv,
  neo4jAdminImportArguments,
} from '../../../src/sinks/knowledge-graph/csv-export.js';
import { SCHEMA_STATEMENTS } from '../../../src/sinks/knowledge-graph/cypher.js';
import { asSinkRecords, generateArticles } from '../generated-articles.js';
import { expectedGraph } from './expected-graph.js';
import type { GraphSnapshot } from './expected-graph.js';
import { assertSameGraph } from './graph-snapshot.js';
import { buildScenario } from './scenario.js';

/**
 * The bulk export, imported for real: `neo4j-admin database import full` (the import tool from
 * the local Neo4j's jars) loads the CSV files into a fresh store, the schema statements the
 * sink runs at start-up succeed on it, and the imported graph — read back by an embedded
 * database (ImportedGraphDump.java) — equals the graph computed independently from the input.
 */
const run = promisify(execFile);
const DUMP = fileURLToPath(new URL('./ImportedGraphDump.java', import.meta.url));

function neo4jLib(): string {
  const lib = join(loadConfig().cacheDir, 'services', 'neo4j', 'lib');
  if (!existsSync(join(lib, 'neo4j-import-tool-5.26.30.jar'))) {
    throw new Error(
      `no Neo4j import tool in ${lib}: \`npm run services -- up neo4j\` fetches the jars`,
    );
  }
  return join(lib, '*');
}

interface DumpLine {
  kind: 'node' | 'relationship' | 'constraint';
  labels?: string[];
  properties?: Record<string, unknown> | string[];
  type?: string;
  start?: string;
  end?: string;
  startLabels?: string[];
  endLabels?: string[];
  labelsOrTypes?: string[];
}

function snapshotOf(lines: DumpLine[]): { graph: GraphSnapshot; constraints: string[] } {
  const graph: GraphSnapshot = {
    articles: new Map(),
    concepts: new Map(),
    mentions: new Map(),
    coOccurs: new Map(),
    deleted: new Map(),
  };
  const constraints: string[] = [];
  for (const line of lines) {
    if (line.kind === 'constraint') {
      constraints.push(
        `${(line.labelsOrTypes ?? []).join()}.${(line.properties as string[]).join()}:${line.type ?? ''}`,
      );
      continue;
    }
    const p = line.properties as Record<string, unknown>;
    if (line.kind === 'node') {
      const [label, ...more] = line.labels ?? [];
      assert.deepEqual(more, [], 'one label per node');
      if (label === 'Article') {
        assert.ok(!graph.articles.has(p.pmid as string), `duplicate Article ${String(p.pmid)}`);
        graph.articles.set(p.pmid as string, {
          version: p.version as number,
          articleVersion: p.articleVersion as number,
          title: p.title as string,
          modelName: p.modelName as string,
          modelVersion: p.modelVersion as string,
          publicationDate: (p.publicationDate as string | undefined) ?? null,
          pairedConcepts: (p.pairedConcepts as string[] | undefined) ?? [],
        });
      } else {
        assert.equal(label, 'Concept');
        assert.ok(!graph.concepts.has(p.id as string), `duplicate Concept ${String(p.id)}`);
        graph.concepts.set(p.id as string, {
          name: p.name as string,
          type: (p.type as string | undefined) ?? null,
          vocabulary: p.vocabulary as string,
        });
      }
      continue;
    }
    const key = `${line.start ?? ''} ${line.end ?? ''}`;
    if (line.type === 'MENTIONS') {
      assert.deepEqual([line.startLabels, line.endLabels], [['Article'], ['Concept']]);
      assert.ok(!graph.mentions.has(key), `duplicate MENTIONS ${key}`);
      graph.mentions.set(key, {
        count: p.count as number,
        spans: p.spans as string[],
        model: p.model as string,
      });
    } else {
      assert.equal(line.type, 'CO_OCCURS');
      assert.deepEqual([line.startLabels, line.endLabels], [['Concept'], ['Concept']]);
      assert.ok(!graph.coOccurs.has(key), `duplicate CO_OCCURS ${key}`);
      graph.coOccurs.set(key, p.articles as number);
    }
  }
  return { graph, constraints };
}

test('bulk export: neo4j-admin imports the CSV files into the graph computed from the input', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'medstream-kg-import-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const scenario = buildScenario({ size: 1_500 });
  // The first write of the scenario: first versions of all articles, odd mentions included.
  const articles: AnnotatedArticle[] = scenario.writes
    .filter((w) => w.step === 'first versions')
    .flatMap((w) => w.records.map((r) => r.article))
    .filter((a): a is AnnotatedArticle => a !== null);
  const [special] = generateArticles({
    firstPmid: Number(scenario.pmids.at(-1)) + 1,
    count: 1,
    concepts: scenario.concepts,
    seed: 99,
  });
  articles.push(
    { ...special, title: '' },
    { ...special, pmid: String(Number(special.pmid) + 1), title: 'A "quoted", two-line\ntitle' },
  );
  const records = asSinkRecords(articles, 1_000);
  const versions = new Map(records.map((r) => [r.pmid, r.version]));

  const exportDir = join(dir, 'export');
  const summary = await exportKnowledgeGraphCsv(articles, {
    dir: exportDir,
    conceptLookup: scenario.lookup,
    maxPairedConcepts: scenario.cap,
    versionOf: (a) => versions.get(a.pmid) ?? -1,
    pairChunkEntries: 2_000,
  });
  assert.equal(summary.rejected, 0);
  assert.equal(summary.multilineFields, true);
  assert.ok(summary.importArguments.includes('--multiline-fields=true'));
  assert.ok(summary.pairRuns > 1);

  const home = join(dir, 'neo4j-home');
  await mkdir(join(home, 'conf'), { recursive: true });
  const lib = neo4jLib();
  const imported = await run(
    'java',
    [
      '-Xmx512m',
      '-cp',
      lib,
      'org.neo4j.cli.AdminTool',
      ...neo4jAdminImportArguments(exportDir, {
        multilineFields: summary.multilineFields,
        reportFile: join(dir, 'import.report'),
      }),
      '--max-off-heap-memory=256m',
    ],
    {
      env: { ...process.env, NEO4J_HOME: home, NEO4J_CONF: join(home, 'conf') },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 300_000,
    },
  );
  const output = `${imported.stdout}${imported.stderr}`;
  assert.match(output, /IMPORT DONE/, output.slice(-2_000));
  const nodes = Number(/(\d+) nodes/.exec(output)?.[1]);
  const relationships = Number(/(\d+) relationships/.exec(output)?.[1]);
  assert.equal(nodes, summary.articles + summary.concepts);
  assert.equal(relationships, summary.mentions + summary.coOccurrences);

  const dumped = await run('java', ['-Xmx512m', '-cp', lib, DUMP, home, ...SCHEMA_STATEMENTS], {
    maxBuffer: 256 * 1024 * 1024,
    timeout: 300_000,
  });
  const lines = dumped.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as DumpLine);
  const { graph, constraints } = snapshotOf(lines);
  for (const expected of ['Article.pmid', 'Concept.id', 'DeletedArticle.pmid']) {
    assert.ok(constraints.includes(`${expected}:UNIQUENESS`), constraints.join(' '));
  }
  const expected = expectedGraph({
    written: records,
    applied: articles,
    concepts: scenario.concepts,
    knownNames: scenario.knownNames,
    cap: scenario.cap,
  });
  assertSameGraph(graph, expected);
  assert.equal(graph.articles.get(special.pmid)?.title, '');
  assert.ok(expected.coOccurs.size > 500 && expected.mentions.size > 5_000);
});
