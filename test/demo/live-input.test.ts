import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { MedStreamError } from '../../src/errors.js';
import { LIVE_TERM, checkLiveOptions, fetchLiveCitations } from '../../src/demo/live-input.js';
import type { FakeEutils, Fault, RecordedRequest } from '../producers/eutils/fake-eutils-server.js';
import { startFakeEutils } from '../producers/eutils/fake-eutils-server.js';
import { scanPmids } from '../producers/eutils/pubmed-sample-articles.js';

/** "Today" for these tests: the window of the last 3 days is 2024-06-10..2024-06-12. */
const NOW = Date.UTC(2024, 5, 12, 15, 0, 0);
const DAYS = new Map<string, number[]>([
  ['2024-06-09', [38_000_001, 38_000_002]],
  ['2024-06-10', [38_000_010, 38_000_011, 38_000_012]],
  ['2024-06-11', []],
  ['2024-06-12', [38_000_020, 38_000_021, 38_000_022, 38_000_023]],
  ['2024-06-13', [38_000_030]],
]);

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('fetchLiveCitations', () => {
  let fake: FakeEutils;
  let fault: ((r: RecordedRequest) => Fault | undefined) | undefined;
  before(async () => {
    fake = await startFakeEutils({ days: DAYS, fault: (r) => fault?.(r) });
  });
  after(async () => fake.close());

  test('one esearch for the last n days and one efetch of at most maxArticles', async () => {
    fault = undefined;
    fake.requests.length = 0;
    fake.served.length = 0;
    const result = await fetchLiveCitations({
      days: 3,
      maxArticles: 5,
      baseUrl: fake.baseUrl,
      tool: 'medstream-test',
      now: () => NOW,
    });
    assert.ok(result.ok, JSON.stringify(result));
    const { citations } = result;
    assert.deepEqual(
      fake.requests.map((r) => r.tool),
      ['esearch.fcgi', 'efetch.fcgi'],
    );
    const search = fake.requests[0].params;
    assert.equal(search.get('term'), LIVE_TERM);
    assert.equal(search.get('datetype'), 'edat');
    assert.equal(search.get('mindate'), '2024/06/10');
    assert.equal(search.get('maxdate'), '2024/06/12');
    assert.equal(search.get('tool'), 'medstream-test');
    assert.equal(fake.requests[1].params.get('retmax'), '5');
    assert.equal(citations.found, 7);
    assert.equal(citations.articles, 5);
    assert.equal(citations.from, '2024-06-10');
    assert.equal(citations.to, '2024-06-12');
    assert.deepEqual(scanPmids(citations.xml.toString('utf8')), fake.served);
    assert.deepEqual(fake.served, [38_000_023, 38_000_022, 38_000_021, 38_000_020, 38_000_012]);
  });

  test('fewer matches than maxArticles: efetch asks for exactly those', async () => {
    fault = undefined;
    fake.requests.length = 0;
    const result = await fetchLiveCitations({
      days: 1,
      maxArticles: 50,
      baseUrl: fake.baseUrl,
      now: () => NOW,
    });
    assert.ok(result.ok);
    assert.equal(result.citations.articles, 4);
    assert.equal(fake.requests[1].params.get('retmax'), '4');
  });

  test('an empty window is a reason to fall back, not an error', async () => {
    fault = undefined;
    const result = await fetchLiveCitations({
      days: 1,
      maxArticles: 50,
      baseUrl: fake.baseUrl,
      now: () => Date.UTC(2024, 5, 11, 12),
    });
    assert.deepEqual(result, {
      ok: false,
      kind: 'empty',
      reason:
        'no citations with an abstract in English have an Entrez date from 2024-06-11 to 2024-06-11',
    });
  });

  test('a failing server is retried once, then reported with its status and code', async () => {
    fault = () => ({ kind: 'status', status: 503, body: 'Service Unavailable' });
    fake.requests.length = 0;
    const result = await fetchLiveCitations({
      days: 3,
      maxArticles: 5,
      baseUrl: fake.baseUrl,
      now: () => NOW,
    });
    assert.equal(result.ok, false);
    assert.equal(fake.requests.length, 2, 'one attempt and one retry, no long retry loop');
    assert.ok(!result.ok);
    assert.equal(result.kind, 'unreachable');
    assert.equal(
      result.reason,
      `${new URL(fake.baseUrl).host}: HTTP 503 Service Unavailable [HTTP_STATUS]`,
    );
  });

  test('a server that does not answer is given up after the deadline', async () => {
    fault = () => ({ kind: 'slow', ms: 3_000 });
    const started = performance.now();
    const result = await fetchLiveCitations({
      days: 3,
      maxArticles: 5,
      baseUrl: fake.baseUrl,
      deadlineMs: 400,
      now: () => NOW,
    });
    const elapsed = performance.now() - started;
    assert.deepEqual(result, {
      ok: false,
      kind: 'unreachable',
      reason: `${new URL(fake.baseUrl).host}: no complete answer within 0.4 s`,
    });
    assert.ok(elapsed < 2_000, `gave up after ${elapsed.toFixed(0)} ms`);
  });

  test('a refused connection is reported without throwing', async () => {
    const port = await closedPort();
    const result = await fetchLiveCitations({
      days: 3,
      maxArticles: 5,
      baseUrl: `http://127.0.0.1:${port}/entrez/eutils/`,
      now: () => NOW,
    });
    assert.ok(!result.ok);
    assert.equal(result.kind, 'unreachable');
    assert.match(
      result.reason,
      new RegExp(`^127\\.0\\.0\\.1:${port}: ECONNREFUSED .*\\[NETWORK\\]$`),
    );
  });
});

describe('checkLiveOptions', () => {
  test('days and max-articles must be small positive integers', () => {
    assert.doesNotThrow(() => checkLiveOptions({ days: 1, maxArticles: 1 }));
    assert.doesNotThrow(() => checkLiveOptions({ days: 30, maxArticles: 500 }));
    for (const bad of [
      { days: 0, maxArticles: 5 },
      { days: 31, maxArticles: 5 },
      { days: 1.5, maxArticles: 5 },
      { days: 3, maxArticles: 0 },
      { days: 3, maxArticles: 501 },
    ]) {
      assert.throws(
        () => checkLiveOptions(bad),
        (e: unknown) => e instanceof MedStreamError && e.code === 'CONFIG_INVALID',
        JSON.stringify(bad),
      );
    }
  });
});
