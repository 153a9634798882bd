import { tokenize } from '../../text/tokenizer.js';

/**
 * Dictionary-based mention detection from annotated training text: names that annotators mark
 * as an entity nearly every time they occur are recognized wherever they occur, even where the
 * model missed them.
 *
 * For each token-aligned training mention text (its tokens, lower-cased, joined by one space:
 * the key, so `Parkinson's disease` and `parkinson ' s disease` meet) and type:
 * - `annotated`: how many training mentions of that type have that key;
 * - `occurrences`: how many times the key occurs token-aligned anywhere in the training text
 *   (annotated or not);
 * - the annotation ratio `annotated / occurrences` estimates how likely an occurrence is a
 *   mention of that type. `the` in `the patients` and a real mention `The` will differ here.
 *
 * Only the training split feeds these counts (ratios computed on the split that selects the
 * thresholds would be optimistic). Keys are matched leftmost-longest over a sentence's tokens;
 * a name the caller's filter rejects (ratio, count) is never matched, so a shorter accepted name
 * inside it still can be.
 */
export interface LexiconEntry {
  /** Lower-cased token texts joined by single spaces. */
  readonly key: string;
  readonly type: string;
  /** Training mentions of `type` whose text has this key. */
  readonly annotated: number;
  /** Token-aligned occurrences of the key in the training text (≥ annotated). */
  readonly occurrences: number;
}

export interface LexiconDocument {
  readonly text: string;
  /** Mentions with the evaluated type already mapped (e.g. NCBI's SpecificDisease → Disease). */
  readonly mentions: readonly {
    readonly start: number;
    readonly end: number;
    readonly type: string;
  }[];
}

/** Longest name considered, in tokens (longer training mentions are rare and never repeat). */
export const MAX_LEXICON_TOKENS = 8;

/** The key of a token sequence (see module comment). */
export function lexiconKey(tokens: readonly { readonly text: string }[]): string {
  return tokens.map((t) => t.text.toLowerCase()).join(' ');
}

export function annotationRatio(entry: LexiconEntry): number {
  return entry.occurrences === 0 ? 0 : entry.annotated / entry.occurrences;
}

/**
 * Entries of every token-aligned training mention (see module comment), sorted by key then
 * type. Documents must be distinct (a corpus that repeats a document would count it twice).
 */
export function buildLexicon(
  documents: readonly LexiconDocument[],
  maxTokens = MAX_LEXICON_TOKENS,
): LexiconEntry[] {
  const tokenized = documents.map((doc) => tokenize(doc.text));
  const annotated = new Map<string, Map<string, number>>();
  let longest = 0;
  documents.forEach((doc, d) => {
    const tokens = tokenized[d];
    const byStart = new Map<number, number>();
    const byEnd = new Map<number, number>();
    tokens.forEach((t, i) => {
      byStart.set(t.start, i);
      byEnd.set(t.end, i);
    });
    // A mention annotated twice at the same span (a composite's parts) counts once.
    const seen = new Set<string>();
    for (const m of doc.mentions) {
      const first = byStart.get(m.start);
      const last = byEnd.get(m.end);
      if (first === undefined || last === undefined || last < first) continue;
      if (last - first + 1 > maxTokens) continue;
      const span = `${m.start}:${m.end}:${m.type}`;
      if (seen.has(span)) continue;
      seen.add(span);
      const key = lexiconKey(tokens.slice(first, last + 1));
      const types = annotated.get(key) ?? new Map<string, number>();
      types.set(m.type, (types.get(m.type) ?? 0) + 1);
      annotated.set(key, types);
      longest = Math.max(longest, last - first + 1);
    }
  });
  const occurrences = new Map<string, number>();
  for (const tokens of tokenized) {
    for (let i = 0; i < tokens.length; i += 1) {
      let key = '';
      for (let n = 1; n <= longest && i + n <= tokens.length; n += 1) {
        key =
          n === 1 ? tokens[i].text.toLowerCase() : `${key} ${tokens[i + n - 1].text.toLowerCase()}`;
        if (annotated.has(key)) occurrences.set(key, (occurrences.get(key) ?? 0) + 1);
      }
    }
  }
  const entries: LexiconEntry[] = [];
  for (const [key, types] of annotated) {
    for (const [type, count] of types) {
      // A mention always occurs where it is annotated; max() only guards odd overlaps.
      entries.push({
        key,
        type,
        annotated: count,
        occurrences: Math.max(count, occurrences.get(key) ?? 0),
      });
    }
  }
  return entries.sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0,
  );
}

