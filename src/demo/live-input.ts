import { isMedStreamError, MedStreamError } from '../errors.js';
import { addDays, formatIsoDate, toEutilsDate } from '../producers/eutils/date-windows.js';
import { DEFAULT_EUTILS_BASE_URL, EutilsClient } from '../producers/eutils/eutils-client.js';
import { countArticles } from '../producers/eutils/eutils-source.js';
import { HttpClient } from '../producers/http/http-client.js';
import type { RateLimiter } from '../producers/http/rate-limiter.js';

/**
 * The demo's live input: a handful of the newest PubMed citations from E-utilities, fetched
 * with one esearch and one efetch. Unlike `medstream ingest eutils` this is a best-effort,
 * bounded attempt: short timeouts, at most one retry, an overall deadline, no checkpoint. When
 * PubMed cannot be used the caller falls back to the shipped sample citations, so every
 * failure of the network, of HTTP or of E-utilities becomes a reason to print, never an error.
 */

/** Citations with an abstract in English: the served models read English abstracts. */
export const LIVE_TERM = 'hasabstract AND english[lang]';
export const DEFAULT_LIVE_DAYS = 3;
export const DEFAULT_LIVE_MAX_ARTICLES = 50;
export const MAX_LIVE_DAYS = 30;
/** One efetch page; E-utilities allows 10,000 but the demo is meant to finish in seconds. */
export const MAX_LIVE_ARTICLES = 500;

export interface LiveInputOptions {
  /** Entrez dates of the last `days` days (UTC), today included. */
  days: number;
  maxArticles: number;
  baseUrl?: string;
  apiKey?: string;
  tool?: string;
  email?: string;
  limiter?: RateLimiter;
  /** TCP + TLS handshake per attempt. */
  connectTimeoutMs?: number;
  /** The whole attempt, both requests and the retry included. */
  deadlineMs?: number;
  now?: () => number;
}

export interface LiveCitations {
  /** A complete PubmedArticleSet document (efetch's page). */
  xml: Buffer;
  /** Records the page holds. */
  articles: number;
  /** Records matching the search in the window. */
  found: number;
  from: string;
  to: string;
  requests: number;
}

export type LiveInputResult =
  | { ok: true; citations: LiveCitations }
  | { ok: false; reason: string; kind: 'unreachable' | 'empty' };

/** Where the demo's articles came from (also the report's and the JSON summary's field). */
export interface DemoInput {
  source: 'eutils' | 'samples';
  description: string;
  /** Why live PubMed input was not used, when it was not. */
  fallbackReason: string | null;
}

export function checkLiveOptions(options: Pick<LiveInputOptions, 'days' | 'maxArticles'>): void {
  for (const [name, value, max] of [
    ['days', options.days, MAX_LIVE_DAYS],
    ['max-articles', options.maxArticles, MAX_LIVE_ARTICLES],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new MedStreamError(
        'CONFIG_INVALID',
        `--${name} must be an integer from 1 to ${max}, got ${value}`,
      );
    }
  }
}

/**
 * Fetches up to `maxArticles` citations of the last `days` days. Returns the reason instead of
 * throwing for anything the network or PubMed can cause; programmer errors still throw.
 */
export async function fetchLiveCitations(options: LiveInputOptions): Promise<LiveInputResult> {
  checkLiveOptions(options);
  const now = options.now ?? Date.now;
  const to = formatIsoDate(now());
  const from = addDays(to, -(options.days - 1));
  const deadlineMs = options.deadlineMs ?? 20_000;
  const baseUrl = options.baseUrl ?? DEFAULT_EUTILS_BASE_URL;
  const host = new URL(baseUrl).host;
  const http = new HttpClient({
    ...(options.limiter === undefined ? {} : { limiter: options.limiter }),
    timeouts: {
      connectMs: options.connectTimeoutMs ?? 5_000,
      headersMs: deadlineMs,
      bodyIdleMs: deadlineMs,
      attemptMs: deadlineMs,
    },
    // One retry for a dropped connection or a 5xx; a long Retry-After is not waited for.
    retry: { maxAttempts: 2, baseDelayMs: 500, maxDelayMs: 1_000, maxRetryAfterMs: 2_000 },
    userAgent: `medstream/0.1 (${options.tool ?? 'medstream'}; demo)`,
  });
  const client = new EutilsClient({
    http,
    baseUrl,
    ...(options.tool === undefined ? {} : { tool: options.tool }),
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    ...(options.email === undefined ? {} : { email: options.email }),
  });
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error('deadline')), deadlineMs);
  try {
    const search = await client.esearch(
      {
        term: LIVE_TERM,
        datetype: 'edat',
        mindate: toEutilsDate(from),
        maxdate: toEutilsDate(to),
      },
      deadline.signal,
    );
    if (search.count === 0) {
      return {
        ok: false,
        kind: 'empty',
        reason: `no citations with an abstract in English have an Entrez date from ${from} to ${to}`,
      };
    }
    // esearch guarantees both when count > 0 (EutilsClient checks it).
    const xml = await client.efetchPage(
      {
        webEnv: search.webEnv ?? '',
        queryKey: search.queryKey ?? '',
        retstart: 0,
        retmax: Math.min(options.maxArticles, search.count),
      },
      deadline.signal,
    );
    const articles = countArticles(xml);
    if (articles === 0) {
      return {
        ok: false,
        kind: 'empty',
        reason: `efetch returned no articles for ${search.count} search results`,
      };
    }
    return {
      ok: true,
      citations: { xml, articles, found: search.count, from, to, requests: http.stats.requests },
    };
  } catch (error) {
    if (deadline.signal.aborted) {
      return {
        ok: false,
        kind: 'unreachable',
        reason: `${host}: no complete answer within ${deadlineMs / 1000} s`,
      };
    }
    if (isMedStreamError(error)) {
      // Messages start with "GET <url>: "; the host is enough here and the query is noise.
      const message = error.message.replace(/^GET \S+: /, '');
      return { ok: false, kind: 'unreachable', reason: `${host}: ${message} [${error.code}]` };
    }
    throw error;
  } finally {
    clearTimeout(timer);
    await http.close();
  }
}
