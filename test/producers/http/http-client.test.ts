import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MedStreamError } from '../../../src/errors.js';
import { assertXmlComplete } from '../../../src/producers/http/body-checks.js';
import type { HttpClientOptions, RetryEvent } from '../../../src/producers/http/http-client.js';
import { HttpClient, redactUrl } from '../../../src/producers/http/http-client.js';
import { RateLimiter } from '../../../src/producers/http/rate-limiter.js';
import { FakeClock } from './fake-clock.js';
import type { Step } from './scripted-server.js';
import { ok, reset, slow, startScriptedServer, status, truncated } from './scripted-server.js';

const XML = '<?xml version="1.0"?>\n<PubmedArticleSet><PubmedArticle/></PubmedArticleSet>\n';

function client(clock: FakeClock, extra: Partial<HttpClientOptions> = {}) {
  const retries: RetryEvent[] = [];
  const http = new HttpClient({
    clock,
    random: () => 0.5,
    retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 },
    timeouts: { headersMs: 5000, bodyIdleMs: 5000, attemptMs: 400 },
    onRetry: (event) => retries.push(event),
    ...extra,
  });
  return { http, retries };
}

async function withServer<T>(
  steps: Step[],
  clock: FakeClock,
  run: (url: string, arrivals: number[]) => Promise<T>,
): Promise<T> {
  const server = await startScriptedServer(steps, () => clock.now());
  try {
    return await run(server.url, server.fakeArrivals);
  } finally {
    await server.close();
  }
}

function isCode(code: string, retriable?: boolean) {
  return (error: unknown): boolean =>
    error instanceof MedStreamError &&
    error.code === code &&
    (retriable === undefined || error.retriable === retriable);
}

