import { splitSentences } from '../../text/sentence-splitter.js';

/**
 * Abbreviation definitions in one abstract, after Schwartz & Hearst, "A simple algorithm for
 * identifying abbreviation definitions in biomedical text", PSB 2003 (and their reference Java
 * implementation where the paper is silent):
 *
 * 1. Candidates: `long form (short form)` and `short form (long form)` inside one sentence (the
 *    project's sentence splitter), with `(` preceded by whitespace. The parenthesised text runs
 *    to the matching `)` and is cut at the first `, ` or `; ` (`(DMD; n = 5)`). If it has more
 *    than two words or is longer than the text before it, the pattern is `SF (LF)`: the short
 *    form is the word before the bracket and must contain a capital letter.
 * 2. A short form has 2–10 characters, at most two words, at least one letter, and starts with
 *    a letter or digit.
 * 3. The long form is the shortest suffix of the candidate text, found by scanning both strings
 *    backwards: every letter/digit of the short form must match a character of the long form,
 *    in order, case-insensitively, and the first one must start a word (preceded by a
 *    non-alphanumeric character); the long form then extends back to the start of its word.
 * 4. Rejected when the long form is shorter than the short form, contains the short form as a
 *    word or ends with it, or has more than min(|SF| + 5, 2·|SF|) words, where words split on
 *    whitespace and hyphens and |SF| counts the short form's letters and digits (as the
 *    reference implementation does); the paper's candidate window of that many words is
 *    equivalent, since the long form found is the shortest possible.
 *
 * Offsets are UTF-16 offsets into `text` (the pipeline's `title + " " + abstract`).
 */
export interface Abbreviation {
  readonly short: string;
  readonly long: string;
  readonly shortStart: number;
  readonly shortEnd: number;
  readonly longStart: number;
  readonly longEnd: number;
}

export interface FindAbbreviationsOptions {
  /** Sentence breaks forced at these offsets, e.g. `[title.length]`. */
  readonly breaks?: readonly number[];
}

const ALNUM = /[\p{L}\p{N}]/u;
const LETTER = /\p{L}/u;
const UPPER = /\p{Lu}/u;
const SPACE = /\s/u;

function isAlnum(ch: string): boolean {
  return ch !== '' && ALNUM.test(ch);
}

function alnumCount(s: string): number {
  let n = 0;
  for (const ch of s) if (ALNUM.test(ch)) n += 1;
  return n;
}

/** Words as the reference implementation counts them (split on whitespace and `-`). */
function wordCount(s: string): number {
  return s.split(/[\s-]+/u).filter((w) => w !== '').length;
}

function isValidShortForm(sf: string): boolean {
  return (
    sf.length >= 2 &&
    sf.length <= 10 &&
    sf.split(/\s+/u).filter((w) => w !== '').length <= 2 &&
    LETTER.test(sf) &&
    isAlnum(sf.charAt(0))
  );
}

/**
 * Start index (into `candidate`) of the shortest long form for `sf`, or -1 (step 3 of the
 * module comment).
 */
export function bestLongFormStart(sf: string, candidate: string): number {
  let l = candidate.length - 1;
  for (let s = sf.length - 1; s >= 0; s -= 1) {
    const c = sf.charAt(s).toLowerCase();
    if (!isAlnum(c)) continue;
    while (
      (l >= 0 && candidate.charAt(l).toLowerCase() !== c) ||
      (s === 0 && l > 0 && isAlnum(candidate.charAt(l - 1)))
    ) {
      l -= 1;
    }
    if (l < 0) return -1;
    l -= 1;
  }
  // Back to the start of the word holding the first matched character.
  let start = l + 1;
  while (start > 0 && !SPACE.test(candidate.charAt(start - 1))) start -= 1;
  return start;
}

function acceptPair(sf: string, lf: string): boolean {
  if (lf.length < sf.length) return false;
  if (lf.includes(`${sf} `) || lf.endsWith(sf)) return false;
  const size = alnumCount(sf);
  const words = wordCount(lf);
  return size <= 10 && words <= size * 2 && words <= size + 5;
}

