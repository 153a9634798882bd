import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import { parsingCanonicalForm, schemaFingerprint } from '../../src/codec/avro-codec.js';
import { crc64Avro } from '../../src/codec/crc64-avro.js';

/**
 * Known values from the Avro specification's test suite (share/test/data/schema-tests.txt in
 * apache/avro): input schema, its Parsing Canonical Form, and the signed 64-bit CRC-64-AVRO
 * fingerprint of that form. (Case 026's default "true" is written `true`: avsc validates
 * defaults, and defaults are not part of the canonical form.)
 */
const CASES: ReadonlyArray<readonly [string, string, bigint]> = [
  ['"null"', '"null"', 7195948357588979594n],
  ['{"type":"boolean"}', '"boolean"', -6970731678124411036n],
  ['"int"', '"int"', 8247732601305521295n],
  ['"long"', '"long"', -3434872931120570953n],
  ['"double"', '"double"', -8181574048448539266n],
  ['"bytes"', '"bytes"', 5746618253357095269n],
  ['{"type":"string"}', '"string"', -8142146995180207161n],
  ['[ "int" , {"type":"boolean"} ]', '["int","boolean"]', 5392556393470105090n],
  [
    '{"fields":[], "type":"record", "name":"foo"}',
    '{"name":"foo","type":"record","fields":[]}',
    -4824392279771201922n,
  ],
  [
    '{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}',
    '{"name":"x.y.foo","type":"record","fields":[]}',
    5916914534497305771n,
  ],
  [
    '{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}',
    '{"name":"a.b.foo","type":"record","fields":[]}',
    -4616218487480524110n,
  ],
  [
    '{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":true}, {"order":"descending","name":"f2","doc":"Hello","type":"int"}], "type":"record", "name":"foo" }',
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}',
    -4860222112080293046n,
  ],
  [
    '{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}',
    '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}',
    -4448647247586288245n,
  ],
  [
    '{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}',
    '{"name":"x.y.z.foo","type":"fixed","size":32}',
    -3064184465700546786n,
  ],
  [
    '{ "items":{"type":"null"}, "type":"array"}',
    '{"type":"array","items":"null"}',
    -589620603366471059n,
  ],
  ['{ "values":"string", "type":"map"}', '{"type":"map","values":"string"}', -8732877298790414990n],
  [
    '{"name":"PigValue","type":"record", "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
    '{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}',
    -1759257747318642341n,
  ],
];

test('CRC-64-AVRO of the canonical forms matches the specification', () => {
  for (const [, canonical, fingerprint] of CASES) {
    assert.equal(BigInt.asIntN(64, crc64Avro(canonical)), fingerprint, canonical);
  }
});

test('avsc schema() is the Parsing Canonical Form; schemaFingerprint agrees', () => {
  for (const [input, canonical, fingerprint] of CASES) {
    const type = avro.Type.forSchema(JSON.parse(input) as avro.Schema);
    assert.equal(parsingCanonicalForm(type), canonical, input);
    assert.equal(BigInt.asIntN(64, schemaFingerprint(type)), fingerprint, input);
  }
});

test('bytes and strings give the same fingerprint; the empty input gives the seed', () => {
  assert.equal(crc64Avro(Buffer.from('"int"')), crc64Avro('"int"'));
  assert.equal(crc64Avro(''), 0xc15d213aa4d7a795n);
});
