/**
 * PubMed date elements → ISO-8601 prefixes (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`). The most precise
 * form the data supports, never an invented day or month: a PubDate of `2016 Mar` becomes
 * `2016-03`, a Season (`Spring`) or an unparsable month is dropped, a MedlineDate such as
 * `2008 Jul-Aug` keeps its first year and month (`2008-07`).
 */
export interface DateParts {
  year?: string | undefined;
  month?: string | undefined;
  day?: string | undefined;
  season?: string | undefined;
  medlineDate?: string | undefined;
}

const MONTHS: Readonly<Record<string, number>> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function parseYear(value: string | undefined): string | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  return /^\d{4}$/.test(trimmed) ? trimmed : null;
}

/** `02`, `2`, `Feb`, `February` → 2. */
export function parseMonth(value: string | undefined): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (/^\d{1,2}$/.test(trimmed)) {
    const n = Number(trimmed);
    return n >= 1 && n <= 12 ? n : null;
  }
  return MONTHS[trimmed.slice(0, 3).toLowerCase()] ?? null;
}

function parseDay(value: string | undefined): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (!/^\d{1,2}$/.test(trimmed)) return null;
  const n = Number(trimmed);
  return n >= 1 && n <= 31 ? n : null;
}

function format(year: string, month: number | null, day: number | null): string {
  if (month === null) return year;
  if (day === null) return `${year}-${pad2(month)}`;
  return `${year}-${pad2(month)}-${pad2(day)}`;
}

/** `2008 Jul-Aug` → 2008-07, `1998 Dec-1999 Jan` → 1998-12, `2000 Spring` → 2000. */
export function parseMedlineDate(value: string): string | null {
  const match = /(\d{4})(?:\s+([A-Za-z]+)(?:\s+(\d{1,2})(?!\d))?)?/.exec(value);
  if (match === null) return null;
  const year = match[1];
  const month = parseMonth(match[2]);
  return format(year, month, month === null ? null : parseDay(match[3]));
}

export function normalizeDate(parts: DateParts): string | null {
  const year = parseYear(parts.year);
  if (year !== null) {
    const month = parseMonth(parts.month);
    return format(year, month, month === null ? null : parseDay(parts.day));
  }
  if (parts.medlineDate !== undefined) return parseMedlineDate(parts.medlineDate);
  return null;
}
