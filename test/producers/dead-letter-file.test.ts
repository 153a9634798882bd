import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MedStreamError } from '../../src/errors.js';
import type { DeadLetter, DeadLetterInput } from '../../src/codec/records.js';
import { DeadLetterFile, readDeadLetterFile } from '../../src/producers/dead-letter-file.js';

const dir = await mkdtemp(join(tmpdir(), 'medstream-dlq-'));
after(() => rm(dir, { recursive: true, force: true }));

const input: DeadLetterInput = {
  key: Buffer.from('1002'),
  value: Buffer.from([0x3c, 0x61, 0xc3, 0x28, 0x3e]), // not UTF-8: must survive as bytes
  valueTruncated: false,
  valueSize: 5,
  stage: 'producer.pubmed-xml',
  errorCode: 'ENCODING_INVALID',
  message: 'Record <PubmedArticle> is not valid UTF-8.',
  source: 'file.xml',
  position: { byteOffset: 1234, line: 56, column: null },
};

test('appends NDJSON (bytes in base64), counts, and reads back identical records', async () => {
  const path = join(dir, 'dead.ndjson');
  const file = new DeadLetterFile(path, () => 42);
  await file.write(input);
  const complete: DeadLetter = {
    ...input,
    topic: 'pubmed.articles',
    partition: 3,
    offset: 99,
    at: 7,
    key: null,
    errorCode: 'AVRO_DECODE',
  };
  await file.write(complete);
  assert.equal(file.count, 2);
  assert.deepEqual(
    [...file.countsByCode],
    [
      ['ENCODING_INVALID', 1],
      ['AVRO_DECODE', 1],
    ],
  );
  await file.close();
  await file.close(); // idempotent

  const lines = (await readFile(path, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.equal(first.value, 'PGHDKD4=');
  assert.equal(first.key, 'MTAwMg==');
  assert.equal(first.at, 42);
  assert.equal(first.topic, null);

  const back: DeadLetter[] = [];
  for await (const record of readDeadLetterFile(path)) back.push(record);
  assert.deepEqual(back, [
    { ...input, topic: null, partition: null, offset: null, at: 42 },
    complete,
  ]);

  // Reopening appends.
  const again = new DeadLetterFile(path);
  await again.write(input);
  await again.close();
  assert.equal((await readFile(path, 'utf8')).trim().split('\n').length, 3);
  await assert.rejects(
    again.write(input),
    (e: unknown) => e instanceof MedStreamError && e.code === 'INTERNAL',
  );
});

test('an unwritable path fails with OUTPUT_WRITE_FAILED', async () => {
  const file = new DeadLetterFile(join(dir, 'missing-dir', 'dead.ndjson'));
  await assert.rejects(
    async () => {
      await file.write(input);
      await file.close();
    },
    (e: unknown) => e instanceof MedStreamError && e.code === 'OUTPUT_WRITE_FAILED',
  );
});
