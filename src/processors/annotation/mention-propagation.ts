import type { MentionSource } from '../../codec/records.js';
import type { Abbreviation } from '../normalization/abbreviations.js';

/**
 * Document-level propagation of recognized mentions: an abstract names the same entity several
 * times, and annotators mark every occurrence, but a sentence-level tagger decides each one
 * from its own sentence and misses some. Two rules, each adding mentions only where no mention
 * overlaps yet (existing mentions are never changed or removed):
 *
 * - abbreviations (`abbreviationPropagation`): for a definition `long form (SF)` found in the
 *   abstract (Schwartz–Hearst, abbreviations.ts), when a mention covers the long form (its
 *   span, or the same text case-insensitively), every whole-word occurrence of SF becomes a
 *   mention of that type and ids; conversely, when an occurrence of SF is a mention and nothing
 *   overlaps the long form, the long form becomes a mention of SF's type and ids. Source
 *   `abbreviation`.
 * - consistency (`consistencyPropagation`): a string recognized as a mention once is a mention
 *   at each of its other whole-word occurrences (same case, or any case), with the same type
 *   and ids (the ids were produced by what produced the first one, so its source is kept).
 *   Longer strings claim their occurrences first; among mentions with the same text, the best
 *   score is copied.
 *
 * Whole word: the characters before and after the occurrence are not letters or digits.
 */
export interface PropagatedMention {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly type: string;
  readonly ids: readonly string[];
  readonly score: number;
  readonly source: MentionSource;
}

const ALNUM = /[\p{L}\p{N}]/u;

function isAlnumAt(text: string, index: number): boolean {
  if (index < 0 || index >= text.length) return false;
  return ALNUM.test(text.charAt(index));
}

/** Whole-word occurrences of `needle` in `text` (case-sensitive), as start offsets. */
export function wholeWordOccurrences(text: string, needle: string): number[] {
  const out: number[] = [];
  if (needle === '') return out;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    const end = at + needle.length;
    // A needle that starts or ends with a non-word character needs no boundary on that side.
    const leftOk = !ALNUM.test(needle.charAt(0)) || !isAlnumAt(text, at - 1);
    const rightOk = !ALNUM.test(needle.charAt(needle.length - 1)) || !isAlnumAt(text, end);
    if (leftOk && rightOk) out.push(at);
  }
  return out;
}

/** Half-open spans already taken; linear scans are fine at abstract scale (tens of mentions). */
class TakenSpans {
  private readonly spans: [number, number][] = [];

  constructor(initial: readonly { readonly start: number; readonly end: number }[]) {
    for (const m of initial) this.spans.push([m.start, m.end]);
  }

  overlaps(start: number, end: number): boolean {
    return this.spans.some(([s, e]) => start < e && s < end);
  }

  add(start: number, end: number): void {
    this.spans.push([start, end]);
  }
}

/** Mentions the abbreviation rule of the module comment adds, sorted by start. */
export function propagateAbbreviations(
  text: string,
  mentions: readonly PropagatedMention[],
  abbreviations: readonly Abbreviation[],
): PropagatedMention[] {
  const taken = new TakenSpans(mentions);
  const out: PropagatedMention[] = [];
  const done = new Set<string>();
  const byText = (needle: string): PropagatedMention | undefined => {
    const lower = needle.toLowerCase();
    return mentions.find((m) => m.text.toLowerCase() === lower);
  };
  for (const a of abbreviations) {
    // The first definition of a short form in the abstract is the one that counts.
    if (done.has(a.short)) continue;
    done.add(a.short);
    const longForm =
      mentions.find((m) => m.start === a.longStart && m.end === a.longEnd) ?? byText(a.long);
    if (longForm !== undefined) {
      for (const at of wholeWordOccurrences(text, a.short)) {
        const end = at + a.short.length;
        if (taken.overlaps(at, end)) continue;
        taken.add(at, end);
        out.push({
          start: at,
          end,
          text: a.short,
          type: longForm.type,
          ids: longForm.ids,
          score: longForm.score,
          source: 'abbreviation',
        });
      }
      continue;
    }
    const shortForm =
      mentions.find((m) => m.start === a.shortStart && m.end === a.shortEnd) ??
      mentions.find((m) => m.text === a.short);
    if (shortForm === undefined || taken.overlaps(a.longStart, a.longEnd)) continue;
    taken.add(a.longStart, a.longEnd);
    out.push({
      start: a.longStart,
      end: a.longEnd,
      text: text.slice(a.longStart, a.longEnd),
      type: shortForm.type,
      ids: shortForm.ids,
      score: shortForm.score,
      source: 'abbreviation',
    });
  }
  return out.sort((x, y) => x.start - y.start);
}

/**
 * Mentions the consistency rule of the module comment adds, sorted by start. With
 * `ignoreCase`, occurrences differing in case also count (`Amlodipine` at a sentence start and
 * `amlodipine`); the added mention keeps the text as it occurs.
 */
export function propagateConsistency(
  text: string,
  mentions: readonly PropagatedMention[],
  options: { readonly ignoreCase?: boolean } = {},
): PropagatedMention[] {
  const lowered = text.toLowerCase();
  // Lower-casing that changes lengths (rare scripts) would shift offsets: match exactly then.
  const ignoreCase = options.ignoreCase === true && lowered.length === text.length;
  const haystack = ignoreCase ? lowered : text;
  const keyOf = (m: PropagatedMention) => (ignoreCase ? m.text.toLowerCase() : m.text);
  const best = new Map<string, PropagatedMention>();
  for (const m of mentions) {
    const key = keyOf(m);
    const known = best.get(key);
    if (known === undefined || m.score > known.score) best.set(key, m);
  }
  const sources = [...best].sort(
    ([a, x], [b, y]) => b.length - a.length || x.start - y.start || (a < b ? -1 : 1),
  );
  const taken = new TakenSpans(mentions);
  const out: PropagatedMention[] = [];
  for (const [key, m] of sources) {
    for (const at of wholeWordOccurrences(haystack, key)) {
      const end = at + key.length;
      if (taken.overlaps(at, end)) continue;
      taken.add(at, end);
      out.push({ ...m, start: at, end, text: text.slice(at, end) });
    }
  }
  return out.sort((x, y) => x.start - y.start);
}
