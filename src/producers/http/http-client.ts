import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { Agent, interceptors, request } from 'undici';
import type { Dispatcher } from 'undici';
import { MedStreamError, isMedStreamError } from '../../errors.js';
import type { RetryPolicy } from './backoff.js';
import { defaultRetryPolicy, fullJitterDelayMs, parseRetryAfterMs } from './backoff.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { RateLimiter } from './rate-limiter.js';

/**
 * The producers' HTTP layer: one undici agent, per-phase timeouts, a shared rate limiter, and
 * retries with full-jitter exponential backoff that honour Retry-After.
 *
 * Classification (by MedStreamError code, never by message):
 *   HTTP_STATUS          retriable for 408, 429 and 5xx; any other status is final
 *   HTTP_TIMEOUT         connect / headers / body-idle / whole-attempt timeout — retriable
 *   NETWORK              reset, refused, closed mid-body — retriable (DNS "not found" is not)
 *   HTTP_BODY_INCOMPLETE fewer bytes than Content-Length, a broken gzip stream, or a parser
 *                        saying the document is cut short — retriable
 * Anything else thrown by undici (invalid URL, invalid argument) is a programmer error and is
 * rethrown untouched, never retried. An abort through the caller's signal is rethrown as is.
 */

/**
 * undici runs the connect, headers and body timers on its coarse "fast timers" (about one
 * second of resolution), so they may fire up to ~1 s late; `attemptMs` is a precise native
 * timer.
 */
export interface HttpTimeouts {
  /** TCP + TLS handshake. */
  connectMs: number;
  /** From request sent to response headers received. */
  headersMs: number;
  /** Longest silence between two body chunks. */
  bodyIdleMs: number;
  /** Whole attempt, headers and body; guards against a server that drips bytes forever. */
  attemptMs: number;
}

export const defaultTimeouts: Readonly<HttpTimeouts> = Object.freeze({
  connectMs: 10_000,
  headersMs: 60_000,
  bodyIdleMs: 60_000,
  attemptMs: 300_000,
});

export interface HttpResponse {
  /** The requested URL with credentials masked (see redactUrl). */
  url: string;
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Readonly<Record<string, string>>;
  /** Decoded body (gzip content-encoding already removed). */
  body: Buffer;
  /** Attempts this response took, 1 when the first one succeeded. */
  attempts: number;
}

export interface RetryEvent {
  url: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  /** True when the delay came from a Retry-After header. */
  retryAfter: boolean;
  error: MedStreamError;
}

export interface HttpClientOptions {
  /** Every attempt (retries included) takes a slot; omit for no limit. */
  limiter?: RateLimiter;
  timeouts?: Partial<HttpTimeouts>;
  retry?: Partial<RetryPolicy>;
  clock?: Clock;
  /** Uniform in [0, 1); injected so tests get deterministic jitter. */
  random?: () => number;
  userAgent?: string;
  /** Responses larger than this fail with HTTP_BODY_TOO_LARGE (buffered requests only). */
  maxBodyBytes?: number;
  /** Replaces the built-in agent (then `timeouts` other than attemptMs are the caller's job). */
  dispatcher?: Dispatcher;
  onRetry?: (event: RetryEvent) => void;
}

export interface RequestOptions {
  headers?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  /** Ask for gzip transfer encoding and decode it (buffered requests only). */
  acceptGzip?: boolean;
}

export interface DownloadResult {
  bytes: number;
  /** Hex MD5 of the bytes written, computed while streaming. */
  md5: string;
  attempts: number;
}

export interface HttpClientStats {
  /** Attempts started, retries included. */
  requests: number;
  retries: number;
  bytes: number;
}

const RETRIABLE_NETWORK_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
]);
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const ERROR_BODY_SNIPPET_BYTES = 2048;

export class HttpClient {
  readonly stats: HttpClientStats = { requests: 0, retries: 0, bytes: 0 };
  private readonly limiter: RateLimiter | undefined;
  private readonly timeouts: HttpTimeouts;
  private readonly policy: RetryPolicy;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly userAgent: string;
  private readonly maxBodyBytes: number;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;
  private closed = false;

  constructor(options: HttpClientOptions = {}) {
    this.limiter = options.limiter;
    this.timeouts = { ...defaultTimeouts, ...options.timeouts };
    this.policy = { ...defaultRetryPolicy, ...options.retry };
    if (!Number.isInteger(this.policy.maxAttempts) || this.policy.maxAttempts < 1) {
      throw new RangeError(`retry.maxAttempts must be ≥ 1, got ${this.policy.maxAttempts}`);
    }
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.userAgent = options.userAgent ?? 'medstream/0.1';
    this.maxBodyBytes = options.maxBodyBytes ?? 512 * 1024 * 1024;
    this.onRetry = options.onRetry;
    if (options.dispatcher === undefined) {
      this.dispatcher = new Agent({
        connectTimeout: this.timeouts.connectMs,
        headersTimeout: this.timeouts.headersMs,
        bodyTimeout: this.timeouts.bodyIdleMs,
      }).compose(interceptors.redirect({ maxRedirections: 5 }));
      this.ownsDispatcher = true;
    } else {
      this.dispatcher = options.dispatcher;
      this.ownsDispatcher = false;
    }
  }

