/**
 * Lookup keys for concept names and mentions. The dictionary and every query go through the
 * same functions, so a rule only has to be consistent, not linguistically right: `diabetes`
 * and `diabetes` both become `diabete`, which is fine because both sides do it.
 *
 * - `nameKey` (exact tier 1): Unicode NFKC, lower case, Greek letters spelled out (`α` →
 *   `alpha`, as MeSH writes them), every hyphen/dash/minus and every other punctuation mark
 *   becomes a space (MeSH_dic joins words with `-`, so real hyphens are indistinguishable from
 *   word joins there anyway), possessive `'s` dropped, whitespace collapsed, each word
 *   stripped of a simple plural (`-ies` → `-y`, final `-s` unless `-ss`/`-us`/`-is`) and then
 *   spelled the American way (`americanize`; after the plural, so `tumours` → `tumor`).
 * - `bagKey` (exact tier 2): the words of `nameKey` minus a few function words, sorted, so
 *   `diabetes mellitus, type 2` and `type 2 diabetes mellitus` meet, as do `cancer of the
 *   breast` and `breast cancer`.
 * - `compactKey` (exact tier 3): `nameKey` without spaces, so `thrombo-embolism` meets
 *   `thromboembolism` and `non-Hodgkin` meets `nonhodgkin`.
 * Both return `''` for a string without letters or digits; callers treat that as "no key".
 */

const GREEK: Readonly<Record<string, string>> = {
  α: 'alpha',
  β: 'beta',
  γ: 'gamma',
  δ: 'delta',
  ε: 'epsilon',
  ζ: 'zeta',
  η: 'eta',
  θ: 'theta',
  ι: 'iota',
  κ: 'kappa',
  λ: 'lambda',
  μ: 'mu',
  ν: 'nu',
  ξ: 'xi',
  ο: 'omicron',
  π: 'pi',
  ρ: 'rho',
  σ: 'sigma',
  ς: 'sigma',
  τ: 'tau',
  υ: 'upsilon',
  φ: 'phi',
  χ: 'chi',
  ψ: 'psi',
  ω: 'omega',
};

const GREEK_RE = /[α-ω]/gu;
// Possessive before the punctuation pass turns the apostrophe into a space.
const POSSESSIVE_RE = /(\p{L})['’`]s(?![\p{L}\p{N}])/gu;
const NON_WORD_RE = /[^\p{L}\p{N}]+/u;

/** Function words ignored by the bag key (never `and`/`or`: they carry composite meaning). */
const STOP_WORDS: ReadonlySet<string> = new Set([
  'a',
  'an',
  'the',
  'of',
  'in',
  'with',
  'to',
  'for',
  'by',
  'on',
  'at',
  'from',
]);

const BRITISH_DIGRAPH_RE = /[ao]e/g;

/**
 * British → American spelling, enough for medical words: `ae`/`oe` → `e` (anaemia, oedema,
 * diarrhoea, haemorrhage, foetal) and a final `our` → `or` in words of 6+ letters (tumour,
 * behaviour). Applied to names and mentions alike, so the odd casualty (`coenzyme` →
 * `cenzyme`) still matches itself.
 */
export function americanize(word: string): string {
  let w = word.includes('ae') || word.includes('oe') ? word.replace(BRITISH_DIGRAPH_RE, 'e') : word;
  if (w.length >= 6 && w.endsWith('our')) w = `${w.slice(0, -3)}or`;
  return w;
}

/** Simple plural stripping of one lower-case word (see module comment). */
export function singularize(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (
    word.length > 3 &&
    word.endsWith('s') &&
    !word.endsWith('ss') &&
    !word.endsWith('us') &&
    !word.endsWith('is')
  ) {
    return word.slice(0, -1);
  }
  return word;
}

const NON_ASCII_RE = /[^\x20-\x7e]/;
const ASCII_NON_WORD_RE = /[^a-z0-9]+/;
const ASCII_POSSESSIVE_RE = /([a-z])['`]s(?![a-z0-9])/g;

/** The words of a name after normalization (see module comment); empty for no words. */
export function nameWords(text: string): string[] {
  let folded: string;
  let separator: RegExp;
  // Fast path (most names): NFKC and the Unicode classes change nothing in printable ASCII
  // (anything else, control characters included, takes the full path).
  if (!NON_ASCII_RE.test(text)) {
    folded = text.toLowerCase();
    if (folded.includes("'") || folded.includes('`')) {
      folded = folded.replace(ASCII_POSSESSIVE_RE, '$1');
    }
    separator = ASCII_NON_WORD_RE;
  } else {
    folded = text
      .normalize('NFKC')
      .toLowerCase()
      .replace(GREEK_RE, (c) => ` ${GREEK[c] ?? c} `)
      .replace(POSSESSIVE_RE, '$1');
    separator = NON_WORD_RE;
  }
  const words: string[] = [];
  for (const raw of folded.split(separator)) {
    if (raw !== '') words.push(americanize(singularize(raw)));
  }
  return words;
}

/** Exact tier 1 key. */
export function nameKey(text: string): string {
  return nameWords(text).join(' ');
}

/** Exact tier 2 key from tier-1 words: function words dropped, sorted. */
export function bagKeyOfWords(words: readonly string[]): string {
  const kept = words.filter((w) => !STOP_WORDS.has(w));
  return (kept.length > 0 ? kept : [...words]).sort().join(' ');
}

/** Exact tier 3 key from tier-1 words. */
export function compactKeyOfWords(words: readonly string[]): string {
  return words.join('');
}

/** Exact tier 2 key. */
export function bagKey(text: string): string {
  return bagKeyOfWords(nameWords(text));
}

/** A MeSH_dic heading (`diabetes-mellitus,-type-2`) back in words (`diabetes mellitus, type 2`). */
export function meshHeadingToName(hyphenated: string): string {
  return hyphenated.replace(/-+/g, ' ').replace(/\s+/g, ' ').trim();
}