/** Index of the `)` closing the `(` at `open`, within [open, end); -1 if none. */
function matchingParen(text: string, open: number, end: number): number {
  let depth = 0;
  for (let i = open; i < end; i += 1) {
    const ch = text.charAt(i);
    if (ch === '(') depth += 1;
    else if (ch === ')') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function trimSpan(text: string, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  while (s < e && SPACE.test(text.charAt(s))) s += 1;
  while (e > s && SPACE.test(text.charAt(e - 1))) e -= 1;
  return [s, e];
}

function inSentence(text: string, sentenceStart: number, sentenceEnd: number): Abbreviation[] {
  const found: Abbreviation[] = [];
  let from = sentenceStart;
  for (;;) {
    let open = text.indexOf('(', from);
    while (
      open >= 0 &&
      open < sentenceEnd &&
      !(open > sentenceStart && SPACE.test(text.charAt(open - 1)))
    ) {
      open = text.indexOf('(', open + 1);
    }
    if (open < 0 || open >= sentenceEnd) break;
    const close = matchingParen(text, open, sentenceEnd);
    if (close < 0) {
      from = open + 1;
      continue;
    }
    from = close + 1;
    let innerEnd = close;
    for (const cut of [', ', '; ']) {
      const at = text.indexOf(cut, open + 1);
      if (at >= 0 && at < innerEnd) innerEnd = at;
    }
    const [inS, inE] = trimSpan(text, open + 1, innerEnd);
    const [beforeS, beforeE] = trimSpan(text, sentenceStart, open);
    const inner = text.slice(inS, inE);
    const before = text.slice(beforeS, beforeE);
    if (inner.length < 2 || before.length < 2) continue;
    const innerWords = inner.split(/\s+/u).filter((w) => w !== '').length;
    if (innerWords <= 2 && inner.length <= before.length) {
      // long form (SHORT FORM)
      if (!isValidShortForm(inner)) continue;
      const start = bestLongFormStart(inner, before);
      if (start < 0) continue;
      const long = before.slice(start);
      if (!acceptPair(inner, long)) continue;
      found.push({
        short: inner,
        long,
        shortStart: inS,
        shortEnd: inE,
        longStart: beforeS + start,
        longEnd: beforeE,
      });
    } else {
      // SHORT FORM (long form): the word right before the bracket.
      let sfStart = beforeE;
      while (sfStart > beforeS && !SPACE.test(text.charAt(sfStart - 1))) sfStart -= 1;
      const sf = text.slice(sfStart, beforeE);
      if (!UPPER.test(sf) || !isValidShortForm(sf)) continue;
      const start = bestLongFormStart(sf, inner);
      if (start < 0) continue;
      const long = inner.slice(start);
      if (!acceptPair(sf, long)) continue;
      found.push({
        short: sf,
        long,
        shortStart: sfStart,
        shortEnd: beforeE,
        longStart: inS + start,
        longEnd: inE,
      });
    }
  }
  return found;
}

/** All definitions in `text`, in text order (see module comment). */
export function findAbbreviations(
  text: string,
  options: FindAbbreviationsOptions = {},
): Abbreviation[] {
  if (!text.includes('(')) return [];
  const found: Abbreviation[] = [];
  for (const sentence of splitSentences(text, options)) {
    found.push(...inSentence(text, sentence.start, sentence.end));
  }
  return found;
}

/** Short form → long form; the first definition of a short form in the text wins. */
export function abbreviationMap(abbreviations: readonly Abbreviation[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const a of abbreviations) if (!map.has(a.short)) map.set(a.short, a.long);
  return map;
}

export interface SpanLike {
  readonly start: number;
  readonly end: number;
  readonly type: string;
}

export interface AbbreviationMention<M extends SpanLike> {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly type: string;
  /** The recognized mention of the long form that this short-form occurrence stands for. */
  readonly longForm: M;
  readonly abbreviation: Abbreviation;
}

/**
 * Occurrences of defined short forms that no mention covers yet, for short forms whose long
 * form is itself a recognized mention (same span as the definition's long form, or the same
 * text case-insensitively): the processor adds them with source `abbreviation` and the long
 * form's concept. Whole-word, case-sensitive matches only; the short form inside the defining
 * brackets counts too. Sorted by start.
 */
export function abbreviationMentions<M extends SpanLike>(
  text: string,
  mentions: readonly M[],
  abbreviations: readonly Abbreviation[],
): AbbreviationMention<M>[] {
  const taken = mentions.map((m) => [m.start, m.end] as const);
  const overlaps = (s: number, e: number) => taken.some(([ms, me]) => s < me && ms < e);
  const out: AbbreviationMention<M>[] = [];
  const done = new Set<string>();
  for (const a of abbreviations) {
    if (done.has(a.short)) continue;
    const lower = a.long.toLowerCase();
    const longForm =
      mentions.find((m) => m.start === a.longStart && m.end === a.longEnd) ??
      mentions.find((m) => text.slice(m.start, m.end).toLowerCase() === lower);
    if (longForm === undefined) continue;
    done.add(a.short);
    for (let at = text.indexOf(a.short); at >= 0; at = text.indexOf(a.short, at + 1)) {
      const end = at + a.short.length;
      if (isAlnum(text.charAt(at - 1)) || isAlnum(text.charAt(end))) continue;
      if (overlaps(at, end)) continue;
      taken.push([at, end]);
      out.push({ start: at, end, text: a.short, type: longForm.type, longForm, abbreviation: a });
    }
  }
  return out.sort((x, y) => x.start - y.start);
}
