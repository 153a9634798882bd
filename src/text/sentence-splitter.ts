import { tokenize } from './tokenizer.js';
import type { Token } from './tokenizer.js';

/**
 * Sentence splitting over the tokenizer's tokens (so a sentence boundary is always a token
 * boundary and sentences partition the token list: every token is in exactly one sentence, in
 * order). Part of the one tokenizer: a change here that moves any boundary must bump
 * TOKENIZER_VERSION too.
 *
 * A sentence ends after terminal punctuation (`.`, `?`, `!`, plus any closing brackets/quotes
 * glued to it) when whitespace follows and the next token looks like a sentence start (capital
 * letter, digit, opening bracket or quote, a Greek letter, or a lower-case-initial symbol such
 * as `p53` / `mRNA`), unless the period belongs to an abbreviation that does not end sentences
 * (`Fig.`, `vs.`, `et al.`, `e.g.`). It also ends at a paragraph break (two line breaks or
 * U+2029) and at caller-given offsets (`breaks`, e.g. the end of the title).
 */
export interface Sentence {
  /** Offset of the first token's start. */
  readonly start: number;
  /** Offset of the last token's end. */
  readonly end: number;
  /** Non-empty, in order; offsets are into the full text, not the sentence. */
  readonly tokens: readonly Token[];
}

export interface SentenceOptions {
  /**
   * Offsets at which a sentence must end, e.g. `[title.length]` for `title + " " + abstract`
   * (titles often lack a final period). A break that falls inside a token is ignored.
   */
  readonly breaks?: readonly number[];
}

/** Words whose following period does not end a sentence (case-sensitive, without the period). */
const NON_FINAL_ABBREVIATIONS: ReadonlySet<string> = new Set([
  'approx',
  'ca',
  'cf',
  'Co',
  'Corp',
  'Dept',
  'Dr',
  'Drs',
  'Eq',
  'Eqs',
  'eq',
  'Fig',
  'Figs',
  'fig',
  'figs',
  'Inc',
  'Jr',
  'Ltd',
  'Mr',
  'Mrs',
  'Ms',
  'No',
  'Nos',
  'Prof',
  'Ref',
  'Refs',
  'ref',
  'refs',
  'resp',
  'sp',
  'spp',
  'Sr',
  'St',
  'subsp',
  'Suppl',
  'Tab',
  'var',
  'viz',
  'Vol',
  'vol',
  'vs',
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Sept',
  'Oct',
  'Nov',
  'Dec',
]);

/**
 * Abbreviations that end a sentence only before a capitalized word: `et al. (2001)` and
 * `et al. [12]` continue, `as described by Lee et al. Both ...` ends.
 */
const FINAL_BEFORE_CAPITAL: ReadonlySet<string> = new Set(['al', 'etc']);

/** Dotted initialisms that never end a sentence; other lower-case ones (`i.v.`) may. */
const NON_FINAL_INITIALISMS: ReadonlySet<string> = new Set(['e.g.', 'i.e.', 'c.f.', 'v.s.']);

function isTerminal(token: Token): boolean {
  if (token.end - token.start !== 1) return false;
  const c = token.text.charCodeAt(0);
  return c === 0x2e || c === 0x3f || c === 0x21; // . ? !
}

function isClosing(token: Token): boolean {
  if (token.end - token.start !== 1) return false;
  const c = token.text.charCodeAt(0);
  // ) ] } " ' ” ’ »
  return (
    c === 0x29 ||
    c === 0x5d ||
    c === 0x7d ||
    c === 0x22 ||
    c === 0x27 ||
    c === 0x201d ||
    c === 0x2019 ||
    c === 0xbb
  );
}

