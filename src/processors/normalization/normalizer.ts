import { CharNgramIndex } from './char-ngram-index.js';
import { ConceptDictionary } from './concept-dictionary.js';
import { ENTITY_TYPE_BITS } from './dictionary-data.js';
import { bagKeyOfWords, compactKeyOfWords, nameWords } from './name-keys.js';

/**
 * Dictionary normalization of one mention: ranked candidate concepts from
 * (a) exact matches — tier 1 `nameKey`, then tier 2 `bagKey` (order-free, function words
 *     dropped), then tier 3 `compactKey` (spaces removed; scored as tier 2) — and, only when
 *     none matches,
 * (b) character 3-gram TF-IDF cosine retrieval over all distinct name keys (see
 *     char-ngram-index.ts), keeping hits with cosine ≥ `minScore`.
 * Candidates are restricted to the mention's entity type: a Disease mention only sees concepts
 * typed Disease; a Chemical mention sees concepts typed Chemical and the untyped MeSH
 * descriptors (MeSH_dic has no tree numbers, so most chemicals are untyped there); any other
 * type sees everything. Whether a TF-IDF hit is good enough is decided by the combiner
 * (combine.ts) with a threshold chosen on a dev split, not here.
 *
 * Abbreviations: with `context.abbreviations` (short form → long form, from
 * `findAbbreviations` over the same abstract), a mention that is a defined short form is looked
 * up through its long form first, and a mention containing a short form as a word (`DMD
 * patients`) is also tried with the long form substituted. An exact match via the long form
 * wins over one of the mention itself (short forms are ambiguous across abstracts, long forms
 * much less), then an exact match of the mention, then the better TF-IDF list.
 */
export type CandidateMethod = 'exact' | 'bag' | 'tfidf' | 'model';

export interface Candidate {
  /** CURIEs; several for a composite mention; empty only for a model's NIL label. */
  readonly ids: readonly string[];
  /** In [0, 1]; exact tier 1 = 1, tier 2 = 0.9, TF-IDF = cosine, model = probability. */
  readonly score: number;
  readonly method: CandidateMethod;
  /** The dictionary name that matched (dictionary candidates). */
  readonly matched?: string;
  /** Whether the match went through an abbreviation's long form. */
  readonly viaAbbreviation?: boolean;
}

export interface NormalizeContext {
  /** Short form → long form defined in the same abstract. */
  readonly abbreviations?: ReadonlyMap<string, string>;
}

export interface NormalizerOptions {
  /** TF-IDF retrieval after exact matching fails (default true; false = exact only). */
  readonly tfidf?: boolean;
  /** Most candidates returned (default 5). */
  readonly topK?: number;
  /** Lowest cosine a TF-IDF candidate may have to be returned at all (default 0.3). */
  readonly minScore?: number;
}

const EXACT_SCORE = 1;
const BAG_SCORE = 0.9;
const ALL_TYPES = '*';

interface TypeIndex {
  readonly keys: readonly string[];
  readonly index: CharNgramIndex;
}

export class Normalizer {
  readonly dictionary: ConceptDictionary;
  private readonly tfidf: boolean;
  private readonly topK: number;
  private readonly minScore: number;
  /** Tier 1 key → entries; tier 2 key → entries. */
  private readonly byKey = new Map<string, number[]>();
  private readonly byBag = new Map<string, number[]>();
  private readonly byCompact = new Map<string, number[]>();
  private readonly typeMasks: Uint8Array;
  private readonly weights: Float64Array;
  private readonly indexes = new Map<string, TypeIndex>();

  constructor(dictionary: ConceptDictionary, options: NormalizerOptions = {}) {
    this.dictionary = dictionary;
    this.tfidf = options.tfidf ?? true;
    this.topK = options.topK ?? 5;
    this.minScore = options.minScore ?? 0.3;
    const { entryNames } = dictionary.data;
    this.typeMasks = new Uint8Array(entryNames.length);
    this.weights = new Float64Array(entryNames.length);
    entryNames.forEach((name, entry) => {
      const words = nameWords(name);
      if (words.length === 0) return;
      push(this.byKey, words.join(' '), entry);
      push(this.byBag, bagKeyOfWords(words), entry);
      if (words.length > 1) push(this.byCompact, compactKeyOfWords(words), entry);
      this.typeMasks[entry] = dictionary.entryTypeMask(entry);
      this.weights[entry] = dictionary.entryWeight(entry);
    });
    if (this.tfidf) {
      for (const type of Object.keys(ENTITY_TYPE_BITS)) this.typeIndex(type);
    }
  }

  /** Loads the compiled dictionary from `dir` and indexes it. */
  static async load(dir: string, options: NormalizerOptions = {}): Promise<Normalizer> {
    return new Normalizer(await ConceptDictionary.load(dir), options);
  }

