/**
 * BIO / BIOES encoding of token spans and decoding back to spans. Shared by the training export
 * (spans → tags) and by the processors (tags predicted by a model → mentions), so both sides
 * agree on one convention:
 * - BIO: `B-X` first token, `I-X` following tokens, `O` outside;
 * - BIOES: `S-X` single-token span, `B-X` … `I-X` … `E-X` otherwise, `O` outside.
 * Labels may contain `-` (`B-MESH:D054549`): only the first two characters are the prefix.
 */
export type TagScheme = 'bio' | 'bioes';

export const TAG_SCHEMES: readonly TagScheme[] = ['bio', 'bioes'];

export const OUTSIDE = 'O';

/** A labelled half-open token range [start, end). */
export interface TokenSpan {
  readonly start: number;
  readonly end: number;
  readonly label: string;
}

/**
 * Tags for `length` tokens. Spans must be non-overlapping and inside [0, length); the caller
 * resolves overlaps first (a RangeError here is a programmer error, not bad data).
 */
export function encodeSpans(
  length: number,
  spans: readonly TokenSpan[],
  scheme: TagScheme,
): string[] {
  const tags = new Array<string>(length).fill(OUTSIDE);
  for (const span of spans) {
    if (span.start < 0 || span.end > length || span.start >= span.end) {
      throw new RangeError(`span [${span.start}, ${span.end}) outside 0..${length}`);
    }
    for (let k = span.start; k < span.end; k += 1) {
      if (tags[k] !== OUTSIDE) throw new RangeError(`overlapping spans at token ${k}`);
      tags[k] = `I-${span.label}`;
    }
    tags[span.start] = `B-${span.label}`;
    if (scheme === 'bioes') {
      if (span.end - span.start === 1) tags[span.start] = `S-${span.label}`;
      else tags[span.end - 1] = `E-${span.label}`;
    }
  }
  return tags;
}

/**
 * Spans from tags, leniently (model output need not be well formed): a span starts at `B-`/`S-`
 * or at an `I-`/`E-` whose label differs from the open span's, continues over `I-`/`E-` of the
 * same label, and ends after `E-`/`S-`, before `O`, or at any other start.
 */
export function decodeTags(tags: readonly string[]): TokenSpan[] {
  const spans: TokenSpan[] = [];
  let open: { start: number; label: string } | undefined;
  const close = (end: number): void => {
    if (open !== undefined) spans.push({ start: open.start, end, label: open.label });
    open = undefined;
  };
  for (let k = 0; k < tags.length; k += 1) {
    const tag = tags[k];
    if (tag === OUTSIDE || tag.length < 3 || tag.charAt(1) !== '-') {
      close(k);
      continue;
    }
    const prefix = tag.charAt(0);
    const label = tag.slice(2);
    const continues =
      (prefix === 'I' || prefix === 'E') && open !== undefined && open.label === label;
    if (!continues) {
      close(k);
      open = { start: k, label };
    }
    if (prefix === 'E' || prefix === 'S') close(k + 1);
  }
  close(tags.length);
  return spans;
}
