import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import type { AnnotatedArticle } from '../../../src/codec/records.js';
import { isMedStreamError } from '../../../src/errors.js';
import type { FileFormatName } from '../../../src/sinks/files/file-format.js';
import { fileFormat } from '../../../src/sinks/files/file-format.js';
import type { DirectoryTarget } from '../../../src/sinks/files/file-sink.js';
import { FileSink } from '../../../src/sinks/files/file-sink.js';
import type { SinkRecord } from '../../../src/sinks/sink.js';
import { parsePubTator } from '../../../src/text/pubtator-reader.js';
import {
  asSinkRecords,
  deletion,
  generateArticles,
  generatedConcepts,
} from '../generated-articles.js';
import { checkBioC } from './bioc-check.js';

const work = mkdtempSync(join(tmpdir(), 'medstream-file-sink-'));
after(() => rmSync(work, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(work, `out-${(dirs += 1)}`);
const signal = new AbortController().signal;
const concepts = generatedConcepts('fs', 30);
const articles = (count: number, firstPmid = 1000, seed = 7) =>
  generateArticles({ firstPmid, count, concepts, seed });

function sink(format: FileFormatName, target: Omit<DirectoryTarget, 'kind'>, log?: string[]) {
  return new FileSink({
    format: fileFormat(format),
    target: { kind: 'directory', ...target },
    log: (line) => log?.push(line),
  });
}

/** Writes `records` in batches of the given sizes (cycled). */
async function writeInBatches(
  target: FileSink,
  records: readonly SinkRecord[],
  sizes: readonly number[],
): Promise<void> {
  let i = 0;
  for (let b = 0; i < records.length; b += 1) {
    const size = sizes[b % sizes.length] ?? 1;
    const result = await target.write(records.slice(i, i + size), signal);
    assert.deepEqual(result.rejected, []);
    i += size;
  }
}

const listing = (dir: string) => readdirSync(dir).sort();
const finals = (dir: string, extension: string) =>
  listing(dir).filter((name) => name.endsWith(`.${extension}`));

/** Every article of the PubTator files, in file-name order, as the project reader sees them. */
function readPubTatorFiles(dir: string) {
  return finals(dir, 'pubtator').flatMap((name) =>
    parsePubTator(readFileSync(join(dir, name), 'utf8'), name),
  );
}

function assertSameArticle(doc: ReturnType<typeof parsePubTator>[number], a: AnnotatedArticle) {
  assert.equal(doc.pmid, a.pmid);
  assert.equal(doc.title, a.title);
  assert.equal(doc.abstract, a.abstract);
  assert.deepEqual(
    doc.mentions.map((m) => [m.start, m.end, m.text, m.type, [...m.ids], m.textMatches]),
    a.mentions.map((m) => [m.start, m.end, m.text, m.type, m.ids, true]),
  );
}

test('rotation by records: 23 records every 5 → 5 complete files that read back as the input', async () => {
  const dir = freshDir();
  const input = articles(23);
  const out = sink('pubtator', { dir, rotateRecords: 5 });
  await out.start();
  await writeInBatches(out, asSinkRecords(input), [7, 1, 10]);
  await out.close();
  await out.close();
  const names = listing(dir);
  assert.deepEqual(
    names,
    [1, 2, 3, 4, 5].map((n) => `entities-00000${n}.pubtator`),
  );
  assert.equal(Math.ceil(23 / 5), names.length);
  const docs = readPubTatorFiles(dir);
  assert.equal(docs.length, input.length, 'no document lost or duplicated');
  assert.equal(new Set(docs.map((d) => d.pmid)).size, input.length);
  docs.forEach((doc, i) => assertSameArticle(doc, input[i]));
  assert.deepEqual(
    names.map((n) => parsePubTator(readFileSync(join(dir, n), 'utf8')).length),
    [5, 5, 5, 5, 3],
  );
});

test('BioC files are each a complete, valid collection; rotation by bytes bounds the file size', async () => {
  const dir = freshDir();
  const input = articles(40, 5000, 11);
  const rotateBytes = 6000;
  const out = sink('bioc', { dir, rotateBytes });
  await out.start();
  await writeInBatches(out, asSinkRecords(input), [9, 4]);
  await out.close();
  const names = finals(dir, 'bioc.json');
  assert.deepEqual(listing(dir), names, 'nothing but final files');
  assert.ok(names.length > 3, `expected several files, got ${names.length}`);
  const ids: string[] = [];
  for (const name of names) {
    const text = readFileSync(join(dir, name), 'utf8');
    const collection = checkBioC(text);
    assert.ok(collection.documents.length >= 1);
    if (collection.documents.length > 1) assert.ok(Buffer.byteLength(text) <= rotateBytes);
    ids.push(...collection.documents.map((d) => d.id));
  }
  assert.deepEqual(
    ids,
    input.map((a) => a.pmid),
  );
});

test('deletions: NDJSON in line and in order; PubTator beside the file with positions', async () => {
  const [a, b, c] = articles(3, 7000);
  const records: SinkRecord[] = [
    { pmid: a.pmid, article: a, version: 1, origin: null },
    { pmid: b.pmid, article: b, version: 2, origin: null },
    deletion(a.pmid, 3),
    { pmid: c.pmid, article: c, version: 4, origin: null },
    deletion('424242', 5),
  ];
  const ndjsonDir = freshDir();
  const ndjson = sink('ndjson', { dir: ndjsonDir });
  await ndjson.start();
  assert.deepEqual(await ndjson.write(records, signal), { written: 3, deleted: 2, rejected: [] });
  await ndjson.close();
  const lines = readFileSync(join(ndjsonDir, 'entities-000001.ndjson'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { pmid: string; deleted?: boolean });
  assert.deepEqual(
    lines.map((l) => [l.pmid, l.deleted === true]),
    [
      [a.pmid, false],
      [b.pmid, false],
      [a.pmid, true],
      [c.pmid, false],
      ['424242', true],
    ],
  );

  const pubtatorDir = freshDir();
  const pubtator = sink('pubtator', { dir: pubtatorDir });
  await pubtator.start();
  await pubtator.write(records, signal);
  await pubtator.close();
  assert.deepEqual(listing(pubtatorDir), [
    'entities-000001.deletions.txt',
    'entities-000001.pubtator',
  ]);
  assert.equal(
    readFileSync(join(pubtatorDir, 'entities-000001.deletions.txt'), 'utf8'),
    `${a.pmid}\t2\n424242\t3\n`,
  );
  assert.equal(readPubTatorFiles(pubtatorDir).length, 3);
});

test('records whose offsets do not match their text are rejected with RECORD_INVALID, the rest written', async () => {
  const dir = freshDir();
  const [good, shifted, beyond] = articles(12, 9000, 3).filter((a) => a.mentions.length > 0);
  assert.ok(good !== undefined && shifted !== undefined && beyond !== undefined);
  const badShift: AnnotatedArticle = {
    ...shifted,
    mentions: [{ ...shifted.mentions[0], start: 0, end: 5, text: 'nope!' }],
  };
  const beyondEnd = beyond.title.length + 1 + beyond.abstract.length + 50;
  const badEnd: AnnotatedArticle = {
    ...beyond,
    mentions: [{ ...beyond.mentions[0], start: 3, end: beyondEnd }],
  };
  const out = sink('bioc', { dir });
  await out.start();
  const result = await out.write(
    [
      { pmid: good.pmid, article: good, version: 1, origin: null },
      { pmid: badShift.pmid, article: badShift, version: 2, origin: null },
      { pmid: badEnd.pmid, article: badEnd, version: 3, origin: null },
      { pmid: '1', article: good, version: 4, origin: null },
    ],
    signal,
  );
  await out.close();
  assert.equal(result.written, 1);
  assert.deepEqual(
    result.rejected.map((r) => [r.record.pmid, r.errorCode]),
    [
      [badShift.pmid, 'RECORD_INVALID'],
      [badEnd.pmid, 'RECORD_INVALID'],
      ['1', 'RECORD_INVALID'],
    ],
  );
  assert.match(result.rejected[0].message, /the text at these offsets is "Study"/);
  assert.match(result.rejected[1].message, /exceeds the text length/);
  assert.match(result.rejected[2].message, /differs from the article's PMID/);
  const collection = checkBioC(readFileSync(join(dir, 'entities-000001.bioc.json'), 'utf8'));
  assert.deepEqual(
    collection.documents.map((d) => d.id),
    [good.pmid],
  );
});

test('a crash leaves only .part files; the next writer recovers what was acknowledged and overwrites nothing', async () => {
  const dir = freshDir();
  const input = articles(9, 12000, 5);
  const records = asSinkRecords(input);
  const first = sink('bioc', { dir, rotateRecords: 4 });
  await first.start();
  await first.write(records.slice(0, 6), signal); // file 1 published (4), file 2 holds 2
  await first.write(records.slice(6, 7), signal); // file 2 holds 3, acknowledged
  // The crash: a batch half written (never acknowledged), then the process is gone.
  appendFileSync(join(dir, 'entities-000002.bioc.json.part'), ',\n{"id":"torn","infons":{');
  await first.abandon();
  assert.deepEqual(listing(dir), [
    'entities-000001.bioc.json',
    'entities-000002.ack.part',
    'entities-000002.bioc.json.part',
  ]);
  const published = join(dir, 'entities-000001.bioc.json');
  const before = { text: readFileSync(published, 'utf8'), ino: statSync(published).ino };

  const log: string[] = [];
  const second = sink('bioc', { dir, rotateRecords: 4 }, log);
  await second.start();
  assert.match(
    log.join('\n'),
    /recovered entities-000002\.bioc\.json .*3 acknowledged records kept/,
  );
  await second.write(records.slice(7), signal);
  await second.close();

  assert.deepEqual(
    listing(dir),
    [1, 2, 3].map((n) => `entities-00000${n}.bioc.json`),
  );
  assert.deepEqual(
    { text: readFileSync(published, 'utf8'), ino: statSync(published).ino },
    before,
    'the published file is untouched',
  );
  const ids = [1, 2, 3].flatMap((n) =>
    checkBioC(readFileSync(join(dir, `entities-00000${n}.bioc.json`), 'utf8')).documents.map(
      (d) => d.id,
    ),
  );
  assert.deepEqual(
    ids,
    input.map((a) => a.pmid),
  );
});

test('numbering continues after any existing file of the prefix, whatever its format', async () => {
  const dir = freshDir();
  const first = sink('ndjson', { dir, rotateRecords: 1 });
  await first.start();
  await first.write(asSinkRecords(articles(2, 100)), signal);
  await first.close();
  await writeFile(join(dir, 'entities-000007.pubtator'), 'kept\n');
  const second = sink('pubtator', { dir });
  await second.start();
  await second.write(asSinkRecords(articles(1, 200)), signal);
  await second.close();
  assert.deepEqual(listing(dir), [
    'entities-000001.ndjson',
    'entities-000002.ndjson',
    'entities-000007.pubtator',
    'entities-000008.pubtator',
  ]);
  assert.equal(readFileSync(join(dir, 'entities-000007.pubtator'), 'utf8'), 'kept\n');
});

test('a final name taken by someone else is never overwritten: OUTPUT_WRITE_FAILED instead', async () => {
  const dir = freshDir();
  const out = sink('pubtator', { dir, rotateRecords: 2 });
  await out.start();
  await out.write(asSinkRecords(articles(1, 300)), signal);
  await writeFile(join(dir, 'entities-000001.pubtator'), 'theirs\n');
  await assert.rejects(
    out.write(asSinkRecords(articles(2, 301)), signal),
    (error) => isMedStreamError(error) && error.code === 'OUTPUT_WRITE_FAILED',
  );
  await out.close();
  assert.equal(readFileSync(join(dir, 'entities-000001.pubtator'), 'utf8'), 'theirs\n');
});

test('the output directory removed while writing → OUTPUT_WRITE_FAILED, not a silent loss', async () => {
  const dir = freshDir();
  const out = sink('ndjson', { dir, rotateRecords: 100 });
  await out.start();
  await out.write(asSinkRecords(articles(3, 400)), signal);
  rmSync(dir, { recursive: true });
  const failed = (error: unknown) =>
    isMedStreamError(error) && error.code === 'OUTPUT_WRITE_FAILED' && !error.retriable;
  await assert.rejects(out.write(asSinkRecords(articles(2, 403)), signal), failed);
  await assert.rejects(out.write(asSinkRecords(articles(1, 405)), signal), failed);
  await out.close();
  assert.throws(() => readdirSync(dir), /ENOENT/);
});

test('a directory that cannot be created fails start() with OUTPUT_WRITE_FAILED', async () => {
  const blocker = join(work, 'a-file');
  await writeFile(blocker, 'x');
  const out = sink('bioc', { dir: join(blocker, 'sub') });
  await assert.rejects(
    out.start(),
    (error) => isMedStreamError(error) && error.code === 'OUTPUT_WRITE_FAILED',
  );
});

test('single-file target: replaced only when complete; an empty run still writes a valid file', async () => {
  const dir = freshDir();
  const path = join(dir, 'out.bioc.json');
  const target = (format: FileFormatName) =>
    new FileSink({ format: fileFormat(format), target: { kind: 'file', path } });

  const first = target('bioc');
  await first.start();
  await first.write([...asSinkRecords(articles(2, 500)), deletion('77', 3)], signal);
  await first.close();
  assert.deepEqual(
    checkBioC(readFileSync(path, 'utf8')).documents.map((d) => d.id),
    ['500', '501'],
  );
  assert.equal(readFileSync(`${path}.deletions.txt`, 'utf8'), '77\t2\n');

  const failed = target('bioc');
  await failed.start();
  await failed.write(asSinkRecords(articles(1, 600)), signal);
  await failed.abandon();
  assert.deepEqual(
    checkBioC(readFileSync(path, 'utf8')).documents.map((d) => d.id),
    ['500', '501'],
    'a failed run leaves the previous file',
  );

  const empty = target('bioc');
  await empty.start();
  await empty.close();
  assert.deepEqual(checkBioC(readFileSync(path, 'utf8')).documents, []);
  assert.deepEqual(listing(dir), ['out.bioc.json'], 'stale .part and sidecar removed');
});

test('killed mid-stream (SIGKILL): every acknowledged record is in a published file after recovery', async () => {
  const dir = freshDir();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./crash-writer.ts', import.meta.url).pathname, dir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const acknowledged: string[] = [];
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, sig) => resolve(sig)),
  );
  // Every line the child printed was acknowledged, including lines read after the kill.
  for await (const line of createInterface({ input: child.stdout })) {
    acknowledged.push(...line.split(' '));
    if (acknowledged.length >= 60 && !child.killed) child.kill('SIGKILL');
  }
  assert.equal(await exited, 'SIGKILL');
  assert.ok(
    listing(dir).some((n) => n.endsWith('.part')),
    'the kill left a file in progress',
  );

  const log: string[] = [];
  const next = sink('pubtator', { dir, rotateRecords: 25 }, log);
  await next.start();
  await next.close();
  assert.ok(!listing(dir).some((n) => n.endsWith('.part')), log.join('\n'));
  const docs = readPubTatorFiles(dir);
  const found = new Set(docs.map((d) => d.pmid));
  assert.deepEqual(
    acknowledged.filter((pmid) => !found.has(pmid)),
    [],
    'no acknowledged record lost',
  );
  assert.ok(docs.every((d) => d.mentions.every((m) => m.textMatches)));
  // Only the batch in flight at the kill may be there beyond what was acknowledged.
  assert.ok(docs.length - acknowledged.length <= 7, `${docs.length} vs ${acknowledged.length}`);
  assert.equal(new Set(docs.map((d) => d.pmid)).size, docs.length, 'no duplicates');
});