function isUpper(ch: string): boolean {
  return ch !== ch.toLowerCase() && ch === ch.toUpperCase();
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Whether `token` can begin a sentence after a terminal period. */
function startsSentence(token: Token): boolean {
  const first = token.text.charCodeAt(0);
  if (isDigit(first)) return true;
  // ( [ " ' “ ‘ «
  if (
    first === 0x28 ||
    first === 0x5b ||
    first === 0x22 ||
    first === 0x27 ||
    first === 0x201c ||
    first === 0x2018 ||
    first === 0xab
  ) {
    return true;
  }
  if (first >= 0x391 && first <= 0x3c9) return true; // Greek letters: `α-Synuclein`, `β-Blockers`
  const ch = String.fromCodePoint(token.text.codePointAt(0)!);
  if (isUpper(ch)) return true;
  // Lower-case-initial symbols: `p53`, `mRNA`, `cDNA`, `pH`, `iNOS` (not plain words).
  const rest = token.text.slice(ch.length);
  for (let k = 0; k < rest.length; k += 1) {
    const c = rest.charCodeAt(k);
    if (isDigit(c) || (c >= 0x41 && c <= 0x5a)) return true;
  }
  return false;
}

/** Whether an initialism token (`i.v.`, `e.g.`) ends the sentence before `next`. */
function initialismEnds(token: Token, next: Token): boolean {
  if (NON_FINAL_INITIALISMS.has(token.text.toLowerCase())) return false;
  const first = token.text.charCodeAt(0);
  // `U.S. Food and Drug Administration`: upper-case initialisms are taken as part of a name, so
  // a sentence ending in `the U.K.` before a capital is not split (a known limitation).
  if (first >= 0x41 && first <= 0x5a) return false;
  return isUpper(next.text.charAt(0));
}

function isInitialism(token: Token): boolean {
  return token.end - token.start >= 4 && token.text.charCodeAt(token.text.length - 1) === 0x2e;
}

/** Whether the whitespace between two tokens holds a paragraph break. */
function paragraphBreak(text: string, from: number, to: number): boolean {
  let newlines = 0;
  for (let k = from; k < to; k += 1) {
    const c = text.charCodeAt(k);
    if (c === 0x2029) return true;
    if (c === 0x0a && (newlines += 1) >= 2) return true;
  }
  return false;
}

/** Splits `text` into sentences of tokens; see the module comment for the rules. */
export function splitSentences(text: string, options: SentenceOptions = {}): Sentence[] {
  return sentencesFromTokens(text, tokenize(text), options);
}

/** Groups tokens already produced by `tokenize(text)` into sentences. */
export function sentencesFromTokens(
  text: string,
  tokens: readonly Token[],
  options: SentenceOptions = {},
): Sentence[] {
  const sentences: Sentence[] = [];
  const breaks = [...(options.breaks ?? [])].sort((a, b) => a - b);
  let b = 0;
  let first = 0;
  // Open brackets in the current sentence: a period inside `(EC 1. 1. 1. 49)` or `(Fig. 2)` is
  // not a sentence end when the bracket closes soon after.
  let depth = 0;
  const n = tokens.length;
  for (let k = 0; k < n; k += 1) {
    if (k + 1 === n) break;
    const token = tokens[k];
    const next = tokens[k + 1];
    depth = Math.max(0, depth + bracketDelta(token));
    let end = false;
    while (b < breaks.length && breaks[b] < token.end) b += 1;
    if (b < breaks.length && breaks[b] <= next.start) {
      end = true;
    } else if (next.start > token.end && paragraphBreak(text, token.end, next.start)) {
      end = true;
    } else if (next.start > token.end && isInitialism(token)) {
      end = initialismEnds(token, next);
    } else if (next.start > token.end && (isTerminal(token) || isClosing(token))) {
      end =
        terminalEnds(tokens, first, k) &&
        startsSentence(next) &&
        !(depth > 0 && closesSoon(tokens, k + 1, depth));
    }
    if (end) {
      sentences.push(makeSentence(tokens, first, k + 1));
      first = k + 1;
      depth = 0;
    }
  }
  if (first < n) sentences.push(makeSentence(tokens, first, n));
  return sentences;
}

/** How far ahead a closing bracket may be for a period inside brackets not to end a sentence. */
const BRACKET_LOOKAHEAD = 40;

function bracketDelta(token: Token): number {
  if (token.end - token.start !== 1) return 0;
  const c = token.text.charCodeAt(0);
  if (c === 0x28 || c === 0x5b || c === 0x7b) return 1; // ( [ {
  if (c === 0x29 || c === 0x5d || c === 0x7d) return -1; // ) ] }
  return 0;
}

/** Whether the `depth` open brackets close within BRACKET_LOOKAHEAD tokens from `from`. */
function closesSoon(tokens: readonly Token[], from: number, depth: number): boolean {
  const limit = Math.min(tokens.length, from + BRACKET_LOOKAHEAD);
  let d = depth;
  for (let k = from; k < limit; k += 1) {
    d += bracketDelta(tokens[k]);
    if (d <= 0) return true;
  }
  return false;
}

/**
 * Whether tokens[first..k] end in terminal punctuation (optionally followed by closing
 * brackets/quotes glued to it, `.)` `."`) that is not an abbreviation's period.
 */
function terminalEnds(tokens: readonly Token[], first: number, k: number): boolean {
  let m = k;
  // Walk back over glued closing punctuation to the terminal mark.
  while (m > first && isClosing(tokens[m]) && tokens[m - 1].end === tokens[m].start) m -= 1;
  const terminal = tokens[m];
  if (!isTerminal(terminal)) return false;
  if (terminal.text !== '.') return true;
  if (m === first) return true;
  const before = tokens[m - 1];
  if (before.end !== terminal.start) return true; // a free-standing period
  if (NON_FINAL_ABBREVIATIONS.has(before.text)) return false;
  const next = tokens[k + 1];
  if (FINAL_BEFORE_CAPITAL.has(before.text)) {
    return next !== undefined && isUpper(next.text.charAt(0));
  }
  // `1. 1. 49`, `0. 05`: a period between numbers (NCBI's spaced decimals, EC numbers).
  if (next !== undefined && isDigitsOnly(before) && isDigit(next.text.charCodeAt(0))) return false;
  // Author initials `Feder, J. N.`, `Schatzman, R. C. (1998)` (but `vitamin D. The` ends).
  if (isInitial(before) && next !== undefined) {
    if (isInitial(next) && tokens[k + 2]?.text === '.') return false;
    const prior = m - 2 >= first ? tokens[m - 2] : undefined;
    if (
      prior !== undefined &&
      (prior.text === ',' || (prior.text === '.' && isInitialPeriod(tokens, m - 2)))
    ) {
      return false;
    }
  }
  return true;
}

function isDigitsOnly(token: Token): boolean {
  for (let k = 0; k < token.text.length; k += 1)
    if (!isDigit(token.text.charCodeAt(k))) return false;
  return true;
}

/** A single upper-case ASCII letter. */
function isInitial(token: Token): boolean {
  const c = token.text.charCodeAt(0);
  return token.end - token.start === 1 && c >= 0x41 && c <= 0x5a;
}

/** Whether tokens[p] is a period glued to a preceding initial (`J.`). */
function isInitialPeriod(tokens: readonly Token[], p: number): boolean {
  const letter = tokens[p - 1];
  return letter !== undefined && letter.end === tokens[p].start && isInitial(letter);
}

function makeSentence(tokens: readonly Token[], from: number, to: number): Sentence {
  return { start: tokens[from].start, end: tokens[to - 1].end, tokens: tokens.slice(from, to) };
}
