/**
 * The one word tokenizer (architecture.md, "One tokenizer"). Training data is exported through
 * it and the processors tokenize with it, so its output is pinned by a golden test and every
 * change that alters any token must bump TOKENIZER_VERSION (it goes into model manifests, and a
 * model is only served with the tokenizer version it was trained with).
 *
 * Granularity, chosen by measuring where gold mention boundaries of NCBI-disease and BC5CDR fall
 * (test/text/corpora.test.ts keeps the misaligned fraction under 0.5%):
 * - a token is a maximal run of word characters (letters, digits, combining marks, in any
 *   script): `BRCA1`, `IL`, `3H`, `tetrachlorodibenzo`, `TNFα`;
 * - every other non-whitespace character is a token by itself: hyphens, slashes, brackets,
 *   commas, plus/minus, quotes, so `IL-2` → `IL` `-` `2`, `Ca(2+)` → `Ca` `(` `2` `+` `)` and
 *   `cisplatin-induced` → `cisplatin` `-` `induced` (entity boundaries often fall there);
 * - two exceptions join across a period: a decimal point between two ASCII digits stays inside
 *   the run (`2.5`, `0.05`), and a dotted initialism of single letters (`e.g.`, `i.v.`, `U.S.`)
 *   is one token including its final period (the sentence splitter decides whether that period
 *   also ends a sentence).
 *
 * Invariants (fuzzed in test/text/tokenizer.test.ts), for every input string:
 * - `text.slice(token.start, token.end) === token.text`; offsets are UTF-16 code units;
 * - tokens are non-empty, ordered, non-overlapping and contain no whitespace (JavaScript `\s`);
 * - every non-whitespace code unit lies inside exactly one token;
 * - a surrogate pair is never split; a lone surrogate is a one-unit token.
 */
export const TOKENIZER_VERSION = 'medstream-tok-1';

export interface Token {
  readonly text: string;
  /** UTF-16 offset of the first code unit. */
  readonly start: number;
  /** UTF-16 offset one past the last code unit. */
  readonly end: number;
}

// Character classes. UNKNOWN marks a BMP code unit not classified yet (filled lazily).
const UNKNOWN = 0;
const SPACE = 1;
const WORD = 2;
const SYMBOL = 3;
const HIGH_SURROGATE = 4;
const LOW_SURROGATE = 5;

/** One byte per BMP code unit; ASCII and surrogates are filled eagerly, the rest on first use. */
const CLASS = new Uint8Array(0x10000);

const WORD_RE = /^[\p{L}\p{N}\p{M}]$/u;
// Exactly the characters JavaScript's `\s` matches, so "no whitespace in a token" has one meaning.
const SPACE_RE = /^\s$/u;

(function initAscii(): void {
  for (let c = 0; c < 0x80; c += 1) {
    const ch = String.fromCharCode(c);
    CLASS[c] = SPACE_RE.test(ch) ? SPACE : WORD_RE.test(ch) ? WORD : SYMBOL;
  }
  CLASS.fill(HIGH_SURROGATE, 0xd800, 0xdc00);
  CLASS.fill(LOW_SURROGATE, 0xdc00, 0xe000);
})();

function classifyBmp(c: number): number {
  const ch = String.fromCharCode(c);
  const cls = SPACE_RE.test(ch) ? SPACE : WORD_RE.test(ch) ? WORD : SYMBOL;
  CLASS[c] = cls;
  return cls;
}

/** Class of the single code unit at `i` (surrogates as HIGH_/LOW_SURROGATE; see wordAt). */
function classAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  const cls = CLASS[c];
  if (cls === UNKNOWN) return classifyBmp(c);
  return cls;
}

function astralIsWord(text: string, i: number): boolean {
  return WORD_RE.test(text.slice(i, i + 2));
}

function isAsciiDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAsciiLetter(c: number): boolean {
  return (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
}

/**
 * Length of a dotted initialism starting at `i` (`e.g.`, `i.v.`, `U.S.A.`): at least two single
 * ASCII letters each followed by a period, not followed by a word character. 0 when none.
 */
function initialismLength(text: string, i: number, n: number): number {
  let j = i;
  let letters = 0;
  while (j + 1 < n && isAsciiLetter(text.charCodeAt(j)) && text.charCodeAt(j + 1) === 0x2e) {
    letters += 1;
    j += 2;
  }
  if (letters < 2) return 0;
  if (j < n && wordAt(text, j)) return 0;
  return j - i;
}

/** Whether a word character (or a valid surrogate pair that is one) starts at `i`. */
function wordAt(text: string, i: number): boolean {
  const cls = classAt(text, i);
  if (cls === WORD) return true;
  if (cls === HIGH_SURROGATE && i + 1 < text.length) {
    return classAt(text, i + 1) === LOW_SURROGATE && astralIsWord(text, i);
  }
  return false;
}

/**
 * Tokenizes `text` into word and punctuation tokens with exact UTF-16 offsets.
 * A hand-written scanner over char codes: one table lookup per ASCII/BMP code unit; regular
 * expressions only classify a non-ASCII character the first time it is seen (and astral ones).
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    let cls = CLASS[c];
    if (cls === UNKNOWN) cls = classifyBmp(c);
    if (cls === SPACE) {
      i += 1;
      continue;
    }
    const start = i;
    if (cls === WORD || (cls === HIGH_SURROGATE && wordAt(text, i))) {
      if (cls === WORD && c < 0x80 && isAsciiLetter(c) && text.charCodeAt(i + 1) === 0x2e) {
        const len = initialismLength(text, i, n);
        if (len > 0) {
          tokens.push({ text: text.slice(i, i + len), start, end: i + len });
          i += len;
          continue;
        }
      }
      i = scanWord(text, i, n);
    } else if (
      cls === HIGH_SURROGATE &&
      i + 1 < n &&
      CLASS[text.charCodeAt(i + 1)] === LOW_SURROGATE
    ) {
      i += 2; // a non-word astral character (emoji, symbol): one token, never split
    } else {
      i += 1; // punctuation, symbol, control character or lone surrogate
    }
    tokens.push({ text: text.slice(start, i), start, end: i });
  }
  return tokens;
}

/** End of the word run starting at `i` (which holds a word character). */
function scanWord(text: string, i: number, n: number): number {
  let j = i;
  while (j < n) {
    const c = text.charCodeAt(j);
    let cls = CLASS[c];
    if (cls === WORD) {
      j += 1;
      continue;
    }
    if (cls === UNKNOWN) {
      cls = classifyBmp(c);
      if (cls === WORD) {
        j += 1;
        continue;
      }
      break;
    }
    if (c === 0x2e && j > i && isAsciiDigit(text.charCodeAt(j - 1))) {
      // A decimal point between digits stays inside the number: `2.5`, `0.05`, `1.2.3`.
      if (j + 1 < n && isAsciiDigit(text.charCodeAt(j + 1))) {
        j += 2;
        continue;
      }
      break;
    }
    if (cls === HIGH_SURROGATE && j + 1 < n && CLASS[text.charCodeAt(j + 1)] === LOW_SURROGATE) {
      if (astralIsWord(text, j)) {
        j += 2;
        continue;
      }
    }
    break;
  }
  return j;
}

/** Whether the code unit is whitespace in the tokenizer's sense (JavaScript `\s`). */
export function isWhitespaceCode(c: number): boolean {
  const cls = CLASS[c];
  return cls === SPACE || (cls === UNKNOWN && classifyBmp(c) === SPACE);
}