describe('HttpClient retries', () => {
  test('429 with Retry-After in seconds is honoured exactly, on the injected clock', async () => {
    const clock = new FakeClock();
    const { http, retries } = client(clock);
    await withServer(
      [status(429, { 'retry-after': '7' }, '{"error":"API rate limit exceeded"}'), ok(XML)],
      clock,
      async (url, arrivals) => {
        const res = await http.get(`${url}/efetch.fcgi`);
        assert.equal(res.status, 200);
        assert.equal(res.attempts, 2);
        assert.deepEqual(clock.sleeps, [7000]);
        assert.ok(arrivals[1] - arrivals[0] >= 7000, 'second attempt not before Retry-After');
        assert.equal(retries.length, 1);
        assert.equal(retries[0].retryAfter, true);
        assert.equal(retries[0].error.code, 'HTTP_STATUS');
      },
    );
    await http.close();
  });

  test('Retry-After as an HTTP date is honoured', async () => {
    const clock = new FakeClock(Date.UTC(2024, 0, 10, 12, 0, 0));
    const { http } = client(clock);
    const date = new Date(clock.now() + 12_000).toUTCString();
    await withServer([status(503, { 'retry-after': date }), ok(XML)], clock, async (url) => {
      await http.get(url);
      assert.deepEqual(clock.sleeps, [12_000]);
    });
    await http.close();
  });

  test('a Retry-After on 429 also holds back every other request sharing the limiter', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ maxRequests: 100, clock });
    const { http } = client(clock, { limiter });
    await withServer([status(429, { 'retry-after': '5' }), ok(XML)], clock, async (url) => {
      const t0 = clock.now();
      await http.get(url);
      await limiter.acquire();
      assert.ok(clock.now() >= t0 + 5000);
    });
    await http.close();
  });

  test('500, reset, truncated body and slow headers are retried with full-jitter backoff', async () => {
    const clock = new FakeClock();
    const { http, retries } = client(clock);
    await withServer(
      [status(500), reset, truncated(XML), slow(700, ok(XML)), ok(XML)],
      clock,
      async (url) => {
        const res = await http.get(url);
        assert.equal(res.body.toString(), XML);
        assert.equal(res.attempts, 5);
      },
    );
    assert.deepEqual(
      retries.map((r) => r.error.code),
      ['HTTP_STATUS', 'NETWORK', retries[2].error.code, 'HTTP_TIMEOUT'],
    );
    assert.ok(['NETWORK', 'HTTP_BODY_INCOMPLETE'].includes(retries[2].error.code));
    // random() = 0.5 → half of min(cap, base·2^(n−1)): 50, 100, 200, 400
    assert.deepEqual(clock.sleeps, [50, 100, 200, 400]);
    await http.close();
  });

  test("undici's headers and body-idle timeouts are HTTP_TIMEOUT and retried", async () => {
    const stallBody: Step = async (_req, res) => {
      res.writeHead(200, { 'content-length': XML.length });
      res.write(XML.slice(0, 10));
      await new Promise((resolve) => setTimeout(resolve, 1800));
      if (!res.destroyed) res.end(XML.slice(10));
    };
    // undici's timers tick about once a second: run both cases side by side.
    const cases = [
      [slow(1800, ok(XML)), 'UND_ERR_HEADERS_TIMEOUT'],
      [stallBody, 'UND_ERR_BODY_TIMEOUT'],
    ] as const;
    await Promise.all(
      cases.map(async ([step, undiciCode]) => {
        const clock = new FakeClock();
        const { http, retries } = client(clock, {
          timeouts: { headersMs: 200, bodyIdleMs: 200, attemptMs: 10_000 },
        });
        await withServer([step, ok(XML)], clock, async (url) => {
          assert.equal((await http.get(url)).attempts, 2);
        });
        assert.deepEqual(
          retries.map((r) => [r.error.code, r.error.details['code']]),
          [['HTTP_TIMEOUT', undiciCode]],
        );
        await http.close();
      }),
    );
  });

  test('an XML page cut short with a valid Content-Length is retried (parse-time check)', async () => {
    const clock = new FakeClock();
    const { http } = client(clock);
    await withServer([ok(XML.slice(0, 40)), ok(XML)], clock, async (url) => {
      const root = await http.getParsed(url, (res) => assertXmlComplete(res.body));
      assert.equal(root, 'PubmedArticleSet');
    });
    assert.equal(http.stats.retries, 1);
    await http.close();
  });

  test('404 and 400 fail at once; 408 is retried', async () => {
    const clock = new FakeClock();
    const { http } = client(clock);
    await withServer([status(404)], clock, async (url) => {
      await assert.rejects(http.get(url), isCode('HTTP_STATUS', false));
    });
    await withServer([status(400, {}, '{"error":"API key invalid"}')], clock, async (url) => {
      await assert.rejects(http.get(url), (error: unknown) => {
        assert.ok(isCode('HTTP_STATUS', false)(error));
        assert.match((error as Error).message, /API key invalid/);
        return true;
      });
    });
    assert.equal(http.stats.retries, 0);
    await withServer([status(408), ok(XML)], clock, async (url) => {
      assert.equal((await http.get(url)).attempts, 2);
    });
    await http.close();
  });

  test('the attempt budget is bounded and the last error says how many attempts', async () => {
    const clock = new FakeClock();
    const { http } = client(clock, { retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 } });
    await withServer([status(502)], clock, async (url, arrivals) => {
      await assert.rejects(http.get(url), (error: unknown) => {
        assert.ok(isCode('HTTP_STATUS', true)(error));
        assert.equal((error as MedStreamError).details['attempts'], 3);
        return true;
      });
      assert.equal(arrivals.length, 3);
    });
    await http.close();
  });

  test('a Retry-After beyond maxRetryAfterMs is not waited for', async () => {
    const clock = new FakeClock();
    const { http } = client(clock, { retry: { maxRetryAfterMs: 60_000 } });
    await withServer([status(429, { 'retry-after': '3600' })], clock, async (url) => {
      await assert.rejects(http.get(url), isCode('HTTP_STATUS', true));
      assert.deepEqual(clock.sleeps, []);
    });
    await http.close();
  });

  test('gzip bodies are decoded; a cut gzip body is HTTP_BODY_INCOMPLETE and retried', async () => {
    const clock = new FakeClock();
    const { http } = client(clock);
    const gz = gzipSync(Buffer.from(XML));
    await withServer(
      [
        ok(gz.subarray(0, gz.length - 6), { 'content-encoding': 'gzip' }),
        ok(gz, { 'content-encoding': 'gzip' }),
      ],
      clock,
      async (url) => {
        const res = await http.get(url, { acceptGzip: true });
        assert.equal(res.body.toString(), XML);
      },
    );
    assert.equal(http.stats.retries, 1);
    await http.close();
  });

  test('the caller can abort a request waiting for its retry', async () => {
    const controller = new AbortController();
    const clock = new FakeClock();
    const { http } = client(clock, {
      onRetry: () => controller.abort(new Error('stop')),
    });
    await withServer([status(500)], clock, async (url) => {
      await assert.rejects(http.get(url, { signal: controller.signal }), /stop/);
    });
    await http.close();
  });

  test('credentials in URLs are masked in errors', async () => {
    assert.equal(
      redactUrl('https://x/esearch.fcgi?db=pubmed&api_key=SECRET&tool=t'),
      'https://x/esearch.fcgi?db=pubmed&api_key=***&tool=t',
    );
    const clock = new FakeClock();
    const { http } = client(clock);
    await withServer([status(404)], clock, async (url) => {
      await assert.rejects(http.get(`${url}/e?api_key=SECRET`), (error: unknown) => {
        assert.doesNotMatch((error as Error).message, /SECRET/);
        assert.doesNotMatch(JSON.stringify((error as MedStreamError).details), /SECRET/);
        return true;
      });
    });
    await http.close();
  });
});

