import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '@opensearch-project/opensearch';
import { requireServiceEnv, runId } from './service-env.js';

interface ArticleDoc {
  readonly pmid: string;
  readonly title: string;
}

test('opensearch: bulk index with refresh, search finds the documents', async () => {
  const client = new Client({ node: requireServiceEnv('OPENSEARCH_URL') });
  const index = `medstream-test-${runId()}`;
  try {
    await client.indices.create({
      index,
      body: {
        settings: { number_of_shards: 1, number_of_replicas: 0 },
        mappings: { properties: { pmid: { type: 'keyword' }, title: { type: 'text' } } },
      },
    });

    const docs: ArticleDoc[] = [
      { pmid: '100001', title: 'Metformin in type 2 diabetes' },
      { pmid: '100002', title: 'Insulin resistance and diabetes in mice' },
      { pmid: '100003', title: 'Aspirin and colorectal cancer' },
    ];
    const bulk = await client.bulk({
      refresh: true,
      body: docs.flatMap((doc) => [{ index: { _index: index, _id: doc.pmid } }, doc]),
    });
    assert.equal(bulk.body.errors, false, JSON.stringify(bulk.body.items));

    const count = await client.count({ index });
    assert.equal(count.body.count, 3);

    const search = await client.search({
      index,
      body: { query: { match: { title: 'diabetes' } } },
    });
    const hits = search.body.hits.hits.map((hit) => hit._id).sort();
    assert.deepEqual(hits, ['100001', '100002']);

    const byId = await client.get({ index, id: '100003' });
    assert.deepEqual(byId.body._source, docs[2]);
  } finally {
    try {
      await client.indices.delete({ index, ignore_unavailable: true });
      const exists = await client.indices.exists({ index });
      assert.equal(exists.body, false, `index ${index} was not deleted`);
    } finally {
      await client.close();
    }
  }
});
