import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import { isMedStreamError } from '../../../src/errors.js';
import { fileFormat } from '../../../src/sinks/files/file-format.js';
import { formatNdjsonArticle } from '../../../src/sinks/files/ndjson-format.js';
import { StreamSink } from '../../../src/sinks/files/stream-sink.js';
import { parsePubTator } from '../../../src/text/pubtator-reader.js';
import {
  asSinkRecords,
  deletion,
  generateArticles,
  generatedConcepts,
} from '../generated-articles.js';
import { annotatedArticle, checkBioC } from './bioc-check.js';

const signal = new AbortController().signal;
const articles = generateArticles({
  firstPmid: 800,
  count: 5,
  concepts: generatedConcepts('ss', 10),
  seed: 9,
});

function collected(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

test('BioC on a stream: batches become one valid collection; no records give an empty one', async () => {
  const out = collected();
  const sink = new StreamSink(fileFormat('bioc'), out.stream);
  await sink.start();
  await sink.write(asSinkRecords(articles.slice(0, 2)), signal);
  await sink.write(asSinkRecords(articles.slice(2), 3), signal);
  await sink.close();
  await sink.close();
  assert.deepEqual(
    checkBioC(out.text()).documents.map((d) => d.id),
    articles.map((a) => a.pmid),
  );

  const empty = collected();
  const none = new StreamSink(fileFormat('bioc'), empty.stream);
  await none.start();
  await none.close();
  assert.deepEqual(checkBioC(empty.text()).documents, []);
});

test('a deletion cannot be PubTator on a stream: rejected with RECORD_INVALID, NDJSON writes it', async () => {
  const pubtatorOut = collected();
  const pubtator = new StreamSink(fileFormat('pubtator'), pubtatorOut.stream);
  await pubtator.start();
  const result = await pubtator.write(
    [...asSinkRecords(articles.slice(0, 2)), deletion('801', 3)],
    signal,
  );
  await pubtator.close();
  assert.equal(result.written, 2);
  assert.equal(result.deleted, 0);
  assert.deepEqual(
    result.rejected.map((r) => [r.record.pmid, r.errorCode]),
    [['801', 'RECORD_INVALID']],
  );
  assert.match(result.rejected[0]?.message ?? '', /write to a file/);
  assert.equal(parsePubTator(pubtatorOut.text()).length, 2);

  const ndjsonOut = collected();
  const ndjson = new StreamSink(fileFormat('ndjson'), ndjsonOut.stream);
  await ndjson.start();
  const ndjsonResult = await ndjson.write([deletion('801', 1)], signal);
  await ndjson.close();
  assert.deepEqual(ndjsonResult, { written: 0, deleted: 1, rejected: [] });
  assert.equal(ndjsonOut.text(), '{"pmid":"801","deleted":true}\n');
});

test('NDJSON lines stay single lines: U+2028/U+2029/U+0085 in text are escaped', () => {
  const odd = annotatedArticle(
    '5',
    'Line\u2028separator',
    'para\u2029graph and next\u0085line',
    [],
  );
  const line = formatNdjsonArticle(odd);
  assert.equal(line.split(/[\n\r\u2028\u2029\u0085]/).length, 2);
  assert.deepEqual(JSON.parse(line), odd);
});

test('a failing stream (a closed pipe) → OUTPUT_WRITE_FAILED for this and later writes', async () => {
  const broken = new Writable({
    highWaterMark: 1,
    write(_chunk, _encoding, callback) {
      callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  const sink = new StreamSink(fileFormat('ndjson'), broken);
  await sink.start();
  const failed = (error: unknown) =>
    isMedStreamError(error) && error.code === 'OUTPUT_WRITE_FAILED';
  await assert.rejects(sink.write(asSinkRecords(articles.slice(0, 1)), signal), failed);
  await assert.rejects(sink.write(asSinkRecords(articles.slice(1, 2)), signal), failed);
  await sink.close();
});
