import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MedStreamError } from '../../../src/errors.js';
import type { EutilsWindow } from '../../../src/producers/eutils/date-windows.js';
import { describeWindow } from '../../../src/producers/eutils/date-windows.js';
import type { EsearchRetmode } from '../../../src/producers/eutils/eutils-client.js';
import { EutilsClient } from '../../../src/producers/eutils/eutils-client.js';
import { readEutilsCheckpoint } from '../../../src/producers/eutils/eutils-checkpoint.js';
import type {
  EutilsItem,
  EutilsSourceOptions,
} from '../../../src/producers/eutils/eutils-source.js';
import { eutilsSource, pageBytes } from '../../../src/producers/eutils/eutils-source.js';
import { parsePubmedXml } from '../../../src/producers/pubmed-xml/parse-pubmed-xml.js';
import { HttpClient } from '../../../src/producers/http/http-client.js';
import { RateLimiter } from '../../../src/producers/http/rate-limiter.js';
import { FakeClock } from '../http/fake-clock.js';
import type { Fault, FakeEutils, RecordedRequest } from './fake-eutils-server.js';
import { startFakeEutils } from './fake-eutils-server.js';
import { scanPmids } from './pubmed-sample-articles.js';

/** Five days of PubMed: an empty day, one-page days, a three-page day (page size 10). */
function fiveDays(): Map<string, number[]> {
  const counts = [0, 7, 23, 1, 12];
  const days = new Map<string, number[]>();
  let pmid = 38_000_000;
  counts.forEach((count, i) => {
    days.set(
      `2024-01-0${i + 1}`,
      Array.from({ length: count }, () => (pmid += 3)),
    );
  });
  return days;
}

function allPmids(days: Map<string, number[]>): number[] {
  return [...days.values()].flat().sort((a, b) => a - b);
}