  /** GET with the whole body buffered; see `getParsed` to make body defects retriable. */
  async get(url: string, options: RequestOptions = {}): Promise<HttpResponse> {
    return this.getParsed(url, (response) => response, options);
  }

  /**
   * GET, then `parse` the buffered response inside the retry loop: a retriable MedStreamError
   * thrown by `parse` (e.g. HTTP_BODY_INCOMPLETE for an XML page without its end tag) retries
   * the request like a network failure would.
   */
  async getParsed<T>(
    url: string,
    parse: (response: HttpResponse) => T,
    options: RequestOptions = {},
  ): Promise<T> {
    const shown = redactUrl(url);
    return this.withRetries(shown, options.signal, async (signal, attempt, reached) => {
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...options.headers };
      if (options.acceptGzip === true) headers['accept-encoding'] = 'gzip';
      const res = await request(url, {
        method: 'GET',
        headers,
        signal,
        dispatcher: this.dispatcher,
      });
      reached(); // response headers are here, so the server has counted this request
      await this.throwOnBadStatus(shown, res);
      const raw = await this.readBody(shown, res);
      const responseHeaders = flattenHeaders(res.headers);
      checkContentLength(shown, responseHeaders, raw.length);
      const body = decodeBody(shown, responseHeaders, raw);
      return parse({
        url: shown,
        status: res.statusCode,
        headers: responseHeaders,
        body,
        attempts: attempt,
      });
    });
  }

  /**
   * Streams a GET to `path` (truncated at each attempt), hashing with MD5 on the way and
   * fsyncing before returning, so the caller can verify a checksum before trusting the file.
   * Bodies are never decoded: the bytes on disk are the bytes the server published.
   */
  async download(url: string, path: string, options: RequestOptions = {}): Promise<DownloadResult> {
    const shown = redactUrl(url);
    return this.withRetries(shown, options.signal, async (signal, attempt, reached) => {
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...options.headers };
      const res = await request(url, {
        method: 'GET',
        headers,
        signal,
        dispatcher: this.dispatcher,
      });
      reached(); // response headers are here, so the server has counted this request
      await this.throwOnBadStatus(shown, res);
      const responseHeaders = flattenHeaders(res.headers);
      const hash = createHash('md5');
      let bytes = 0;
      const file = await open(path, 'w');
      try {
        try {
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            hash.update(chunk);
            bytes += chunk.length;
            this.stats.bytes += chunk.length;
            await file.write(chunk);
          }
        } catch (error) {
          throw classifyTransportError(shown, error, signal);
        }
        checkContentLength(shown, responseHeaders, bytes);
        await file.sync();
      } finally {
        await file.close();
      }
      return { bytes, md5: hash.digest('hex'), attempts: attempt };
    });
  }

  /** Idempotent; only closes the agent this client created. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** `url` here is the redacted one: it only ever reaches messages and events. */
  private async withRetries<T>(
    url: string,
    callerSignal: AbortSignal | undefined,
    attemptFn: (signal: AbortSignal, attempt: number, reached: () => void) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const reached = (await this.limiter?.acquire(callerSignal)) ?? noop;
      this.stats.requests += 1;
      const timeout = new AbortController();
      const timer = setTimeout(() => {
        timeout.abort(
          new MedStreamError(
            'HTTP_TIMEOUT',
            `GET ${url}: no complete response within ${this.timeouts.attemptMs} ms`,
          ),
        );
      }, this.timeouts.attemptMs);
      timer.unref();
      const signal =
        callerSignal === undefined
          ? timeout.signal
          : AbortSignal.any([callerSignal, timeout.signal]);
      let failure: MedStreamError;
      try {
        return await attemptFn(signal, attempt, reached);
      } catch (error) {
        if (callerSignal?.aborted === true) throw callerSignal.reason;
        if (timeout.signal.aborted && timeout.signal.reason instanceof MedStreamError) {
          failure = timeout.signal.reason;
        } else if (isMedStreamError(error)) {
          failure = error;
        } else {
          const classified = classifyTransportError(url, error, signal);
          if (!isMedStreamError(classified)) throw classified;
          failure = classified;
        }
      } finally {
        clearTimeout(timer);
        reached();
      }
      if (!failure.retriable || attempt >= this.policy.maxAttempts) {
        throw withAttempts(failure, attempt);
      }
      const retryAfterMs = failure.details['retryAfterMs'];
      let delayMs: number;
      if (typeof retryAfterMs === 'number') {
        if (retryAfterMs > this.policy.maxRetryAfterMs) throw withAttempts(failure, attempt);
        // The server's counter is per client, not per request: hold every request back.
        this.limiter?.pauseUntil(this.clock.now() + retryAfterMs);
        delayMs = retryAfterMs;
      } else {
        delayMs = fullJitterDelayMs(attempt, this.policy, this.random);
      }
      this.stats.retries += 1;
      this.onRetry?.({
        url,
        attempt,
        delayMs,
        retryAfter: typeof retryAfterMs === 'number',
        error: failure,
      });
      await this.clock.sleep(delayMs, callerSignal);
    }
  }

  private async throwOnBadStatus(url: string, res: Dispatcher.ResponseData): Promise<void> {
    const status = res.statusCode;
    if (status >= 200 && status < 300) return;
    let snippet = '';
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (size < ERROR_BODY_SNIPPET_BYTES) chunks.push(chunk);
        size += chunk.length;
      }
      snippet = Buffer.concat(chunks).subarray(0, ERROR_BODY_SNIPPET_BYTES).toString('utf8');
    } catch {
      // The status is the error; a body that also breaks adds nothing.
    }
    const headers = flattenHeaders(res.headers);
    const retryAfterMs =
      status === 429 || status === 503
        ? parseRetryAfterMs(headers['retry-after'], this.clock.now())
        : undefined;
    const retriable = status === 408 || status === 429 || status >= 500;
    throw new MedStreamError(
      'HTTP_STATUS',
      `GET ${url}: HTTP ${status} ${oneLine(snippet)}`.trim(),
      {
        retriable,
        details: {
          url,
          status,
          body: snippet,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        },
      },
    );
  }

  private async readBody(url: string, res: Dispatcher.ResponseData): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        this.stats.bytes += chunk.length;
        if (size > this.maxBodyBytes) {
          res.body.destroy();
          throw new MedStreamError(
            'HTTP_BODY_TOO_LARGE',
            `GET ${url}: response larger than ${this.maxBodyBytes} bytes`,
          );
        }
        chunks.push(chunk);
      }
    } catch (error) {
      if (isMedStreamError(error)) throw error;
      throw classifyTransportError(url, error, undefined);
    }
    return Buffer.concat(chunks, size);
  }
}

