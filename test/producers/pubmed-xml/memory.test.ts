import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parsePubmedXml } from '../../../src/producers/pubmed-xml/parse-pubmed-xml.js';
import { syntheticPubmedXmlBytes } from '../../../src/producers/pubmed-xml/synthetic.js';

/**
 * Memory stays flat whatever the input size: 50,000 generated articles (~380 MB of XML,
 * produced on the fly, never held) are parsed while the heap is sampled after a full GC.
 */

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('50,000 streamed articles: heap after GC stays within 16 MB of its level after the first 5,000', async () => {
  const articles = 50_000;
  const samples: number[] = [];
  let count = 0;
  let xmlBytes = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of syntheticPubmedXmlBytes({ articles, seed: 3 })) {
      xmlBytes += chunk.length;
      yield chunk;
    }
  }
  for await (const event of parsePubmedXml(counted(), { source: 'synthetic' })) {
    assert.equal(event.kind, 'article');
    if (++count % 5000 === 0) {
      gc();
      samples.push(process.memoryUsage().heapUsed);
    }
  }
  assert.equal(count, articles);
  assert.ok(xmlBytes > 250e6, `expected a large input, got ${xmlBytes} bytes`);
  const baseline = samples[0];
  const growth = Math.max(...samples) - baseline;
  assert.ok(
    growth < 16 * 2 ** 20,
    `heap grew by ${(growth / 2 ** 20).toFixed(1)} MB: ${samples.map((s) => (s / 2 ** 20).toFixed(1)).join(', ')}`,
  );
});
