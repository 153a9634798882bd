import type { AnnotatedArticle, Mention } from '../codec/records.js';
import type { TopConcept } from './demo-stats.js';
import { countMentions } from './demo-stats.js';

/**
 * The demo's static HTML report: one self-contained file (inline CSS, no scripts, no external
 * resources; a Content-Security-Policy forbids both, so a slip shows up as a console error
 * instead of a silent fetch). Pure string building: every piece of text from a record goes
 * through `escapeHtml`.
 *
 * Offsets are UTF-16 code units into `title + " " + abstract` (see `articleText`), which is
 * what JavaScript string indices are, so `text.slice(start, end)` is the mention.
 *
 * Highlighting rule: the text shows at most one highlight per character. Among overlapping
 * mentions the longest is highlighted (ties: earliest start, then highest score); the others
 * are still listed in the article's mention table with the reason they are not highlighted.
 * Mentions whose offsets do not fit the text, or that span the title and the abstract, are
 * listed the same way and never highlighted.
 */

export interface ReportInput {
  /** Where the articles came from. */
  source: 'eutils' | 'samples';
  /** One line saying what was annotated. */
  description: string;
  /** Why live PubMed input was not used, when it was not (null otherwise). */
  fallbackReason: string | null;
}

export interface ReportData {
  input: ReportInput;
  /** `name@version`. */
  model: string;
  vocabularyVersion: string;
  /** Epoch milliseconds of the end of the run. */
  generatedAt: number;
  /** Annotation wall time. */
  seconds: number;
  records: readonly AnnotatedArticle[];
  topConcepts: readonly TopConcept[];
  /** Preferred concept names (the normalization dictionary's). */
  conceptName: (id: string) => string | undefined;
  /** Link PMIDs to pubmed.ncbi.nlm.nih.gov (false for citations that are not in PubMed). */
  pubmedLinks: boolean;
  /** Records the run could not annotate (dead letters), shown as a count. */
  skipped?: number;
}

export interface TypeStyle {
  /** CSS class of the type's highlights, unique per type (`ent-disease`). */
  className: string;
  background: string;
  border: string;
  borderStyle: 'solid' | 'dashed' | 'dotted' | 'double';
}

/** Body text colour; every highlight background keeps at least 7:1 contrast with it. */
export const TEXT_COLOUR = '#1b1b1b';

/**
 * Light backgrounds (dark text stays readable on all of them) with a darker underline whose
 * line style differs between neighbours, so types are told apart without relying on colour.
 */
export const PALETTE: readonly Omit<TypeStyle, 'className'>[] = [
  { background: '#ffd7d5', border: '#b3261e', borderStyle: 'solid' },
  { background: '#d3e3fd', border: '#0b57d0', borderStyle: 'dashed' },
  { background: '#c4eed0', border: '#146c2e', borderStyle: 'dotted' },
  { background: '#ffe8b3', border: '#8a5300', borderStyle: 'double' },
  { background: '#e9ddff', border: '#6a3fb5', borderStyle: 'solid' },
  { background: '#c2f0ec', border: '#006a60', borderStyle: 'dashed' },
  { background: '#ffd8e4', border: '#984061', borderStyle: 'dotted' },
  { background: '#e3e3e3', border: '#474747', borderStyle: 'double' },
];

/** Usual entity types keep the same colour in every report, whatever else is present. */
const PREFERRED_SLOT: Readonly<Record<string, number>> = {
  disease: 0,
  chemical: 1,
  gene: 2,
  geneorgeneproduct: 2,
  species: 3,
  organism: 3,
  mutation: 4,
  variant: 4,
  sequencevariant: 4,
  cellline: 5,
};

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for use both between tags and inside double- or single-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** A style per type; types are taken in the order given (callers pass them sorted). */
export function typeStyles(types: readonly string[]): Map<string, TypeStyle> {
  const styles = new Map<string, TypeStyle>();
  const usedSlots = new Set<number>();
  const usedClasses = new Set<string>();
  const unique = [...new Set(types)];
  const slots = new Map<string, number>();
  for (const type of unique) {
    const preferred = PREFERRED_SLOT[type.toLowerCase().replace(/[^a-z0-9]/g, '')];
    if (preferred !== undefined && !usedSlots.has(preferred)) {
      slots.set(type, preferred);
      usedSlots.add(preferred);
    }
  }
  let next = 0;
  for (const [i, type] of unique.entries()) {
    let slot = slots.get(type);
    if (slot === undefined) {
      while (next < PALETTE.length && usedSlots.has(next)) next += 1;
      // More types than colours: reuse colours; the class, legend and tooltips still differ.
      slot = next < PALETTE.length ? next : i % PALETTE.length;
      usedSlots.add(slot);
    }
    const slug =
      type
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '') || 'type';
    let className = `ent-${slug}`;
    for (let n = 2; usedClasses.has(className); n += 1) className = `ent-${slug}-${n}`;
    usedClasses.add(className);
    styles.set(type, { className, ...PALETTE[slot] });
  }
  return styles;
}

