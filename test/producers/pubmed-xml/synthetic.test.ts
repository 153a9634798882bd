import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePubmedXml } from '../../../src/producers/pubmed-xml/parse-pubmed-xml.js';
import {
  syntheticArticles,
  syntheticPubmedXml,
  syntheticPubmedXmlBytes,
} from '../../../src/producers/pubmed-xml/synthetic.js';
import type { SyntheticOptions } from '../../../src/producers/pubmed-xml/synthetic.js';

/** The generator's own expectations are what the parser extracts, in both formats. */

for (const format of ['PubmedArticleSet', 'MedlineCitationSet'] as const) {
  test(`${format}: 1,000 generated articles round-trip field for field`, async () => {
    const options: SyntheticOptions = {
      articles: 1000,
      seed: 11,
      format,
      deletions: ['123', '456'],
    };
    const expected = syntheticArticles(options);
    const deletes: string[] = [];
    let count = 0;
    for await (const event of parsePubmedXml(syntheticPubmedXmlBytes(options, 4096), {
      source: 'syn',
    })) {
      if (event.kind === 'article') {
        const { source, ingestedAt, ...fields } = event.article;
        assert.equal(source, 'syn');
        assert.ok(ingestedAt > 0);
        assert.deepEqual(fields, expected.next().value?.expected);
        count++;
      } else if (event.kind === 'delete') {
        deletes.push(event.pmid);
      } else {
        assert.fail(`unexpected dead letter: ${event.record.message}`);
      }
    }
    assert.equal(count, 1000);
    assert.deepEqual(deletes, ['123', '456']);
  });
}

test('deterministic per seed, realistic shape', () => {
  const a = [...syntheticPubmedXml({ articles: 200, seed: 1 })].join('');
  const b = [...syntheticPubmedXml({ articles: 200, seed: 1 })].join('');
  const c = [...syntheticPubmedXml({ articles: 200, seed: 2 })].join('');
  assert.equal(a, b);
  assert.notEqual(a, c);
  const list = [...syntheticArticles({ articles: 2000, seed: 1 })].map((x) => x.expected);
  const withAbstract = list.filter((x) => x.abstract !== '');
  const meanAbstract =
    withAbstract.reduce((n, x) => n + x.abstract.length, 0) / withAbstract.length;
  assert.ok(meanAbstract > 1300 && meanAbstract < 1700, `mean abstract ${meanAbstract}`);
  const labelled =
    list.filter((x) => x.sections.some((s) => s.label !== null)).length / list.length;
  assert.ok(labelled > 0.25 && labelled < 0.45, `labelled share ${labelled}`);
  assert.ok(list.filter((x) => x.meshHeadings.length > 0).length / list.length > 0.8);
  assert.ok(list.some((x) => x.version === 2));
  assert.ok(list.some((x) => x.abstract.includes('β-cell') || x.abstract.includes('IL-1β')));
});
