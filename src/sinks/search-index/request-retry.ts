import { errors } from '@opensearch-project/opensearch';
import { MedStreamError, isMedStreamError } from '../../errors.js';
import { fullJitterDelayMs } from '../../producers/http/backoff.js';
import type { Clock } from '../../producers/http/clock.js';
import { isRetriableStatus } from './bulk-response.js';

/**
 * Whole-request failures of the OpenSearch client, classified into MedStreamErrors, and the
 * retry loop around one request.
 *
 *   NETWORK             connection refused/reset, socket closed, unreadable response — retriable
 *   HTTP_TIMEOUT        the client's request timeout — retriable (the request may have been
 *                       applied; resending is harmless because every write is versioned)
 *   SERVICE_UNAVAILABLE 503, no living connection — retriable
 *   HTTP_STATUS         408, 429, 5xx and cluster blocks retriable; any other status final
 * Anything else (a serialization or configuration error of the client) is a programmer error
 * and is rethrown untouched, never retried.
 */

export interface RetrySchedule {
  /** Upper bound of the first retry's jittered delay; doubles with each retry. */
  baseDelayMs: number;
  /** Cap of the delay between two tries. */
  maxDelayMs: number;
}

export const defaultRetrySchedule: Readonly<RetrySchedule> = Object.freeze({
  baseDelayMs: 500,
  maxDelayMs: 30_000,
});

export interface SearchIndexRetryEvent {
  /** `request`: a whole request failed; `items`: some bulk items failed and are resent. */
  readonly scope: 'request' | 'items';
  /** Low-cardinality cause: an error code (`NETWORK`) or a bulk item error type. */
  readonly reason: string;
  /** Human-readable detail for logs. */
  readonly message: string;
  /** 1 for the first retry. */
  readonly attempt: number;
  readonly delayMs: number;
  /** Operations resent (items scope) or carried by the failed request. */
  readonly operations: number;
}

function errorBody(error: errors.ResponseError): { type?: string; reason?: string } {
  const body: unknown = error.meta?.body;
  if (typeof body !== 'object' || body === null) return {};
  const inner = (body as { error?: unknown }).error;
  if (typeof inner === 'object' && inner !== null) {
    const { type, reason } = inner as { type?: unknown; reason?: unknown };
    return {
      ...(typeof type === 'string' ? { type } : {}),
      ...(typeof reason === 'string' ? { reason } : {}),
    };
  }
  return typeof inner === 'string' ? { reason: inner } : {};
}

/**
 * The MedStreamError for a client failure of `what` (e.g. `bulk to pubmed-entities-x`), or
 * undefined for errors that are not the server's or the network's doing.
 */
export function classifyRequestError(error: unknown, what: string): MedStreamError | undefined {
  if (isMedStreamError(error)) return error;
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode;
    const { type, reason } = errorBody(error);
    const detail = [type, reason].filter((x) => x !== undefined).join(': ');
    const message = `${what}: HTTP ${status}${detail === '' ? '' : ` ${detail}`}`;
    const details = { status, ...(type === undefined ? {} : { type }) };
    if (status === 503) {
      return new MedStreamError('SERVICE_UNAVAILABLE', message, { cause: error, details });
    }
    const retriable = isRetriableStatus(status) || type === 'cluster_block_exception';
    const hint =
      status === 401 || status === 403
        ? ' (check OPENSEARCH_USERNAME / OPENSEARCH_PASSWORD and the user’s index permissions)'
        : '';
    return new MedStreamError('HTTP_STATUS', `${message}${hint}`, {
      cause: error,
      retriable,
      details,
    });
  }
  if (error instanceof errors.TimeoutError) {
    return new MedStreamError('HTTP_TIMEOUT', `${what}: ${error.message}`, { cause: error });
  }
  if (error instanceof errors.NoLivingConnectionsError) {
    return new MedStreamError('SERVICE_UNAVAILABLE', `${what}: ${error.message}`, {
      cause: error,
    });
  }
  if (error instanceof errors.ConnectionError || error instanceof errors.DeserializationError) {
    return new MedStreamError('NETWORK', `${what}: ${error.message}`, { cause: error });
  }
  return undefined;
}

/** A request that can be cancelled, as the OpenSearch client returns them. */
export interface AbortableRequest<T> extends PromiseLike<T> {
  abort(): void;
}

export interface RetryContext {
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly random: () => number;
  readonly schedule: RetrySchedule;
  /** Clock time after which no retry starts: the last error is thrown instead. */
  readonly deadline?: number;
  /** Operations the request carries, for the retry event. */
  readonly operations?: number;
  readonly onRetry: (event: SearchIndexRetryEvent) => void;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Runs one request; aborts it when the signal fires and then rejects with the signal's reason. */
export async function abortable<T>(
  request: AbortableRequest<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (signal === undefined) return await request;
  const onAbort = () => request.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  try {
    return await request;
  } catch (error) {
    if (signal.aborted) throw abortReason(signal);
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Sleeps on the context's clock; an abort rejects with the signal's reason. */
export async function pause(ms: number, context: RetryContext): Promise<void> {
  try {
    await context.clock.sleep(ms, context.signal);
  } catch (error) {
    if (context.signal.aborted) throw abortReason(context.signal);
    throw error;
  }
}

/**
 * Runs `request` until it succeeds, a non-retriable error occurs, the signal aborts, or the
 * deadline passes. Between tries: full-jitter exponential backoff capped at `maxDelayMs`.
 * `request` passes the signal on to its client calls (see {@link abortable}).
 */
export async function retryRequest<T>(
  what: string,
  request: (signal: AbortSignal) => Promise<T>,
  context: RetryContext,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    context.signal.throwIfAborted();
    try {
      return await request(context.signal);
    } catch (error) {
      if (context.signal.aborted) throw abortReason(context.signal);
      const classified = classifyRequestError(error, what);
      if (classified === undefined || !classified.retriable) throw classified ?? error;
      const delayMs = fullJitterDelayMs(attempt, context.schedule, context.random);
      if (context.deadline !== undefined && context.clock.now() + delayMs > context.deadline) {
        throw classified;
      }
      context.onRetry({
        scope: 'request',
        reason: classified.code,
        message: classified.message,
        attempt,
        delayMs,
        operations: context.operations ?? 0,
      });
      await pause(delayMs, context);
    }
  }
}
