import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Command, CommanderError } from 'commander';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { AnnotatedArticle } from '../../src/codec/records.js';
import { registerDemoCommand } from '../../src/cli/commands/demo.js';
import { loadConfig } from '../../src/config/config.js';
import type { DemoSummary } from '../../src/demo/run-demo.js';
import { formatDemoSummary, runDemo } from '../../src/demo/run-demo.js';
import { SAMPLE_ARTICLES } from '../../src/demo/sample-articles.js';
import { parsePubTator } from '../../src/text/pubtator-reader.js';
import type { FakeEutils } from '../producers/eutils/fake-eutils-server.js';
import { startFakeEutils } from '../producers/eutils/fake-eutils-server.js';
import { articleSections } from './html-checks.js';

const out = mkdtempSync(join(tmpdir(), 'medstream-demo-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('the demo annotates every sample citation with the served model and writes readable files', async () => {
  const lines: string[] = [];
  const summary = await runDemo(loadConfig(), {
    outDir: out,
    progress: false,
    log: (l) => lines.push(l),
    live: false,
  });
  assert.equal(summary.articles, SAMPLE_ARTICLES.length);
  assert.equal(summary.skipped, 0);
  assert.deepEqual(summary.input, {
    source: 'samples',
    description: 'the 12 sample citations shipped with MedStream',
    fallbackReason: 'live PubMed input skipped (--offline)',
  });
  assert.ok(
    lines.includes(
      'live PubMed input skipped (--offline); using the 12 sample citations shipped with MedStream',
    ),
    lines.join('\n'),
  );
  assert.deepEqual(
    summary.outputs,
    ['annotations.ndjson', 'annotations.pubtator', 'report.html'].map((f) => join(out, f)),
  );
  assert.match(summary.vocabularyVersion, /\S/);
  assert.match(summary.model, /^bc5cdr-mtl@/);
  assert.ok((summary.byType.Disease ?? 0) > 0 && (summary.byType.Chemical ?? 0) > 0);
  assert.ok(summary.normalized > summary.mentions / 2, 'most mentions carry concept ids');

  const records = readFileSync(join(out, 'annotations.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AnnotatedArticle);
  assert.deepEqual(
    records.map((r) => r.pmid),
    SAMPLE_ARTICLES.map((a) => a.pmid),
  );
  for (const record of records) {
    const text = `${record.title} ${record.abstract}`;
    for (const m of record.mentions) assert.equal(text.slice(m.start, m.end), m.text);
  }
  const docs = parsePubTator(readFileSync(join(out, 'annotations.pubtator'), 'utf8'));
  assert.equal(docs.length, SAMPLE_ARTICLES.length);
  assert.ok(docs.every((d) => d.mentions.every((m) => m.textMatches)));

  // The metformin abstract: a drug and the disease it is known for.
  const metformin = records.find((r) => r.pmid === '99000001')!;
  assert.ok(metformin.mentions.some((m) => m.type === 'Chemical' && /metformin/i.test(m.text)));
  assert.ok(metformin.mentions.some((m) => m.type === 'Disease' && /acidosis/i.test(m.text)));
  const printed = formatDemoSummary(summary);
  assert.match(printed, /top concepts/);
  assert.match(printed, /input +the 12 sample citations shipped with MedStream\n +live PubMed/);
  assert.ok(printed.includes(`\n    ${join(out, 'report.html')}\n`), printed);

  // The report shows the same run: one section per record, the input and model it used.
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.deepEqual(
    [...articleSections(html).keys()],
    SAMPLE_ARTICLES.map((a) => a.pmid),
  );
  assert.ok(html.includes(`<dd>${summary.model}</dd>`));
  assert.match(html, /<dd>the 12 sample citations shipped with MedStream<\/dd>/);
  assert.doesNotMatch(html, /href=/, 'sample PMIDs are not PubMed records: no links');
});

describe('the demo with live input', () => {
  let fake: FakeEutils;
  before(async () => {
    fake = await startFakeEutils({
      days: new Map([
        ['2024-06-11', [38_000_010, 38_000_011, 38_000_012, 38_000_013]],
        ['2024-06-12', [38_000_020, 38_000_021]],
      ]),
    });
  });
  after(async () => fake.close());

  test('annotates the citations E-utilities returns and says so', async () => {
    const dir = join(out, 'live');
    const lines: string[] = [];
    const summary = await runDemo(loadConfig(), {
      outDir: dir,
      progress: false,
      log: (l) => lines.push(l),
      live: { days: 2, maxArticles: 5, baseUrl: fake.baseUrl, now: () => Date.UTC(2024, 5, 12) },
    });
    assert.equal(summary.input.source, 'eutils');
    assert.equal(
      summary.input.description,
      'PubMed E-utilities: 5 of 6 citations with an abstract in English, Entrez date 2024-06-11 to 2024-06-12',
    );
    assert.equal(summary.input.fallbackReason, null);
    assert.equal(summary.articles, 5, lines.join('\n'));
    assert.equal(summary.skipped, 0);
    // The newest first, as E-utilities returned them: 5 of the 6 in the window.
    assert.deepEqual(fake.served, [38_000_021, 38_000_020, 38_000_013, 38_000_012, 38_000_011]);
    const records = readFileSync(join(dir, 'annotations.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AnnotatedArticle);
    assert.deepEqual(
      records.map((r) => Number(r.pmid)),
      fake.served,
    );
    assert.ok(summary.mentions > 0);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.deepEqual(
      [...articleSections(html).keys()],
      records.map((r) => r.pmid),
    );
    assert.match(
      html,
      /<a href="https:\/\/pubmed\.ncbi\.nlm\.nih\.gov\/38000021\/">PMID 38000021<\/a>/,
    );
  });

  test('falls back to the samples with one clear line when PubMed cannot be reached', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const lines: string[] = [];
    const summary = await runDemo(loadConfig(), {
      outDir: join(out, 'fallback'),
      progress: false,
      log: (l) => lines.push(l),
      live: { days: 3, maxArticles: 50, baseUrl: `http://127.0.0.1:${port}/entrez/eutils/` },
    });
    const fallback = lines.filter((l) => l.startsWith('PubMed E-utilities'));
    assert.equal(fallback.length, 1, lines.join('\n'));
    assert.match(
      fallback[0],
      new RegExp(
        `^PubMed E-utilities not reachable \\(127\\.0\\.0\\.1:${port}: ECONNREFUSED .*\\[NETWORK\\]\\); ` +
          'using the 12 sample citations shipped with MedStream$',
      ),
    );
    assert.equal(summary.input.source, 'samples');
    assert.equal(summary.input.fallbackReason, fallback[0].split('; using')[0]);
    assert.equal(summary.articles, SAMPLE_ARTICLES.length);
  });
});

describe('medstream demo (the command)', () => {
  function medstream(args: string[]) {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      encoding: 'utf8',
      env: { ...process.env, KAFKA_BROKERS: '' },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  test('--offline --json: the samples, the report among the outputs, the reason on stderr', () => {
    const dir = join(out, 'cli');
    const run = medstream(['demo', '--offline', '--json', '--out', dir]);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as DemoSummary;
    assert.equal(summary.input.source, 'samples');
    assert.equal(summary.articles, SAMPLE_ARTICLES.length);
    assert.ok(summary.outputs.includes(join(dir, 'report.html')));
    assert.match(
      run.stderr,
      /^medstream: live PubMed input skipped \(--offline\); using the 12 sample citations shipped with MedStream$/m,
    );
  });

  test('out-of-range --days and --max-articles are usage errors', async () => {
    for (const args of [
      ['--days', '0'],
      ['--days', '31'],
      ['--max-articles', '501'],
      ['--max-articles', 'many'],
    ]) {
      let errors = '';
      const program = new Command()
        .exitOverride()
        .configureOutput({ writeErr: (s) => (errors += s), writeOut: () => undefined });
      registerDemoCommand(program);
      await assert.rejects(
        program.parseAsync(['demo', ...args], { from: 'user' }),
        (e: unknown) => e instanceof CommanderError && e.code === 'commander.invalidArgument',
        args.join(' '),
      );
      assert.match(errors, /must be an integer from 1 to (30|500)/, args.join(' '));
    }
  });
});
