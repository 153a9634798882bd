import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Schema } from 'avsc';
import { AvroCodec, schemaFingerprint } from '../../src/codec/avro-codec.js';
import { createArticleCodec, createDeadLetterCodec, readSchema } from '../../src/codec/schemas.js';
import type { Article, DeadLetter } from '../../src/codec/records.js';
import { MedStreamError } from '../../src/errors.js';

const ARTICLE: Article = {
  pmid: '17942999',
  version: 1,
  title: 'Neuroplasticity in the processing of pitch dimensions.',
  abstract: 'First part. Second part with µ and 東京.',
  sections: [
    { label: 'PURPOSE', category: 'OBJECTIVE', text: 'First part.' },
    { label: null, category: null, text: 'Second part with µ and 東京.' },
  ],
  journal: {
    title: 'Restorative neurology and neuroscience',
    isoAbbreviation: null,
    issn: '0922-6028',
  },
  publicationDate: '2007',
  meshHeadings: [
    {
      descriptorUi: 'D009473',
      descriptorName: 'Neuronal Plasticity',
      majorTopic: false,
      qualifiers: [{ ui: 'Q000502', name: 'physiology', majorTopic: true }],
    },
  ],
  dateRevised: '2015-12-26',
  source: 'medline16n0902.xml.gz',
  ingestedAt: 1_700_000_000_123,
};

/** avsc decodes records as instances of generated classes; compare their data only. */
function plain<T>(value: T): T {
  return structuredClone(value);
}

function plainDeadLetter(value: DeadLetter): DeadLetter {
  const copy = structuredClone(value);
  return {
    ...copy,
    key: copy.key === null ? null : Buffer.from(copy.key),
    value: Buffer.from(copy.value),
  };
}

type RecordSchema = { fields: Array<{ name: string } & Record<string, unknown>> } & Record<
  string,
  unknown
>;

function articleSchema(): RecordSchema {
  return readSchema('article') as unknown as RecordSchema;
}

function isDecodeError(error: unknown): boolean {
  return error instanceof MedStreamError && error.code === 'AVRO_DECODE' && !error.retriable;
}

describe('single-object encoding (default)', () => {
  const codec = createArticleCodec();

  test('round trip', () => {
    assert.deepEqual(plain(codec.decode(codec.encode(ARTICLE))), ARTICLE);
    assert.deepEqual(
      plain(codec.decode(codec.encode({ ...ARTICLE, journal: null, sections: [] }))),
      {
        ...ARTICLE,
        journal: null,
        sections: [],
      },
    );
  });

  test('frame: C3 01, the 8-byte little-endian CRC-64-AVRO fingerprint, then the body', () => {
    const bytes = codec.encode(ARTICLE);
    assert.equal(codec.framing, 'single-object');
    assert.deepEqual([...bytes.subarray(0, 2)], [0xc3, 0x01]);
    assert.equal(bytes.readBigUInt64LE(2), codec.fingerprint);
    assert.equal(codec.fingerprint, schemaFingerprint(codec.type));
    assert.deepEqual(bytes.subarray(10), codec.type.toBuffer(ARTICLE));
  });

  test('wrong fingerprint, unknown magic, short or damaged bodies → AVRO_DECODE', () => {
    const bytes = codec.encode(ARTICLE);
    const wrong = Buffer.from(bytes);
    wrong[5] = wrong[5] ^ 0xff;
    assert.throws(
      () => codec.decode(wrong),
      (e: unknown) =>
        isDecodeError(e) && /unknown writer schema fingerprint/.test((e as Error).message),
    );
    assert.throws(
      () => codec.decode(Buffer.from('{"pmid":"1"}')),
      (e: unknown) => isDecodeError(e) && /unknown framing/.test((e as Error).message),
    );
    assert.throws(() => codec.decode(bytes.subarray(0, 6)), isDecodeError);
    assert.throws(() => codec.decode(bytes.subarray(0, bytes.length - 3)), isDecodeError);
    assert.throws(() => codec.decode(Buffer.concat([bytes, Buffer.from([0])])), isDecodeError);
    assert.throws(() => codec.decode(new Uint8Array(0)), isDecodeError);
  });

  test('an invalid value is refused at encoding with RECORD_INVALID naming the field', () => {
    assert.throws(
      () => codec.encode({ ...ARTICLE, version: 'one' } as unknown as Article),
      (e: unknown) =>
        e instanceof MedStreamError && e.code === 'RECORD_INVALID' && e.message.includes('version'),
    );
  });
});

