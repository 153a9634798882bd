import { MedStreamError } from '../../errors.js';

/**
 * Date windows for esearch. A window is a closed range of calendar days (the E-utilities
 * `mindate`/`maxdate` are inclusive), optionally narrowed to a PMID range when one day alone
 * matches more records than efetch can page through.
 *
 * Ordering invariant: windows are produced in ascending (date, PMID) order and together cover
 * every (day, PMID) pair of the requested range exactly once, so "everything before the cursor
 * is done" is a complete description of progress.
 */

export interface UidRange {
  min: number;
  max: number;
}

export interface EutilsWindow {
  /** YYYY-MM-DD, inclusive. */
  from: string;
  /** YYYY-MM-DD, inclusive. */
  to: string;
  /** Present only on single-day windows split by PMID; absent = every PMID. */
  uidRange?: UidRange;
}

/** Where work resumes: day `date`, PMIDs from `uidMin` on. */
export interface WindowCursor {
  date: string;
  uidMin: number;
}

/**
 * Upper bound of the PMID space searched when a day is split. PMIDs are ~4·10^7 today; nine
 * digits leave decades of headroom at the cost of a few extra bisection steps.
 */
export const UID_MAX = 999_999_999;

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function parseIsoDate(value: string, what = 'date'): number {
  const match = ISO_DATE.exec(value);
  if (match === null) {
    throw new MedStreamError('CONFIG_INVALID', `${what} must be YYYY-MM-DD, got "${value}"`);
  }
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  if (formatIsoDate(ms) !== value) {
    throw new MedStreamError('CONFIG_INVALID', `${what} is not a calendar date: "${value}"`);
  }
  return ms;
}

export function formatIsoDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

export function addDays(isoDate: string, days: number): string {
  return formatIsoDate(parseIsoDate(isoDate) + days * DAY_MS);
}

/** Whole days from a to b (b − a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((parseIsoDate(b) - parseIsoDate(a)) / DAY_MS);
}

/** E-utilities date syntax. */
export function toEutilsDate(isoDate: string): string {
  return isoDate.replaceAll('-', '/');
}

/** Windows of `windowDays` days from the cursor through `until`, lazily (years = many days). */
export function* baseWindows(
  cursor: WindowCursor,
  until: string,
  windowDays: number,
): Generator<EutilsWindow> {
  let from = cursor.date;
  if (daysBetween(from, until) < 0) return;
  if (cursor.uidMin > 1) {
    // Resuming inside a day that had been split by PMID: finish that day first.
    yield { from, to: from, uidRange: { min: cursor.uidMin, max: UID_MAX } };
    from = addDays(from, 1);
  }
  while (daysBetween(from, until) >= 0) {
    const end = addDays(from, windowDays - 1);
    const to = daysBetween(end, until) < 0 ? until : end;
    yield { from, to };
    from = addDays(to, 1);
  }
}

/**
 * Halves a window: by days while it spans more than one, then by PMID. Undefined when it
 * cannot be split any further (a single day and a single PMID).
 */
export function splitWindow(window: EutilsWindow): [EutilsWindow, EutilsWindow] | undefined {
  const span = daysBetween(window.from, window.to);
  if (span > 0) {
    const leftEnd = addDays(window.from, Math.floor(span / 2));
    return [
      { from: window.from, to: leftEnd },
      { from: addDays(leftEnd, 1), to: window.to },
    ];
  }
  const range = window.uidRange ?? { min: 1, max: UID_MAX };
  if (range.min >= range.max) return undefined;
  const mid = range.min + Math.floor((range.max - range.min) / 2);
  return [
    { from: window.from, to: window.to, uidRange: { min: range.min, max: mid } },
    { from: window.from, to: window.to, uidRange: { min: mid + 1, max: range.max } },
  ];
}

/** The esearch term for a window: the user's term, narrowed to the PMID range if any. */
export function windowTerm(term: string, window: EutilsWindow): string {
  if (window.uidRange === undefined) return term;
  return `(${term}) AND ${window.uidRange.min}:${window.uidRange.max}[uid]`;
}

/** The cursor just after a window: its last day's next PMID, or the next day. */
export function cursorAfter(window: EutilsWindow): WindowCursor {
  if (window.uidRange !== undefined && window.uidRange.max < UID_MAX) {
    return { date: window.to, uidMin: window.uidRange.max + 1 };
  }
  return { date: addDays(window.to, 1), uidMin: 1 };
}

export function compareCursors(a: WindowCursor, b: WindowCursor): number {
  const days = daysBetween(b.date, a.date);
  return days !== 0 ? days : a.uidMin - b.uidMin;
}

export function describeWindow(window: EutilsWindow): string {
  const days = window.from === window.to ? window.from : `${window.from}..${window.to}`;
  return window.uidRange === undefined
    ? days
    : `${days} PMID ${window.uidRange.min}-${window.uidRange.max}`;
}
