import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import avro from 'avsc';
import type { Schema } from 'avsc';
import type { AnnotatedArticle, Article, DeadLetter } from '../../src/codec/records.js';
import {
  SCHEMA_NAMES,
  readSchema,
  readSchemaHistory,
  schemaType,
} from '../../src/codec/schemas.js';

/**
 * Schema evolution is backward compatible only: the current schema must read data written
 * with every released version (schemas/history/<name>/vN.avsc), and the latest released
 * version must be the current schema — changing a schema means adding vN+1.
 */

interface FieldSchema {
  name: string;
  type: unknown;
  default?: unknown;
}

function fieldsOf(schema: Schema): FieldSchema[] {
  return (schema as unknown as { fields: FieldSchema[] }).fields;
}

for (const name of SCHEMA_NAMES) {
  describe(`${name}.avsc`, () => {
    const current = schemaType(name);
    const history = readSchemaHistory(name);

    test('has a history, and its latest version is the current schema', () => {
      assert.ok(history.length >= 1);
      assert.deepEqual(history.at(-1)?.schema, readSchema(name));
      assert.deepEqual(
        history.map((v) => v.version),
        history.map((_, i) => i + 1),
        'versions are v1, v2, … without gaps',
      );
    });

    for (const version of history) {
      test(`reads data written with v${version.version}`, () => {
        const writer = avro.Type.forSchema(version.schema);
        const resolver = current.createResolver(writer);
        for (let i = 0; i < 50; i++) {
          const value: unknown = writer.random();
          const decoded: unknown = current.fromBuffer(writer.toBuffer(value), resolver);
          assert.ok(current.isValid(decoded));
        }
      });
    }

    test('nullable fields default to null (so they can be added and removed compatibly)', () => {
      for (const field of fieldsOf(readSchema(name))) {
        const type = field.type;
        if (Array.isArray(type) && type[0] === 'null')
          assert.equal(field.default, null, field.name);
      }
    });
  });
}

test('the check catches an incompatible change (a new field without default)', () => {
  const schema = readSchema('article');
  const broken = {
    ...(schema as object),
    fields: [...fieldsOf(schema), { name: 'language', type: 'string' }],
  };
  const reader = avro.Type.forSchema(broken as Schema);
  assert.throws(() => reader.createResolver(avro.Type.forSchema(schema)));
});

/**
 * The TypeScript interfaces in src/codec/records.ts mirror the schemas: a complete value of
 * each interface (the compiler rejects missing or extra properties in these literals) has
 * exactly the schema's field names, record by record, and encodes.
 */
test('records.ts interfaces have exactly the schemas’ fields', () => {
  const article: Article = {
    pmid: '1',
    version: 1,
    title: 't',
    abstract: 'a',
    sections: [{ label: null, category: null, text: 'a' }],
    journal: { title: null, isoAbbreviation: null, issn: null },
    publicationDate: null,
    meshHeadings: [
      {
        descriptorUi: null,
        descriptorName: 'd',
        majorTopic: false,
        qualifiers: [{ ui: null, name: 'q', majorTopic: true }],
      },
    ],
    dateRevised: null,
    source: 's',
    ingestedAt: 0,
  };
  const deadLetter: DeadLetter = {
    topic: null,
    partition: null,
    offset: null,
    key: null,
    value: Buffer.alloc(0),
    valueTruncated: false,
    valueSize: 0,
    stage: 's',
    errorCode: 'INTERNAL',
    message: 'm',
    at: 0,
    source: null,
    position: { byteOffset: 0, line: null, column: null },
  };

  /** Schema field names of every record type, by record name. */
  function recordFields(schema: unknown, out = new Map<string, string[]>()): Map<string, string[]> {
    if (Array.isArray(schema)) schema.forEach((s) => recordFields(s, out));
    else if (schema !== null && typeof schema === 'object') {
      const s = schema as {
        type?: unknown;
        name?: string;
        fields?: FieldSchema[];
        items?: unknown;
      };
      if (s.type === 'record' && s.fields !== undefined) {
        out.set(s.name as string, s.fields.map((f) => f.name).sort());
        s.fields.forEach((f) => recordFields(f.type, out));
      } else if (s.type !== undefined) {
        recordFields(s.type, out);
        recordFields(s.items, out);
      }
    }
    return out;
  }
  const keys = (value: object): string[] => Object.keys(value).sort();

  const a = recordFields(readSchema('article'));
  assert.deepEqual(a.get('Article'), keys(article));
  assert.deepEqual(a.get('AbstractSection'), keys(article.sections[0] as object));
  assert.deepEqual(a.get('Journal'), keys(article.journal as object));
  assert.deepEqual(a.get('MeshHeading'), keys(article.meshHeadings[0] as object));
  assert.deepEqual(a.get('MeshQualifier'), keys(article.meshHeadings[0]?.qualifiers[0] as object));
  assert.ok(schemaType('article').isValid(article));

  const d = recordFields(readSchema('dead-letter'));
  assert.deepEqual(d.get('DeadLetter'), keys(deadLetter));
  assert.deepEqual(d.get('SourcePosition'), keys(deadLetter.position as object));
  assert.ok(schemaType('dead-letter').isValid(deadLetter));

  const annotated: AnnotatedArticle = {
    pmid: '1',
    version: 1,
    title: 't',
    abstract: 'a',
    journal: null,
    publicationDate: null,
    meshHeadings: [{ ui: null, name: 'd', majorTopic: false }],
    textSha256: '00',
    modelName: 'm',
    modelVersion: '1',
    vocabularyVersion: 'v',
    mentions: [
      {
        start: 0,
        end: 1,
        text: 't',
        type: 'Disease',
        ids: ['MESH:D1'],
        score: 0.5,
        source: 'model',
      },
    ],
    processedAt: 0,
  };
  const n = recordFields(readSchema('annotated-article'));
  assert.deepEqual(n.get('AnnotatedArticle'), keys(annotated));
  assert.deepEqual(n.get('MeshTerm'), keys(annotated.meshHeadings[0] as object));
  assert.deepEqual(n.get('Mention'), keys(annotated.mentions[0] as object));
  assert.ok(schemaType('annotated-article').isValid(annotated));
});