describe('Confluent Schema Registry framing', () => {
  test('magic 0, 4-byte big-endian schema id, body; decodes either framing', () => {
    const registry = createArticleCodec({ schemaId: 258 });
    const bytes = registry.encode(ARTICLE);
    assert.equal(registry.framing, 'confluent');
    assert.deepEqual([...bytes.subarray(0, 5)], [0x00, 0x00, 0x00, 0x01, 0x02]);
    assert.deepEqual(plain(registry.decode(bytes)), ARTICLE);
    assert.deepEqual(plain(registry.decode(createArticleCodec().encode(ARTICLE))), ARTICLE);
  });

  test('an unknown schema id: AVRO_DECODE when decoding synchronously…', () => {
    const singleObject = createArticleCodec();
    const bytes = createArticleCodec({ schemaId: 7 }).encode(ARTICLE);
    assert.throws(
      () => singleObject.decode(bytes),
      (e: unknown) => isDecodeError(e) && /unknown schema id 7/.test((e as Error).message),
    );
  });

  test('…and a registry lookup (once, then cached) with decodeAsync', async () => {
    // A writer one version ahead (an added field with a default) registered as id 9.
    const newer = articleSchema();
    const writerSchema = {
      ...newer,
      fields: [...newer.fields, { name: 'language', type: ['null', 'string'], default: null }],
    };
    const writer = new AvroCodec<Article & { language: string | null }>(
      writerSchema as unknown as Schema,
      {
        schemaId: 9,
      },
    );
    const bytes = writer.encode({ ...ARTICLE, language: 'eng' });
    let lookups = 0;
    const reader = createArticleCodec({
      registry: {
        schemaById: (id) => {
          lookups++;
          assert.equal(id, 9);
          return Promise.resolve(JSON.stringify(writerSchema));
        },
      },
    });
    assert.deepEqual(plain(await reader.decodeAsync(bytes)), ARTICLE);
    assert.deepEqual(plain(await reader.decodeAsync(bytes)), ARTICLE);
    assert.deepEqual(plain(reader.decode(bytes)), ARTICLE);
    assert.equal(lookups, 1);
  });

  test('a failing registry lookup → AVRO_DECODE with the cause', async () => {
    const reader = createArticleCodec({
      registry: { schemaById: () => Promise.reject(new Error('503')) },
    });
    const bytes = createArticleCodec({ schemaId: 3 }).encode(ARTICLE);
    await assert.rejects(
      reader.decodeAsync(bytes),
      (e: unknown) => isDecodeError(e) && (e as Error).cause instanceof Error,
    );
  });
});

describe('schema resolution on the wire', () => {
  test('data written with an older schema (a field missing) decodes with the default', () => {
    const current = articleSchema();
    const older = { ...current, fields: current.fields.filter((f) => f.name !== 'dateRevised') };
    const oldCodec = new AvroCodec<Partial<Article>>(older as unknown as Schema);
    const oldArticle: Partial<Article> = { ...ARTICLE };
    delete oldArticle.dateRevised;
    const bytes = oldCodec.encode(oldArticle);
    assert.throws(
      () => createArticleCodec().decode(bytes),
      isDecodeError,
      'unknown until registered',
    );
    const codec = createArticleCodec({ writerSchemas: [{ schema: older as unknown as Schema }] });
    assert.deepEqual(plain(codec.decode(bytes)), { ...ARTICLE, dateRevised: null });
  });

  test('a writer schema the reader cannot resolve is refused when registered', () => {
    const incompatible = {
      type: 'record',
      name: 'Article',
      namespace: 'org.medstream',
      fields: [{ name: 'x', type: 'int' }],
    };
    assert.throws(
      () => createArticleCodec({ writerSchemas: [{ schema: incompatible as Schema }] }),
      isDecodeError,
    );
  });
});

test('DeadLetter round trip keeps raw bytes exactly', () => {
  const codec = createDeadLetterCodec();
  const record: DeadLetter = {
    topic: null,
    partition: null,
    offset: null,
    key: Buffer.from('1002'),
    value: Buffer.from([0x3c, 0xc3, 0x28, 0x00, 0xff]),
    valueTruncated: true,
    valueSize: 10_485_760,
    stage: 'producer.pubmed-xml',
    errorCode: 'XML_TOO_LARGE',
    message: 'too large',
    at: 1_700_000_000_000,
    source: 'file.xml.gz',
    position: { byteOffset: 5_000_000_000, line: 123_456, column: null },
  };
  assert.deepEqual(plainDeadLetter(codec.decode(codec.encode(record))), record);
  assert.deepEqual(
    plainDeadLetter(
      codec.decode(
        codec.encode({
          ...record,
          topic: 'pubmed.articles',
          partition: 2,
          offset: 17,
          key: null,
          position: null,
        }),
      ),
    ),
    {
      ...record,
      topic: 'pubmed.articles',
      partition: 2,
      offset: 17,
      key: null,
      position: null,
    },
  );
});