export interface LexiconMatch {
  /** Token range [start, end) in the tokens given to `match`. */
  readonly start: number;
  readonly end: number;
  readonly entry: LexiconEntry;
}

/** A token range whose key has lexicon entries (all of them, best annotation ratio first). */
export interface LexiconHit {
  readonly start: number;
  readonly end: number;
  readonly entries: readonly LexiconEntry[];
}

/**
 * Leftmost-longest selection among `hits` (any order; ranges in one coordinate system, e.g.
 * token indices or character offsets): at each position the longest hit with an accepted entry
 * wins, and the next match starts after it. For one hit, the first accepted entry (best ratio).
 */
export function selectLeftmostLongest<H extends { readonly start: number; readonly end: number }>(
  hits: readonly (H & { readonly entries: readonly LexiconEntry[] })[],
  accept: (entry: LexiconEntry) => boolean,
): { hit: H; entry: LexiconEntry }[] {
  const ordered = [...hits].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: { hit: H; entry: LexiconEntry }[] = [];
  let free = -Infinity;
  for (const hit of ordered) {
    if (hit.start < free) continue;
    const entry = hit.entries.find(accept);
    if (entry === undefined) continue;
    out.push({ hit, entry });
    free = hit.end;
  }
  return out;
}

/** Matching of lexicon entries over token sequences (see module comment). */
export class MentionLexicon {
  /** Key → its entries, best annotation ratio first. */
  private readonly byKey = new Map<string, LexiconEntry[]>();
  private readonly longest: number;

  constructor(readonly entries: readonly LexiconEntry[]) {
    let longest = 0;
    for (const entry of entries) {
      const list = this.byKey.get(entry.key) ?? [];
      list.push(entry);
      this.byKey.set(entry.key, list);
      longest = Math.max(longest, entry.key.split(' ').length);
    }
    for (const list of this.byKey.values()) {
      list.sort(
        (a, b) =>
          annotationRatio(b) - annotationRatio(a) ||
          b.annotated - a.annotated ||
          (a.type < b.type ? -1 : a.type > b.type ? 1 : 0),
      );
    }
    this.longest = longest;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Every token range of `tokens` whose key has entries, by start then length. */
  hits(tokens: readonly { readonly text: string }[]): LexiconHit[] {
    const out: LexiconHit[] = [];
    if (this.byKey.size === 0) return out;
    const lower = tokens.map((t) => t.text.toLowerCase());
    for (let i = 0; i < lower.length; i += 1) {
      let key = '';
      for (let n = 1; n <= this.longest && i + n <= lower.length; n += 1) {
        key = n === 1 ? lower[i] : `${key} ${lower[i + n - 1]}`;
        const entries = this.byKey.get(key);
        if (entries !== undefined) out.push({ start: i, end: i + n, entries });
      }
    }
    return out;
  }

  /** Leftmost-longest matches of accepted entries, non-overlapping, in token order. */
  match(
    tokens: readonly { readonly text: string }[],
    accept: (entry: LexiconEntry) => boolean = () => true,
  ): LexiconMatch[] {
    return selectLeftmostLongest(this.hits(tokens), accept).map(({ hit, entry }) => ({
      start: hit.start,
      end: hit.end,
      entry,
    }));
  }
}
