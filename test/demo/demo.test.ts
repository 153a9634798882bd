import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { AnnotatedArticle } from '../../src/codec/records.js';
import { loadConfig } from '../../src/config/config.js';
import { formatDemoSummary, runDemo } from '../../src/demo/run-demo.js';
import { SAMPLE_ARTICLES } from '../../src/demo/sample-articles.js';
import { parsePubTator } from '../../src/text/pubtator-reader.js';

const out = mkdtempSync(join(tmpdir(), 'medstream-demo-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('the demo annotates every sample citation with the served model and writes readable files', async () => {
  const lines: string[] = [];
  const summary = await runDemo(loadConfig(), {
    outDir: out,
    progress: false,
    log: (l) => lines.push(l),
  });
  assert.equal(summary.articles, SAMPLE_ARTICLES.length);
  assert.match(summary.model, /^bc5cdr-mtl@/);
  assert.ok((summary.byType.Disease ?? 0) > 0 && (summary.byType.Chemical ?? 0) > 0);
  assert.ok(summary.normalized > summary.mentions / 2, 'most mentions carry concept ids');

  const records = readFileSync(join(out, 'annotations.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AnnotatedArticle);
  assert.deepEqual(
    records.map((r) => r.pmid),
    SAMPLE_ARTICLES.map((a) => a.pmid),
  );
  for (const record of records) {
    const text = `${record.title} ${record.abstract}`;
    for (const m of record.mentions) assert.equal(text.slice(m.start, m.end), m.text);
  }
  const docs = parsePubTator(readFileSync(join(out, 'annotations.pubtator'), 'utf8'));
  assert.equal(docs.length, SAMPLE_ARTICLES.length);
  assert.ok(docs.every((d) => d.mentions.every((m) => m.textMatches)));

  // The metformin abstract: a drug and the disease it is known for.
  const metformin = records.find((r) => r.pmid === '99000001')!;
  assert.ok(metformin.mentions.some((m) => m.type === 'Chemical' && /metformin/i.test(m.text)));
  assert.ok(metformin.mentions.some((m) => m.type === 'Disease' && /acidosis/i.test(m.text)));
  assert.match(formatDemoSummary(summary), /top concepts/);
});
