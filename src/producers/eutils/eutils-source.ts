import { Readable } from 'node:stream';
import { MedStreamError } from '../../errors.js';
import type { Clock } from '../http/clock.js';
import { systemClock } from '../http/clock.js';
import type { EutilsWindow, WindowCursor } from './date-windows.js';
import {
  addDays,
  baseWindows,
  compareCursors,
  daysBetween,
  describeWindow,
  formatIsoDate,
  parseIsoDate,
  splitWindow,
  toEutilsDate,
  windowTerm,
} from './date-windows.js';
import type { EutilsClient, EutilsDateType, EsearchResult } from './eutils-client.js';
import { EutilsCheckpoint } from './eutils-checkpoint.js';

/**
 * The E-utilities source: esearch per date window (history mode), then efetch in pages.
 *
 * Consumer contract:
 *   for await (const item of eutilsSource(options)) {
 *     if (item.kind === 'page') produce(parsePubmedXml(pageBytes(item), { source: 'eutils' }));
 *     else { await flush(); await item.commit(); }   // item.kind === 'window-done'
 *   }
 * `commit()` declares every record yielded so far durable and advances the checkpoint to that
 * window. A crash before it re-sends the window (at-least-once; records are keyed by PMID).
 * Pages are complete documents (checked for their closing tag), held in memory one at a time:
 * the next page is requested only when the consumer asks for it (backpressure).
 */

/**
 * PubMed's history server pages through at most the first 9,999 records of a search
 * ("ESearch can only retrieve the first 10,000 records"; efetch rejects retstart > 9998).
 * A window matching more is split.
 */
export const PUBMED_MAX_RECORDS_PER_SEARCH = 9_999;
export const DEFAULT_TERM = 'all[sb]';

export interface EutilsSourceOptions {
  client: EutilsClient;
  /** YYYY-MM-DD, inclusive. Ignored for the days a checkpoint already covers. */
  since: string;
  /** YYYY-MM-DD, inclusive. Default: the last settled day (today − settleDays, UTC). */
  until?: string;
  datetype?: EutilsDateType;
  /** Extra query; default every PubMed record (`all[sb]`). */
  term?: string;
  /** efetch retmax. */
  pageSize?: number;
  windowDays?: number;
  /** Split windows matching more than this; lowered in tests. */
  maxPerWindow?: number;
  /** JSON checkpoint file; omit for a run without resume. */
  checkpointPath?: string;
  /**
   * Days still receiving records (today's EDAT grows all day). Windows ending after
   * today − settleDays are fetched but never checkpointed, so a later run fetches them again
   * instead of skipping the records that arrived in between.
   */
  settleDays?: number;
  /** Re-requests of a page that holds fewer articles than the search promised. */
  shortPageRetries?: number;
  /** Re-runs of a window's esearch after the history server lost its WebEnv. */
  historyRenewals?: number;
  clock?: Clock;
  signal?: AbortSignal;
  onEvent?: (event: EutilsSourceEvent) => void;
}

export type EutilsSourceEvent =
  | { kind: 'resume'; cursor: WindowCursor; lastWindow: EutilsWindow }
  | { kind: 'search'; window: EutilsWindow; count: number }
  | { kind: 'split'; window: EutilsWindow; count: number; into: [EutilsWindow, EutilsWindow] }
  | { kind: 'history-renewed'; window: EutilsWindow; retstart: number; count: number }
  | { kind: 'short-page'; window: EutilsWindow; retstart: number; expected: number; got: number };

export interface EutilsPage {
  kind: 'page';
  window: EutilsWindow;
  /** Records esearch reported for the window. */
  windowCount: number;
  /** 0-based page number within the window. */
  index: number;
  retstart: number;
  retmax: number;
  /** <PubmedArticle> + <PubmedBookArticle> elements in this page. */
  articles: number;
  /** One complete PubmedArticleSet document. */
  xml: Buffer;
}

export interface EutilsWindowDone {
  kind: 'window-done';
  window: EutilsWindow;
  count: number;
  articles: number;
  pages: number;
  /** Articles esearch promised but efetch did not return (after shortPageRetries). */
  missing: number;
  /** False for unsettled windows: their commit() is a no-op. */
  checkpointable: boolean;
  /** Call after every record of this window (and the ones before) is durable. */
  commit(): Promise<void>;
}

export type EutilsItem = EutilsPage | EutilsWindowDone;

/** A page's bytes as the byte stream parsePubmedXml reads. */
export function pageBytes(page: { xml: Buffer }): AsyncIterable<Uint8Array> {
  return Readable.from([page.xml], { objectMode: false });
}