/**
 * URLs reach error messages, details and logs; credentials in the query string must not.
 * Masks NCBI's `api_key` and the usual secret-bearing parameter names.
 */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:api_?key|access_token|token|password|secret)=)[^&#]*/gi, '$1***');
}

function noop(): void {}

function flattenHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function checkContentLength(url: string, headers: Record<string, string>, received: number): void {
  const declared = headers['content-length'];
  if (declared === undefined || !/^\d+$/.test(declared)) return;
  const expected = Number(declared);
  if (received !== expected) {
    throw new MedStreamError(
      'HTTP_BODY_INCOMPLETE',
      `GET ${url}: received ${received} of ${expected} bytes (Content-Length)`,
      { details: { url, expected, received } },
    );
  }
}

function decodeBody(url: string, headers: Record<string, string>, raw: Buffer): Buffer {
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding === undefined || encoding === '' || encoding === 'identity') return raw;
  if (encoding === 'gzip' || encoding === 'x-gzip') {
    try {
      return gunzipSync(raw);
    } catch (error) {
      // A gzip stream that does not end properly is a cut-off transfer.
      throw new MedStreamError('HTTP_BODY_INCOMPLETE', `GET ${url}: gzip body is incomplete`, {
        cause: error,
        details: { url },
      });
    }
  }
  throw new MedStreamError('HTTP_STATUS', `GET ${url}: unsupported Content-Encoding ${encoding}`, {
    retriable: false,
    details: { url },
  });
}

/** Maps an error thrown by undici or a socket to a MedStreamError, or returns it unchanged. */
function classifyTransportError(
  url: string,
  error: unknown,
  signal: AbortSignal | undefined,
): unknown {
  if (isMedStreamError(error)) return error;
  if (signal?.aborted === true && signal.reason instanceof MedStreamError) return signal.reason;
  const code = errorCode(error);
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new MedStreamError('HTTP_TIMEOUT', `GET ${url}: ${code}`, {
      cause: error,
      details: { url, code },
    });
  }
  if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
    return new MedStreamError(
      'HTTP_BODY_INCOMPLETE',
      `GET ${url}: body shorter than Content-Length`,
      {
        cause: error,
        details: { url, code },
      },
    );
  }
  if (code !== undefined && RETRIABLE_NETWORK_CODES.has(code)) {
    return new MedStreamError('NETWORK', `GET ${url}: ${code} ${describe(error)}`.trim(), {
      cause: error,
      details: { url, code },
    });
  }
  if (code === 'ENOTFOUND') {
    return new MedStreamError('NETWORK', `GET ${url}: host not found`, {
      cause: error,
      retriable: false,
      details: { url, code },
    });
  }
  return error;
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : '';
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').slice(0, 200);
}

function withAttempts(error: MedStreamError, attempts: number): MedStreamError {
  if (error.details['attempts'] === attempts) return error;
  return new MedStreamError(error.code, error.message, {
    cause: error.cause,
    retriable: error.retriable,
    details: { ...error.details, attempts },
  });
}