  /** Ranked candidates for a mention of `type` (best first; empty = no match). */
  normalize(mention: string, type: string, context: NormalizeContext = {}): Candidate[] {
    const own = this.lookup(mention, type);
    const abbreviations = context.abbreviations;
    if (abbreviations === undefined || abbreviations.size === 0) return own;
    const expanded = expandAbbreviations(mention, abbreviations);
    if (expanded === undefined) return own;
    const viaLong = this.lookup(expanded, type).map((c) => ({ ...c, viaAbbreviation: true }));
    const exact = (list: readonly Candidate[]) => list.length > 0 && list[0].method !== 'tfidf';
    if (exact(viaLong)) return viaLong;
    if (exact(own)) return own;
    if (viaLong.length === 0) return own;
    if (own.length === 0) return viaLong;
    return viaLong[0].score >= own[0].score ? viaLong : own;
  }

  /**
   * Whether `text` is exactly (tier-1 name key) a name of a concept typed `type` (strictly:
   * untyped MeSH descriptors do not count, unlike in `normalize`). False for unknown types.
   */
  isTypedName(text: string, type: string): boolean {
    const bit = ENTITY_TYPE_BITS[type];
    if (bit === undefined) return false;
    const entries = this.byKey.get(nameWords(text).join(' '));
    return entries !== undefined && entries.some((e) => (this.typeMasks[e] & bit) !== 0);
  }

  /** Concept candidates without abbreviation handling. */
  lookup(mention: string, type: string): Candidate[] {
    const words = nameWords(mention);
    if (words.length === 0) return [];
    const key = words.join(' ');
    const exact = this.exact(words, type);
    if (exact.length > 0) return exact;
    const whole = this.tfidf ? this.retrieve(key, type) : [];
    const composite = this.coordinated(mention, type);
    if (composite === undefined) return whole;
    if (whole.length > 0 && whole[0].score > composite.score) return whole;
    return [composite, ...whole.filter((c) => c.ids.join('|') !== composite.ids.join('|'))].slice(
      0,
      this.topK,
    );
  }

  /**
   * A coordinated mention (`brain, breast, and prostate cancer`, `C6 and C7 deficiencies`)
   * as one composite candidate: the conjuncts are looked up one by one, the earlier ones
   * completed with the head of the last (`brain cancer`, `breast cancer`), and the candidate
   * carries the union of their best IDs with the lowest conjunct score; `exact` only when every
   * conjunct matched exactly. Undefined when there is no coordination or a conjunct has no
   * candidate.
   */
  private coordinated(mention: string, type: string): Candidate | undefined {
    const parts = mention
      .split(COORDINATION_RE)
      .map((p) => p.trim())
      .filter((p) => p !== '');
    if (parts.length < 2) return undefined;
    const last = parts[parts.length - 1];
    const lastWords = last.split(/\s+/);
    const head = lastWords.length > 1 ? lastWords.slice(1).join(' ') : '';
    const ids: string[] = [];
    let score = 1;
    let exact = true;
    const matched: string[] = [];
    for (let i = 0; i < parts.length; i += 1) {
      const variants = i === parts.length - 1 || head === '' ? [parts[i]] : [`${parts[i]} ${head}`];
      if (i < parts.length - 1 && parts[i].includes(' ')) variants.push(parts[i]);
      let best: Candidate | undefined;
      for (const variant of variants) {
        const words = nameWords(variant);
        if (words.length === 0) continue;
        const key = words.join(' ');
        const found =
          this.exact(words, type)[0] ?? (this.tfidf ? this.retrieve(key, type)[0] : undefined);
        if (found !== undefined && (best === undefined || found.score > best.score)) best = found;
      }
      if (best === undefined) return undefined;
      for (const id of best.ids) if (!ids.includes(id)) ids.push(id);
      score = Math.min(score, best.score);
      if (best.method === 'tfidf') exact = false;
      matched.push(best.matched ?? '');
    }
    return { ids, score, method: exact ? 'exact' : 'tfidf', matched: matched.join(' | ') };
  }

  /** Exact tiers in order: name key, bag key, compact key (see name-keys.ts). */
  private exact(words: readonly string[], type: string): Candidate[] {
    const tier1 = this.exactCandidates(this.byKey.get(words.join(' ')), type, EXACT_SCORE, 'exact');
    if (tier1.length > 0) return tier1;
    const tier2 = this.exactCandidates(
      this.byBag.get(bagKeyOfWords(words)),
      type,
      BAG_SCORE,
      'bag',
    );
    if (tier2.length > 0) return tier2;
    return this.exactCandidates(
      this.byCompact.get(compactKeyOfWords(words)),
      type,
      BAG_SCORE,
      'bag',
    );
  }