export async function* eutilsSource(options: EutilsSourceOptions): AsyncGenerator<EutilsItem> {
  const clock = options.clock ?? systemClock;
  const datetype = options.datetype ?? 'edat';
  const term = options.term ?? DEFAULT_TERM;
  const pageSize = options.pageSize ?? 500;
  const windowDays = options.windowDays ?? 1;
  const maxPerWindow = options.maxPerWindow ?? PUBMED_MAX_RECORDS_PER_SEARCH;
  const settleDays = options.settleDays ?? 1;
  const shortPageRetries = options.shortPageRetries ?? 2;
  const historyRenewals = options.historyRenewals ?? 3;
  const { client, signal } = options;
  const emit = options.onEvent ?? (() => undefined);

  checkInteger('pageSize', pageSize, 1, PUBMED_MAX_RECORDS_PER_SEARCH);
  checkInteger('windowDays', windowDays, 1, 3660);
  checkInteger('maxPerWindow', maxPerWindow, 1, PUBMED_MAX_RECORDS_PER_SEARCH);
  checkInteger('settleDays', settleDays, 0, 365);
  parseIsoDate(options.since, 'since');
  const lastSettled = addDays(formatIsoDate(clock.now()), -settleDays);
  const until = options.until ?? lastSettled;
  parseIsoDate(until, 'until');
  if (daysBetween(options.since, until) < 0) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `since (${options.since}) is after until (${until})`,
    );
  }

  const checkpoint =
    options.checkpointPath === undefined
      ? undefined
      : await EutilsCheckpoint.open(options.checkpointPath, { datetype, term }, () => clock.now());
  let cursor: WindowCursor = { date: options.since, uidMin: 1 };
  const saved = checkpoint?.cursor;
  if (saved !== undefined && compareCursors(saved, cursor) > 0) {
    cursor = saved;
    emit({ kind: 'resume', cursor, lastWindow: checkpoint!.lastWindow! });
  }

  const search = async (window: EutilsWindow): Promise<EsearchResult> =>
    client.esearch(
      {
        term: windowTerm(term, window),
        datetype,
        mindate: toEutilsDate(window.from),
        maxdate: toEutilsDate(window.to),
      },
      signal,
    );

  for (const base of baseWindows(cursor, until, windowDays)) {
    // Depth-first over splits, earliest half first, so windows stay in ascending order.
    const pending: EutilsWindow[] = [base];
    while (pending.length > 0) {
      const window = pending.pop()!;
      signal?.throwIfAborted();
      let result = await search(window);
      emit({ kind: 'search', window, count: result.count });
      if (result.count > maxPerWindow) {
        const halves = splitWindow(window);
        if (halves === undefined) {
          throw new MedStreamError(
            'EUTILS_WINDOW_TOO_LARGE',
            `${describeWindow(window)} matches ${result.count} records, more than ${maxPerWindow}, and cannot be split`,
          );
        }
        emit({ kind: 'split', window, count: result.count, into: halves });
        pending.push(halves[1], halves[0]);
        continue;
      }

      let articles = 0;
      let missing = 0;
      let index = 0;
      let renewals = 0;
      let retstart = 0;
      while (retstart < result.count) {
        const retmax = Math.min(pageSize, result.count - retstart);
        let xml: Buffer;
        let got: number;
        try {
          let tries = 0;
          for (;;) {
            signal?.throwIfAborted();
            xml = await client.efetchPage(
              { webEnv: result.webEnv!, queryKey: result.queryKey!, retstart, retmax },
              signal,
            );
            got = countArticles(xml);
            if (got >= retmax || tries >= shortPageRetries) break;
            tries += 1;
            emit({ kind: 'short-page', window, retstart, expected: retmax, got });
          }
        } catch (error) {
          if (
            error instanceof MedStreamError &&
            error.code === 'EUTILS_HISTORY_EXPIRED' &&
            renewals < historyRenewals
          ) {
            renewals += 1;
            const renewed = await search(window);
            if (renewed.count > maxPerWindow) throw error;
            // Same count: the stored set is the same query's result, continue where we were.
            // Otherwise the order may have shifted: re-read the window (duplicates, no gaps).
            if (renewed.count !== result.count) {
              retstart = 0;
              index = 0;
              articles = 0;
              missing = 0;
            }
            result = renewed;
            emit({ kind: 'history-renewed', window, retstart, count: result.count });
            continue;
          }
          throw error;
        }
        missing += Math.max(0, retmax - got);
        articles += got;
        yield {
          kind: 'page',
          window,
          windowCount: result.count,
          index,
          retstart,
          retmax,
          articles: got,
          xml,
        };
        index += 1;
        retstart += retmax;
      }

      const checkpointable = daysBetween(window.to, lastSettled) >= 0;
      const committedArticles = articles;
      yield {
        kind: 'window-done',
        window,
        count: result.count,
        articles,
        pages: index,
        missing,
        checkpointable,
        commit: async () => {
          if (checkpoint !== undefined && checkpointable) {
            await checkpoint.commit(window, committedArticles);
          }
        },
      };
    }
  }
}

/** Counts article elements without parsing: a progress figure and a short-page detector. */
export function countArticles(xml: Buffer): number {
  return countOccurrences(xml, '<PubmedArticle>') + countOccurrences(xml, '<PubmedBookArticle>');
}

function countOccurrences(haystack: Buffer, needle: string): number {
  const pattern = Buffer.from(needle, 'latin1');
  let count = 0;
  for (let at = haystack.indexOf(pattern); at >= 0; at = haystack.indexOf(pattern, at + 1)) {
    count += 1;
  }
  return count;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `${name} must be an integer in [${min}, ${max}], got ${value}`,
    );
  }
}
