import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import type { AnnotatedArticle, Mention } from '../../src/codec/records.js';
import { loadConfig } from '../../src/config/config.js';
import { PALETTE, typeStyles } from '../../src/demo/report-html.js';
import { runDemo } from '../../src/demo/run-demo.js';
import { HOW_TO_INSTALL, consoleMessages, findChromium, runChromium } from './chromium.js';
import {
  articleSections,
  attributes,
  decodeEntities,
  innerOf,
  textContent,
} from './html-checks.js';
import { decodePng } from './png.js';

/**
 * What a person opening the demo's report sees, checked in a real browser: the demo runs (the
 * sample citations, through the real model), Chromium loads out/…/report.html from disk, and
 * the test reads back the DOM Chromium built, its console, and a screenshot.
 */

const work = mkdtempSync(join(tmpdir(), 'medstream-report-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface DomMark {
  start: number;
  end: number;
  text: string;
  type: string;
  ids: string;
  className: string;
}

/** Marks of a title or abstract as Chromium serialized it, with offsets into `text`. */
function domMarks(inner: string, base: number): DomMark[] {
  const out: DomMark[] = [];
  let offset = base;
  const re = /<mark(\s[^>]*)>([^<]*)<\/mark>|([^<]+)|(<[^>]*>)/g;
  for (let m = re.exec(inner); m !== null; m = re.exec(inner)) {
    if (m[1] !== undefined) {
      const attrs = attributes(m[1]);
      const text = decodeEntities(m[2] ?? '');
      out.push({
        start: offset,
        end: offset + text.length,
        text,
        type: attrs['data-type'] ?? '',
        ids: attrs['data-ids'] ?? '',
        className: attrs['class'] ?? '',
      });
      offset += text.length;
    } else if (m[3] !== undefined) {
      offset += decodeEntities(m[3]).length;
    } else {
      throw new Error(`unexpected element inside the annotated text: ${m[4]}`);
    }
  }
  return out;
}

function hex(r: number, g: number, b: number): string {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

test('the demo report renders in headless Chromium as a person would see it', async () => {
  const chromium = findChromium();
  // Never skipped: a missing browser must fail the suite (in CI and elsewhere) with a remedy.
  assert.ok(chromium !== undefined, HOW_TO_INSTALL);

  const out = join(work, 'demo');
  const summary = await runDemo(loadConfig(), {
    outDir: out,
    progress: false,
    log: () => undefined,
    live: false,
  });
  const reportPath = join(out, 'report.html');
  assert.ok(summary.outputs.includes(reportPath));
  const url = pathToFileURL(reportPath).href;
  const records = readFileSync(join(out, 'annotations.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AnnotatedArticle);

  // --- The DOM Chromium built from the file, and its console.
  const dom = await runChromium(chromium, join(work, 'profile-dom'), ['--dump-dom', url]);
  assert.deepEqual(consoleMessages(dom.stderr), [], 'no script errors, no blocked resources');
  assert.match(dom.stdout, /<h1>MedStream demo report<\/h1>/);
  assert.match(dom.stdout, /<dt>Input<\/dt><dd>the 12 sample citations shipped with MedStream/);
  assert.ok(dom.stdout.includes(`<dd>${summary.model}</dd>`));

  const sections = articleSections(dom.stdout);
  assert.deepEqual(
    [...sections.keys()],
    records.map((r) => r.pmid),
    'one article section per record, in order',
  );
  const styles = typeStyles(Object.keys(summary.byType));
  let highlighted = 0;
  const markedTypes = new Set<string>();
  for (const record of records) {
    const section = sections.get(record.pmid)!;
    const text = `${record.title} ${record.abstract}`;
    const titleHtml = innerOf(section, 'h2', 'title') ?? '';
    const abstractHtml = innerOf(section, 'p', 'abstract') ?? '';
    // What the reader sees is the record's text, nothing lost or added by the highlighting.
    assert.equal(textContent(titleHtml), record.title, record.pmid);
    assert.equal(textContent(abstractHtml), record.abstract, record.pmid);

    const marks = [...domMarks(titleHtml, 0), ...domMarks(abstractHtml, record.title.length + 1)];
    // Every highlight is a mention of the record: same place, text, type and concept ids.
    const key = (m: { start: number; end: number; type: string }): string =>
      `${m.start}-${m.end}-${m.type}`;
    const byKey = new Map<string, Mention>(record.mentions.map((m) => [key(m), m]));
    for (const mark of marks) {
      const mention = byKey.get(key(mark));
      assert.ok(mention !== undefined, `${record.pmid}: no mention for the mark ${mark.text}`);
      assert.equal(mark.text, mention.text);
      assert.equal(mark.text, text.slice(mark.start, mark.end));
      assert.equal(mark.ids, mention.ids.join(' '));
      assert.equal(mark.className, `ent ${styles.get(mention.type)!.className}`);
      markedTypes.add(mark.type);
    }
    // Every mention without a highlight overlaps one at least as long (the overlap rule).
    for (const mention of record.mentions) {
      if (marks.some((m) => key(m) === key(mention))) continue;
      assert.ok(
        marks.some(
          (m) =>
            m.start < mention.end &&
            mention.start < m.end &&
            m.end - m.start >= mention.end - mention.start,
        ),
        `${record.pmid}: ${mention.text} (${mention.start}–${mention.end}) is neither highlighted nor covered`,
      );
    }
    // And the table lists every mention, saying which are highlighted.
    const rows = [...section.matchAll(/<tr data-highlighted="(true|false)">/g)].map((m) => m[1]);
    assert.equal(rows.length, record.mentions.length, record.pmid);
    assert.equal(rows.filter((r) => r === 'true').length, marks.length, record.pmid);
    highlighted += marks.length;
  }
  assert.ok(highlighted > 0);
  assert.deepEqual(
    [...markedTypes].sort(),
    Object.keys(summary.byType).sort(),
    'every entity type found is highlighted somewhere',
  );

  // --- The screenshot: a PNG of the requested size showing text and the type colours.
  const png = join(work, 'report.png');
  const shot = await runChromium(chromium, join(work, 'profile-shot'), [
    `--screenshot=${png}`,
    '--window-size=1280,2000',
    url,
  ]);
  assert.deepEqual(consoleMessages(shot.stderr), []);
  const image = decodePng(readFileSync(png));
  assert.equal(image.width, 1280);
  assert.equal(image.height, 2000);
  const colours = new Map<string, number>();
  let white = 0;
  let dark = 0;
  for (let i = 0; i < image.rgba.length; i += 4) {
    const [r, g, b] = [image.rgba[i], image.rgba[i + 1], image.rgba[i + 2]];
    const colour = hex(r, g, b);
    colours.set(colour, (colours.get(colour) ?? 0) + 1);
    if (r > 250 && g > 250 && b > 250) white += 1;
    if (r + g + b < 150) dark += 1;
  }
  const pixels = image.width * image.height;
  assert.ok(colours.size > 50, `only ${colours.size} distinct colours: a blank page?`);
  assert.ok(white / pixels > 0.5, 'a light page');
  assert.ok(white / pixels < 0.97, `${((white / pixels) * 100).toFixed(1)}% white: no content?`);
  assert.ok(dark / pixels > 0.01, 'dark text is drawn');
  for (const type of ['Disease', 'Chemical']) {
    const background = styles.get(type)!.background;
    assert.ok(PALETTE.some((p) => p.background === background));
    const count = colours.get(background) ?? 0;
    assert.ok(count > 2_000, `${type} highlights (${background}) cover only ${count} pixels`);
  }
});