export type MentionPlacement =
  | { mention: Mention; highlighted: true }
  | { mention: Mention; highlighted: false; reason: string };

/**
 * Decides which mentions are highlighted (see the rule at the top of this file). Returns one
 * placement per mention, ordered by start, then end.
 */
export function placeMentions(
  text: string,
  titleLength: number,
  mentions: readonly Mention[],
): MentionPlacement[] {
  // By index, not by object: the same mention object may legitimately appear twice.
  const problems = mentions.map((m) => offsetProblem(text, titleLength, m));
  const byPreference = mentions
    .map((m, i) => ({ m, i }))
    .filter(({ i }) => problems[i] === undefined)
    .sort(
      (a, b) =>
        b.m.end - b.m.start - (a.m.end - a.m.start) ||
        a.m.start - b.m.start ||
        b.m.score - a.m.score ||
        a.i - b.i,
    );
  const shown: Mention[] = [];
  const overlapped = new Map<number, Mention>();
  for (const { m, i } of byPreference) {
    const winner = shown.find((s) => s.start < m.end && m.start < s.end);
    if (winner === undefined) shown.push(m);
    else overlapped.set(i, winner);
  }
  return mentions
    .map((m, i) => ({ m, i }))
    .sort((a, b) => a.m.start - b.m.start || a.m.end - b.m.end || a.i - b.i)
    .map(({ m: mention, i }): MentionPlacement => {
      const reason = problems[i];
      if (reason !== undefined) return { mention, highlighted: false, reason };
      const winner = overlapped.get(i);
      if (winner !== undefined) {
        return {
          mention,
          highlighted: false,
          reason: `overlaps the highlighted “${winner.text}” (${winner.start}–${winner.end})`,
        };
      }
      return { mention, highlighted: true };
    });
}

function offsetProblem(text: string, titleLength: number, m: Mention): string | undefined {
  if (
    !Number.isInteger(m.start) ||
    !Number.isInteger(m.end) ||
    m.start < 0 ||
    m.end > text.length ||
    m.start >= m.end
  ) {
    return `offsets ${m.start}–${m.end} are outside the text (length ${text.length})`;
  }
  if (text.slice(m.start, m.end) !== m.text) {
    return `the text at ${m.start}–${m.end} is not the mention text`;
  }
  // Index titleLength is the separating space: it belongs to neither part.
  if (m.start <= titleLength && m.end > titleLength) return 'spans the title and the abstract';
  return undefined;
}

interface RenderContext {
  styles: ReadonlyMap<string, TypeStyle>;
  conceptName: (id: string) => string | undefined;
}

function conceptLabel(id: string, ctx: RenderContext): string {
  return ctx.conceptName(id) ?? '(not in the dictionary)';
}

function markHtml(m: Mention, ctx: RenderContext): string {
  const style = ctx.styles.get(m.type);
  const tooltip = [
    `${m.type} · score ${m.score.toFixed(3)} · ${m.source}`,
    ...(m.ids.length === 0
      ? ['no concept id']
      : m.ids.map((id) => `${id} ${conceptLabel(id, ctx)}`)),
  ].join('\n');
  return (
    `<mark class="ent ${style?.className ?? ''}" data-type="${escapeHtml(m.type)}" ` +
    `data-ids="${escapeHtml(m.ids.join(' '))}" title="${escapeHtml(tooltip)}">` +
    `${escapeHtml(m.text)}</mark>`
  );
}

/** `text[from, to)` with the highlighted mentions inside it marked up. */
function highlight(
  text: string,
  from: number,
  to: number,
  shown: readonly Mention[],
  ctx: RenderContext,
): string {
  let out = '';
  let at = from;
  for (const m of shown) {
    if (m.start < from || m.end > to) continue;
    out += escapeHtml(text.slice(at, m.start)) + markHtml(m, ctx);
    at = m.end;
  }
  return out + escapeHtml(text.slice(at, to));
}