describe('HttpClient.download', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medstream-http-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('streams to disk with MD5, restarting a download cut short', async () => {
    const clock = new FakeClock();
    const { http } = client(clock);
    const payload = Buffer.alloc(256 * 1024, 7);
    const md5 = createHash('md5').update(payload).digest('hex');
    const path = join(dir, 'file.bin');
    await withServer(
      [
        async (_req, res) => {
          res.writeHead(200, { 'content-length': payload.length });
          res.write(payload.subarray(0, 1000));
          await new Promise((resolve) => setTimeout(resolve, 10));
          res.socket?.destroy();
        },
        ok(payload),
      ],
      clock,
      async (url) => {
        const result = await http.download(url, path);
        assert.equal(result.bytes, payload.length);
        assert.equal(result.md5, md5);
        assert.equal(result.attempts, 2);
      },
    );
    assert.deepEqual(await readFile(path), payload);
    await http.close();
  });
});

describe('assertXmlComplete', () => {
  const ok = (xml: string) => assertXmlComplete(Buffer.from(xml));
  test('accepts complete documents with prolog, DOCTYPE, comments and trailing space', () => {
    assert.equal(
      ok(
        '\uFEFF<?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE a PUBLIC "x" "y" [ <!ENTITY e "f"> ]>\n<a><b/></a>\n\n',
      ),
      'a',
    );
    assert.equal(ok('<eSearchResult/>'), 'eSearchResult');
  });
  test('rejects a document cut short, or not XML, as retriable HTTP_BODY_INCOMPLETE', () => {
    assert.throws(() => ok('<?xml version="1.0"?><a><b/>'), isCode('HTTP_BODY_INCOMPLETE', true));
    assert.throws(() => ok('<a><b/></a'), isCode('HTTP_BODY_INCOMPLETE', true));
    assert.throws(() => ok('<html'), isCode('HTTP_BODY_INCOMPLETE', true));
    assert.throws(() => ok('{"error":"x"}'), isCode('HTTP_BODY_INCOMPLETE', true));
  });
});