  private allowed(entry: number, type: string): boolean {
    const bit = ENTITY_TYPE_BITS[type];
    if (bit === undefined) return true;
    const mask = this.typeMasks[entry];
    return (mask & bit) !== 0 || (bit === ENTITY_TYPE_BITS.Chemical && mask === 0);
  }

  private exactCandidates(
    entries: readonly number[] | undefined,
    type: string,
    base: number,
    method: CandidateMethod,
  ): Candidate[] {
    if (entries === undefined) return [];
    const kept = entries
      .filter((e) => this.allowed(e, type))
      .sort((a, b) => this.weights[b] - this.weights[a] || a - b);
    if (kept.length === 0) return [];
    const best = this.weights[kept[0]];
    return this.toCandidates(
      kept.map((e) => ({ entry: e, score: base * (0.5 + (0.5 * this.weights[e]) / best) })),
      method,
    );
  }

  private retrieve(key: string, type: string): Candidate[] {
    const group = ENTITY_TYPE_BITS[type] === undefined ? ALL_TYPES : type;
    const { keys, index } = this.typeIndex(group);
    const hits = index.search(key, this.topK * 2, this.minScore);
    const scored: { entry: number; score: number }[] = [];
    for (const hit of hits) {
      const entries = (this.byKey.get(keys[hit.doc]) ?? [])
        .filter((e) => this.allowed(e, type))
        .sort((a, b) => this.weights[b] - this.weights[a] || a - b);
      // Same cosine for every entry of the key: the weight order breaks the tie.
      for (const entry of entries) scored.push({ entry, score: hit.score });
    }
    return this.toCandidates(scored, 'tfidf');
  }

  /** Deduplicates by target (first = best), caps at topK. */
  private toCandidates(
    scored: readonly { entry: number; score: number }[],
    method: CandidateMethod,
  ): Candidate[] {
    const { entryTargets, entryNames } = this.dictionary.data;
    const seen = new Set<number>();
    const out: Candidate[] = [];
    for (const { entry, score } of scored) {
      const target = entryTargets[entry];
      if (seen.has(target)) continue;
      seen.add(target);
      out.push({
        ids: this.dictionary.targetIds(target),
        score,
        method,
        matched: entryNames[entry],
      });
      if (out.length >= this.topK) break;
    }
    return out;
  }

  /** The TF-IDF index over the distinct keys a type may match (built once, on first use). */
  private typeIndex(group: string): TypeIndex {
    let built = this.indexes.get(group);
    if (built === undefined) {
      const keys: string[] = [];
      for (const [key, entries] of this.byKey) {
        if (group === ALL_TYPES || entries.some((e) => this.allowed(e, group))) keys.push(key);
      }
      built = { keys, index: new CharNgramIndex(keys) };
      this.indexes.set(group, built);
    }
    return built;
  }
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

const WORD_CHAR = /[\p{L}\p{N}]/u;
/** Conjunction separators: `, and`, `, or`, `,`, `and/or`, `and`, `or`, `/`. */
const COORDINATION_RE =
  /\s*,\s*(?:and\/or|and|or)\s+|\s*,\s*|\s+and\/or\s+|\s+(?:and|or)\s+|\s*\/\s*/iu;

/**
 * The mention with defined short forms replaced by their long forms: the whole (trimmed)
 * mention when it is a short form, else each whole-word occurrence (not inside a longer word).
 * Undefined when nothing was replaced.
 */
export function expandAbbreviations(
  mention: string,
  abbreviations: ReadonlyMap<string, string>,
): string | undefined {
  const trimmed = mention.trim();
  const whole = abbreviations.get(trimmed);
  if (whole !== undefined) return whole;
  // One left-to-right pass over the original text (a long form is never re-scanned), trying
  // the longest short form first at each word start.
  const shortForms = [...abbreviations.keys()].sort((a, b) => b.length - a.length);
  let out = '';
  let changed = false;
  let i = 0;
  while (i < trimmed.length) {
    const atWordStart = i === 0 || !WORD_CHAR.test(trimmed.charAt(i - 1));
    const sf = atWordStart
      ? shortForms.find((s) => {
          if (!trimmed.startsWith(s, i)) return false;
          const after = trimmed.charAt(i + s.length);
          return after === '' || !WORD_CHAR.test(after);
        })
      : undefined;
    if (sf === undefined) {
      out += trimmed.charAt(i);
      i += 1;
    } else {
      out += abbreviations.get(sf) as string;
      i += sf.length;
      changed = true;
    }
  }
  return changed ? out : undefined;
}