function mentionRow(p: MentionPlacement, ctx: RenderContext): string {
  const m = p.mention;
  const style = ctx.styles.get(m.type);
  const ids =
    m.ids.length === 0
      ? '<span class="muted">none</span>'
      : m.ids.map((id) => `<code>${escapeHtml(id)}</code>`).join('<br>');
  const names =
    m.ids.length === 0 ? '' : m.ids.map((id) => escapeHtml(conceptLabel(id, ctx))).join('<br>');
  const note = p.highlighted ? '' : escapeHtml(`not highlighted: ${p.reason}`);
  return (
    `<tr data-highlighted="${p.highlighted}">` +
    `<td>${escapeHtml(m.text)}</td>` +
    `<td><span class="swatch ent ${style?.className ?? ''}">${escapeHtml(m.type)}</span></td>` +
    `<td class="num">${m.start}–${m.end}</td>` +
    `<td>${ids}</td><td>${names}</td>` +
    `<td class="num">${m.score.toFixed(3)}</td>` +
    `<td>${escapeHtml(m.source)}</td><td class="note">${note}</td></tr>`
  );
}

function articleHtml(record: AnnotatedArticle, ctx: RenderContext, links: boolean): string {
  const text = `${record.title} ${record.abstract}`;
  const titleLength = record.title.length;
  const placements = placeMentions(text, titleLength, record.mentions);
  const shown = placements.filter((p) => p.highlighted).map((p) => p.mention);
  const pmid = escapeHtml(record.pmid);
  const pmidHtml = links
    ? `<a href="https://pubmed.ncbi.nlm.nih.gov/${encodeURIComponent(record.pmid)}/">PMID ${pmid}</a>`
    : `<span class="pmid">PMID ${pmid}</span> <span class="muted">(sample citation, not in PubMed)</span>`;
  const meta = [
    pmidHtml,
    ...(record.journal === null || record.journal === ''
      ? []
      : [`<span class="journal">${escapeHtml(record.journal)}</span>`]),
    ...(record.publicationDate === null || record.publicationDate === ''
      ? []
      : [`<time>${escapeHtml(record.publicationDate)}</time>`]),
    `${record.mentions.length} ${record.mentions.length === 1 ? 'mention' : 'mentions'}`,
  ].join(' · ');
  const title =
    record.title === ''
      ? '<span class="muted">(no title)</span>'
      : highlight(text, 0, titleLength, shown, ctx);
  const abstract =
    record.abstract === ''
      ? '<p class="abstract empty">No abstract.</p>'
      : `<p class="abstract">${highlight(text, titleLength + 1, text.length, shown, ctx)}</p>`;
  const table =
    placements.length === 0
      ? '<p class="none">No mentions found.</p>'
      : '<table class="mentions"><caption>Mentions</caption><thead><tr>' +
        '<th scope="col">text</th><th scope="col">type</th><th scope="col">offsets</th>' +
        '<th scope="col">concept ids</th><th scope="col">concept names</th>' +
        '<th scope="col">score</th><th scope="col">source</th><th scope="col">note</th>' +
        `</tr></thead><tbody>${placements.map((p) => mentionRow(p, ctx)).join('')}</tbody></table>`;
  return (
    `<section class="article" id="pmid-${pmid}" data-pmid="${pmid}">` +
    `<p class="meta">${meta}</p><h2 class="title">${title}</h2>${abstract}${table}</section>\n`
  );
}

function formatTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function renderReportHtml(data: ReportData): string {
  const counts = countMentions(data.records);
  const types = Object.keys(counts.byType);
  const styles = typeStyles(types);
  const ctx: RenderContext = { styles, conceptName: data.conceptName };
  const articles = data.records.length;
  const throughput =
    data.seconds > 0
      ? `${(articles / data.seconds).toFixed(1)} articles/s (${data.seconds.toFixed(2)} s)`
      : `${data.seconds.toFixed(2)} s`;
  const byType = types.map((t) => `${escapeHtml(t)} ${counts.byType[t]}`).join(', ');
  const facts: [string, string][] = [
    ['Input', escapeHtml(data.input.description)],
    ...(data.input.fallbackReason === null
      ? []
      : ([['Note', escapeHtml(data.input.fallbackReason)]] as [string, string][])),
    ['Model', escapeHtml(data.model)],
    ['Vocabulary', escapeHtml(data.vocabularyVersion)],
    [
      'Articles',
      String(articles) +
        (data.skipped === undefined || data.skipped === 0
          ? ''
          : ` (${plural(data.skipped, 'record', 'records')} could not be annotated)`),
    ],
    [
      'Mentions',
      `${counts.mentions}${byType === '' ? '' : ` (${byType})`}; ` +
        `${counts.normalized} with concept ids`,
    ],
    ['Throughput', throughput],
    [
      'Generated',
      `<time datetime="${new Date(data.generatedAt).toISOString()}">${formatTime(data.generatedAt)}</time>`,
    ],
  ];
  const legend =
    types.length === 0
      ? '<p class="none">No entity mentions were found.</p>'
      : '<ul class="legend">' +
        types
          .map((t) => {
            const s = styles.get(t)!;
            return (
              `<li><span class="swatch ent ${s.className}">${escapeHtml(t)}</span> ` +
              `${plural(counts.byType[t] ?? 0, 'mention', 'mentions')}</li>`
            );
          })
          .join('') +
        '</ul>';
  const top =
    data.topConcepts.length === 0
      ? '<p class="none">No mention was normalized to a concept.</p>'
      : '<table class="concepts"><thead><tr><th scope="col">#</th><th scope="col">concept</th>' +
        '<th scope="col">preferred name</th><th scope="col">type</th>' +
        '<th scope="col">articles</th><th scope="col">mentions</th></tr></thead><tbody>' +
        data.topConcepts
          .map(
            (c, i) =>
              `<tr><td class="num">${i + 1}</td><td><code>${escapeHtml(c.id)}</code></td>` +
              `<td>${c.name === null ? '<span class="muted">(not in the dictionary)</span>' : escapeHtml(c.name)}</td>` +
              `<td><span class="swatch ent ${styles.get(c.type)?.className ?? ''}">${escapeHtml(c.type)}</span></td>` +
              `<td class="num">${c.articles}</td><td class="num">${c.mentions}</td></tr>`,
          )
          .join('') +
        '</tbody></table>';
  const typeCss = [...styles.values()]
    .map(
      (s) =>
        `.${s.className}{background:${s.background};border-bottom:3px ${s.borderStyle} ${s.border}}`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>MedStream demo report: ${plural(articles, 'article', 'articles')}</title>
<style>
${BASE_CSS}
${typeCss}
</style>
</head>
<body>
<header class="report-head">
<h1>MedStream demo report</h1>
<dl class="facts">
${facts.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('\n')}
</dl>
</header>
<main>
<section class="summary">
<h2>Entity types</h2>
${legend}
<p class="hint">Highlights show the type by colour and underline style; hover one for its concept ids, preferred names, score and source. Where mentions overlap, the longest is highlighted and all are listed in the article’s table.</p>
<h2>Top concepts</h2>
${top}
</section>
<h2 class="articles-head">${plural(articles, 'article', 'articles')}</h2>
${data.records.map((r) => articleHtml(r, ctx, data.pubmedLinks)).join('')}</main>
</body>
</html>
`;
}

const BASE_CSS = `*{box-sizing:border-box}
html{color-scheme:light}
body{margin:0;background:#fff;color:${TEXT_COLOUR};font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
.report-head,main{max-width:72rem;margin:0 auto;padding:0 1.5rem}
.report-head{padding-top:1.5rem;border-bottom:1px solid #c7c7c7}
h1{font-size:1.75rem;margin:0 0 .75rem}
h2{font-size:1.25rem;margin:1.5rem 0 .5rem}
.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.15rem 1.25rem;margin:0 0 1rem}
.facts div{display:contents}
.facts dt{font-weight:600}
.facts dd{margin:0;overflow-wrap:anywhere}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5rem 1.5rem}
.hint,.muted{color:#4a4a4a}
.hint{font-size:.9rem}
mark.ent,.swatch{color:${TEXT_COLOUR};padding:0 .15em;border-radius:.2em}
.swatch{display:inline-block;line-height:1.4;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.875rem;margin:.5rem 0 1rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border:1px solid #c7c7c7;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}
tbody tr:nth-child(even){background:#f8f8f8}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.note{color:#4a4a4a}
code{font-size:.85rem}
.article{border-top:1px solid #c7c7c7;padding:.75rem 0}
.article .meta{margin:0;color:#4a4a4a;font-size:.9rem}
.article .title{font-size:1.2rem;margin:.25rem 0 .5rem;line-height:1.5}
.abstract{margin:0 0 .5rem;max-width:65rem}
.empty,.none{color:#4a4a4a;font-style:italic}
a{color:#0b57d0}`;
