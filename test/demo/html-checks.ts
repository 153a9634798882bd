/**
 * Small, dependency-free readers of the report's HTML for tests: tag balance, marks, entity
 * decoding. They only need to understand the markup the report and Chromium's serializer
 * produce (double-quoted attributes, no comments, no CDATA).
 */

const VOID_ELEMENTS = new Set(['br', 'meta', 'link', 'img', 'hr', 'input', 'wbr', 'col']);
/** Elements whose content is raw text, not markup. */
const RAW_TEXT = new Set(['style', 'script', 'title', 'textarea']);

/** Throws when an end tag does not close the innermost open element or something stays open. */
export function assertBalancedTags(html: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(\/?)>/g;
  for (let m = tag.exec(html); m !== null; m = tag.exec(html)) {
    const name = m[2].toLowerCase();
    if (m[1] === '/') {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> at ${m.index} closes <${open ?? 'nothing'}>`);
    } else if (!VOID_ELEMENTS.has(name) && m[3] !== '/') {
      stack.push(name);
      if (RAW_TEXT.has(name)) {
        const end = html.indexOf(`</${name}>`, tag.lastIndex);
        if (end < 0) throw new Error(`<${name}> at ${m.index} is never closed`);
        tag.lastIndex = end;
      }
    }
  }
  if (stack.length > 0) throw new Error(`unclosed elements: ${stack.join(' > ')}`);
}

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos|nbsp);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' }[e] ?? '';
  });
}

/** Text content of an HTML fragment (tags dropped, entities decoded). */
export function textContent(html: string): string {
  return decodeEntities(html.replace(/<[^>]*>/g, ''));
}

export interface MarkInfo {
  attributes: Record<string, string>;
  text: string;
}

export function attributes(tagSource: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"/g;
  for (let m = re.exec(tagSource); m !== null; m = re.exec(tagSource)) {
    out[m[1]] = decodeEntities(m[2]);
  }
  return out;
}

/** Every `<mark …>text</mark>` in order (marks never contain other elements in the report). */
export function marks(html: string): MarkInfo[] {
  const out: MarkInfo[] = [];
  const re = /<mark(\s[^>]*)?>([^<]*)<\/mark>/g;
  for (let m = re.exec(html); m !== null; m = re.exec(html)) {
    out.push({ attributes: attributes(m[1] ?? ''), text: decodeEntities(m[2]) });
  }
  return out;
}

/** The inner HTML of the first element matching `open` (a start-tag regex source) in `html`. */
export function innerOf(html: string, name: string, classValue: string): string | undefined {
  const re = new RegExp(`<${name}\\b[^>]*class="${classValue}"[^>]*>`);
  const m = re.exec(html);
  if (m === null) return undefined;
  const start = m.index + m[0].length;
  let depth = 1;
  const tag = new RegExp(`<(/?)${name}\\b[^>]*>`, 'g');
  tag.lastIndex = start;
  for (let t = tag.exec(html); t !== null; t = tag.exec(html)) {
    depth += t[1] === '/' ? -1 : 1;
    if (depth === 0) return html.slice(start, t.index);
  }
  return undefined;
}

/** `<section class="article" …>…</section>` blocks keyed by their data-pmid. */
export function articleSections(html: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /<section\b([^>]*)>([\s\S]*?)<\/section>/g;
  for (let m = re.exec(html); m !== null; m = re.exec(html)) {
    const attrs = attributes(m[1]);
    if (attrs['class'] === 'article' && attrs['data-pmid'] !== undefined) {
      out.set(attrs['data-pmid'], m[2]);
    }
  }
  return out;
}

/** WCAG 2 contrast ratio of two `#rrggbb` colours. */
export function contrastRatio(a: string, b: string): number {
  const luminance = (hex: string): number => {
    const [r, g, bl] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