function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while (sorted[end] - sorted[start] >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

interface Harness {
  server: FakeEutils;
  http: HttpClient;
  clock: FakeClock;
  options: (extra?: Partial<EutilsSourceOptions>) => EutilsSourceOptions;
  close: () => Promise<void>;
}

async function harness(
  days: Map<string, number[]>,
  config: {
    fault?: (request: RecordedRequest) => Fault | undefined;
    retmode?: EsearchRetmode;
    checkpointPath?: string;
    gzip?: boolean;
  } = {},
): Promise<Harness> {
  const clock = new FakeClock();
  const server = await startFakeEutils({
    days,
    fakeNow: () => clock.now(),
    ...(config.fault === undefined ? {} : { fault: config.fault }),
    ...(config.gzip === undefined ? {} : { gzip: config.gzip }),
  });
  const http = new HttpClient({
    clock,
    limiter: new RateLimiter({ maxRequests: 3, clock }),
    random: () => 0.5,
    retry: { maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 5000 },
    // attemptMs is the precise per-attempt deadline (undici's own timers tick once a second).
    timeouts: { headersMs: 5000, bodyIdleMs: 5000, attemptMs: 400 },
  });
  const client = new EutilsClient({
    http,
    baseUrl: server.baseUrl,
    tool: 'medstream-test',
    email: 'dev@example.org',
    retmode: config.retmode ?? 'json',
  });
  return {
    server,
    http,
    clock,
    options: (extra = {}) => ({
      client,
      since: '2024-01-01',
      until: '2024-01-05',
      pageSize: 10,
      clock,
      ...(config.checkpointPath === undefined ? {} : { checkpointPath: config.checkpointPath }),
      ...extra,
    }),
    close: async () => {
      await http.close();
      await server.close();
    },
  };
}

interface Consumed {
  /** PMIDs of every page received. */
  received: number[];
  /** PMIDs of windows whose commit() completed. */
  committed: number[];
  windows: EutilsWindow[];
  items: EutilsItem[];
}

/** The consumer contract: produce each page; at window end, "flush" then commit. */
async function consume(
  source: AsyncIterable<EutilsItem>,
  crash?: (item: EutilsItem, consumed: Consumed) => boolean,
): Promise<Consumed> {
  const out: Consumed = { received: [], committed: [], windows: [], items: [] };
  let inWindow: number[] = [];
  for await (const item of source) {
    out.items.push(item);
    if (crash?.(item, out) === true) throw new Error('simulated crash');
    if (item.kind === 'page') {
      const pmids = scanPmids(item.xml.toString('utf8'));
      assert.equal(pmids.length, item.articles);
      out.received.push(...pmids);
      inWindow.push(...pmids);
    } else {
      out.windows.push(item.window);
      await item.commit();
      out.committed.push(...inWindow);
      inWindow = [];
    }
  }
  return out;
}

function assertExactlyOnce(got: number[], expected: number[]): void {
  assert.equal(new Set(got).size, got.length, 'duplicates delivered');
  assert.deepEqual(
    [...got].sort((a, b) => a - b),
    expected,
  );
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medstream-eutils-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('eutils source against a faulty E-utilities server', () => {
  for (const retmode of ['json', 'xml'] as const) {
    test(`retmode=${retmode}: 429/500/reset/truncation/timeout all recovered, every article exactly once`, async () => {
      const days = fiveDays();
      const faults = new Map<number, Fault>([
        [2, { kind: 'status', status: 429, retryAfter: '2' }],
        [4, { kind: 'status', status: 500 }],
        [6, { kind: 'reset' }],
        [8, { kind: 'truncate-length' }],
        [10, { kind: 'truncate-xml' }],
        [12, { kind: 'slow', ms: 700 }],
        [14, { kind: 'status', status: 503, retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT' }],
      ]);
      const checkpointPath = join(dir, `faults-${retmode}.json`);
      const h = await harness(days, {
        retmode,
        checkpointPath,
        fault: (r) => faults.get(r.index),
      });
      try {
        const consumed = await consume(eutilsSource(h.options()));
        assertExactlyOnce(consumed.received, allPmids(days));
        assert.deepEqual(
          consumed.windows.map((w) => w.from),
          ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05'],
        );
        assert.equal(h.http.stats.retries, faults.size);

        // Retry-After: 2 s — the retry reached the server 2 s (fake) after the 429.
        const after429 = h.server.requests[3];
        assert.ok(after429.fakeAt! - h.server.requests[2].fakeAt! >= 2000);
        // Never more than 3 requests in any second of the (fake) clock the limiter runs on.
        assert.ok(
          maxInWindow(
            h.server.requests.map((r) => r.fakeAt!),
            1000,
          ) <= 3,
        );
        // Identification parameters on every request; esearch in history mode.
        for (const r of h.server.requests) {
          assert.equal(r.params.get('tool'), 'medstream-test');
          assert.equal(r.params.get('email'), 'dev@example.org');
        }
        const esearch = h.server.requests.find((r) => r.tool === 'esearch.fcgi')!;
        assert.equal(esearch.params.get('usehistory'), 'y');
        assert.equal(esearch.params.get('datetype'), 'edat');
        assert.equal(esearch.params.get('mindate'), '2024/01/01');
        assert.equal(esearch.params.get('retmode'), retmode);

        const saved = await readEutilsCheckpoint(checkpointPath);
        assert.equal(saved?.lastWindow.to, '2024-01-05');
        assert.equal(saved?.articles, allPmids(days).length);
      } finally {
        await h.close();
      }
    });
  }

  test('gzip-encoded responses are decoded; pages feed parsePubmedXml', async () => {
    const days = fiveDays();
    const h = await harness(days, { gzip: true });
    try {
      const consumed = await consume(eutilsSource(h.options()));
      assertExactlyOnce(consumed.received, allPmids(days));
      const parsed: number[] = [];
      for (const item of consumed.items) {
        if (item.kind !== 'page') continue;
        for await (const event of parsePubmedXml(pageBytes(item), { source: 'eutils' })) {
          assert.equal(event.kind, 'article');
          if (event.kind === 'article') parsed.push(Number(event.article.pmid));
        }
      }
      assertExactlyOnce(parsed, allPmids(days));
    } finally {
      await h.close();
    }
  });

  test('restart after a crash resumes at the first uncommitted window: no gap, no duplicate', async () => {
    const days = fiveDays();
    const checkpointPath = join(dir, 'resume.json');
    const h = await harness(days, { checkpointPath });
    try {
      // Run 1 dies after the first page of 2024-01-03, before that window's commit.
      let firstRun: Consumed | undefined;
      await assert.rejects(
        consume(eutilsSource(h.options()), (item, consumed) => {
          firstRun = consumed;
          return item.kind === 'page' && item.window.from === '2024-01-03' && item.index === 1;
        }),
        /simulated crash/,
      );
      assert.deepEqual(firstRun!.windows.map(describeWindow), ['2024-01-01', '2024-01-02']);
      assert.equal((await readEutilsCheckpoint(checkpointPath))?.lastWindow.to, '2024-01-02');

      const requestsBefore = h.server.requests.length;
      const events: string[] = [];
      const second = await consume(
        eutilsSource(h.options({ onEvent: (e) => events.push(e.kind) })),
      );
      assert.ok(events.includes('resume'));
      assert.equal(second.windows[0].from, '2024-01-03');
      const secondSearches = h.server.requests
        .slice(requestsBefore)
        .filter((r) => r.tool === 'esearch.fcgi');
      assert.ok(secondSearches.every((r) => r.params.get('mindate')! >= '2024/01/03'));
      assertExactlyOnce([...firstRun!.committed, ...second.received], allPmids(days));

      // A third run has nothing left to do.
      const third = await consume(eutilsSource(h.options()));
      assert.equal(third.items.length, 0);
    } finally {
      await h.close();
    }
  });

  test('a window over the efetch limit is split by days, then by PMID range; resume inside a split day', async () => {
    const days = new Map<string, number[]>([
      ['2024-02-01', [30_000_001, 30_000_002, 30_000_003]],
      ['2024-02-02', Array.from({ length: 40 }, (_, i) => 35_000_000 + i * 9_973)],
      ['2024-02-03', [39_000_001]],
      ['2024-02-04', []],
    ]);
    const checkpointPath = join(dir, 'split.json');
    const h = await harness(days, { checkpointPath });
    h.clock.time = Date.UTC(2024, 2, 1); // February is settled
    const base = { since: '2024-02-01', until: '2024-02-04', windowDays: 4, maxPerWindow: 15 };
    try {
      let firstRun: Consumed | undefined;
      await assert.rejects(
        consume(eutilsSource(h.options(base)), (item, consumed) => {
          firstRun = consumed;
          // Crash inside 2024-02-02 after two of its PMID sub-windows were committed.
          return (
            item.kind === 'window-done' &&
            consumed.windows.filter((w) => w.uidRange !== undefined).length === 2
          );
        }),
        /simulated crash/,
      );
      const saved = await readEutilsCheckpoint(checkpointPath);
      assert.equal(saved?.lastWindow.from, '2024-02-02');
      assert.ok(saved?.lastWindow.uidRange !== undefined);

      const second = await consume(eutilsSource(h.options(base)));
      const all = [...firstRun!.committed, ...second.received];
      assertExactlyOnce(all, allPmids(days));
      for (const w of [...firstRun!.windows, ...second.windows]) {
        assert.ok(w.uidRange === undefined || w.from === w.to, 'PMID split only within one day');
      }
      // Every esearch that led to pages was within the limit.
      for (const item of second.items) {
        if (item.kind === 'window-done') assert.ok(item.count <= 15);
      }
      const term = h.server.requests.find((r) => /\[uid\]/.test(r.params.get('term') ?? ''));
      assert.match(term!.params.get('term')!, /^\(all\[sb\]\) AND \d+:\d+\[uid\]$/);
    } finally {
      await h.close();
    }
  });

  test('a lost WebEnv is renewed by a new esearch and the window continues where it was', async () => {
    const days = fiveDays();
    let efetches = 0;
    const h = await harness(days, {
      fault: (r) => {
        if (r.tool !== 'efetch.fcgi') return undefined;
        efetches += 1;
        return efetches === 3 ? { kind: 'history-expired' } : undefined;
      },
    });
    try {
      const events: string[] = [];
      const consumed = await consume(
        eutilsSource(h.options({ onEvent: (e) => events.push(e.kind) })),
      );
      assertExactlyOnce(consumed.received, allPmids(days));
      assert.ok(events.includes('history-renewed'));
    } finally {
      await h.close();
    }
  });

  test('a page with fewer articles than promised is fetched again', async () => {
    const days = fiveDays();
    let efetches = 0;
    const h = await harness(days, {
      fault: (r) => {
        if (r.tool !== 'efetch.fcgi') return undefined;
        efetches += 1;
        return efetches === 2 ? { kind: 'short-page' } : undefined;
      },
    });
    try {
      const consumed = await consume(eutilsSource(h.options()));
      assertExactlyOnce(consumed.received, allPmids(days));
      const done = consumed.items.filter((i) => i.kind === 'window-done');
      assert.ok(done.every((d) => d.missing === 0));
    } finally {
      await h.close();
    }
  });

  for (const retmode of ['json', 'xml'] as const) {
    test(`E-utilities ERROR (${retmode}, the real baderror sample) fails with EUTILS_ERROR, no retry`, async () => {
      const h = await harness(fiveDays(), { retmode, fault: () => ({ kind: 'bad-esearch' }) });
      try {
        await assert.rejects(consume(eutilsSource(h.options())), (error: unknown) => {
          assert.ok(error instanceof MedStreamError);
          assert.equal(error.code, 'EUTILS_ERROR');
          assert.equal(error.retriable, false);
          assert.match(error.message, /Invalid db name specified: fleegle/);
          return true;
        });
        assert.equal(h.server.requests.length, 1);
      } finally {
        await h.close();
      }
    });
  }

  test('unsettled days are fetched but never checkpointed', async () => {
    const days = new Map<string, number[]>([
      ['2024-01-09', [1, 2]],
      ['2024-01-10', [3]],
    ]);
    const checkpointPath = join(dir, 'settle.json');
    const h = await harness(days, { checkpointPath }); // fake "today" is 2024-01-10
    try {
      const consumed = await consume(
        eutilsSource(h.options({ since: '2024-01-09', until: '2024-01-10' })),
      );
      assertExactlyOnce(consumed.received, [1, 2, 3]);
      const done = consumed.items.filter((i) => i.kind === 'window-done');
      assert.deepEqual(
        done.map((d) => d.checkpointable),
        [true, false],
      );
      assert.equal((await readEutilsCheckpoint(checkpointPath))?.lastWindow.to, '2024-01-09');
      // Default until is the last settled day.
      const again = await consume(
        eutilsSource(h.options({ since: '2024-01-09', until: undefined })),
      );
      assert.equal(again.items.length, 0);
    } finally {
      await h.close();
    }
  });

  test('a checkpoint written for another query is refused', async () => {
    const checkpointPath = join(dir, 'mismatch.json');
    const h = await harness(fiveDays(), { checkpointPath });
    try {
      await consume(eutilsSource(h.options({ until: '2024-01-01' })));
      await assert.rejects(
        consume(eutilsSource(h.options({ datetype: 'mhda' }))),
        (error: unknown) => error instanceof MedStreamError && error.code === 'CHECKPOINT_INVALID',
      );
      assert.match(await readFile(checkpointPath, 'utf8'), /"datetype": "edat"/);
    } finally {
      await h.close();
    }
  });
});

describe('eutils source, real clock', () => {
  test('with an API key the server never sees more than 10 requests in any second', async () => {
    const days = fiveDays();
    const server = await startFakeEutils({ days });
    const http = new HttpClient({ limiter: new RateLimiter({ maxRequests: 10 }) });
    try {
      const client = new EutilsClient({ http, baseUrl: server.baseUrl, apiKey: 'k', tool: 't' });
      const consumed = await consume(
        eutilsSource({ client, since: '2024-01-01', until: '2024-01-05', pageSize: 5 }),
      );
      assertExactlyOnce(consumed.received, allPmids(days));
      assert.ok(server.requests.length > 10);
      assert.ok(server.requests.every((r) => r.params.get('api_key') === 'k'));
      assert.ok(
        maxInWindow(
          server.requests.map((r) => r.at),
          1000,
        ) <= 10,
      );
    } finally {
      await http.close();
      await server.close();
    }
  });
});
