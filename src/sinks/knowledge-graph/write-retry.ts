import type { MedStreamError } from '../../errors.js';
import { fullJitterDelayMs } from '../../producers/http/backoff.js';
import type { Clock } from '../../producers/http/clock.js';
import type { ClassifiedFailure } from './neo4j-errors.js';

/**
 * The two ways a graph batch survives failures: retrying the whole batch while the failure is
 * the server's or the network's (until the caller's signal aborts — an outage never drops a
 * batch), and bisecting the batch when the server refuses its data, so that one bad record is
 * rejected and every other record is written.
 */

export interface RetrySchedule {
  /** Upper bound of the first retry's jittered delay; doubles with each retry. */
  readonly baseDelayMs: number;
  /** Cap of the delay between two tries. */
  readonly maxDelayMs: number;
}

export const defaultRetrySchedule: RetrySchedule = Object.freeze({
  baseDelayMs: 500,
  maxDelayMs: 30_000,
});

export interface RetryEvent {
  /** 1 for the first retry. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: MedStreamError;
}

export interface RetryContext {
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly random: () => number;
  readonly schedule: RetrySchedule;
  readonly classify: (error: unknown) => ClassifiedFailure;
  /** Clock time after which no retry starts: the last error is thrown instead. */
  readonly deadline?: number;
  readonly onRetry: (event: RetryEvent) => void;
}

/** The signal's reason as an Error (an abort reason can be any value). */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const message = typeof reason === 'string' ? reason : 'This operation was aborted';
  return new DOMException(message, 'AbortError');
}

/**
 * Settles like `operation`, or rejects with the signal's reason as soon as it aborts. The
 * operation itself runs on (a graph transaction cannot be cancelled from the client); its late
 * outcome is dropped, which is safe because every graph write is idempotent per version.
 */
export async function raceAbort<T>(operation: Promise<T>, signal: AbortSignal): Promise<T> {
  // A late rejection of the abandoned operation is nobody's business any more.
  operation.catch(() => undefined);
  if (signal.aborted) throw abortReason(signal);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([operation, aborted]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Runs `operation` until it succeeds or fails with something other than a retriable failure
 * (thrown as classified), the signal aborts (its reason is thrown), or the deadline passes
 * (the last failure is thrown). Full-jitter exponential backoff between tries.
 */
export async function retryRetriable<T>(
  operation: () => Promise<T>,
  context: RetryContext,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    if (context.signal.aborted) throw abortReason(context.signal);
    try {
      return await raceAbort(operation(), context.signal);
    } catch (error) {
      if (context.signal.aborted) throw abortReason(context.signal);
      const failure = context.classify(error);
      if (failure.kind !== 'retriable') throw failure.error;
      const delayMs = fullJitterDelayMs(attempt, context.schedule, context.random);
      if (context.deadline !== undefined && context.clock.now() + delayMs > context.deadline) {
        throw failure.error;
      }
      context.onRetry({ attempt, delayMs, error: failure.error });
      try {
        await context.clock.sleep(delayMs, context.signal);
      } catch (sleepError) {
        if (context.signal.aborted) throw abortReason(context.signal);
        throw sleepError;
      }
    }
  }
}

export interface BisectOutcome<R, F> {
  readonly results: R[];
  readonly failures: Array<{ readonly item: F; readonly error: unknown }>;
}

/**
 * Applies `items` with `apply`; when it fails with a `record` failure, applies the two halves
 * separately (first half first, so records of one PMID keep their order) and recurses, until a
 * single item that fails alone is reported in `failures`. Any other failure is rethrown.
 * A batch with one bad record costs about 2·log2(n) extra transactions.
 */
export async function applyBisecting<F, R>(
  items: readonly F[],
  apply: (items: readonly F[]) => Promise<R>,
  classify: (error: unknown) => ClassifiedFailure,
): Promise<BisectOutcome<R, F>> {
  const outcome: BisectOutcome<R, F> = { results: [], failures: [] };
  const visit = async (part: readonly F[]): Promise<void> => {
    if (part.length === 0) return;
    try {
      outcome.results.push(await apply(part));
    } catch (error) {
      const failure = classify(error);
      if (failure.kind !== 'record') throw failure.error;
      const [single] = part;
      if (part.length === 1 && single !== undefined) {
        outcome.failures.push({ item: single, error: failure.error });
        return;
      }
      const middle = Math.ceil(part.length / 2);
      await visit(part.slice(0, middle));
      await visit(part.slice(middle));
    }
  };
  await visit(items);
  return outcome;
}
