import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Article } from '../../src/codec/records.js';
import { codecForTopic, SchemaRegistryClient } from '../../src/codec/schema-registry.js';
import { createArticleCodec } from '../../src/codec/schemas.js';
import { MedStreamError } from '../../src/errors.js';

/**
 * The client against a server that answers the registry REST API the way Confluent's does
 * (ids shared by identical schemas, 404 with error_code for unknown ids): a protocol test of
 * the client, not a stand-in for a registry in an integration test.
 */
const schemas: string[] = [];
const subjects = new Map<string, number[]>();
let baseUrl = '';
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    const reply = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      res.end(JSON.stringify(value));
    };
    const register = /^\/subjects\/([^/]+)\/versions$/.exec(req.url ?? '');
    const byId = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '');
    if (req.method === 'POST' && register !== null) {
      const { schema } = JSON.parse(body) as { schema: string };
      let id = schemas.indexOf(schema) + 1;
      if (id === 0) id = schemas.push(schema);
      const subject = decodeURIComponent(register[1]);
      subjects.set(subject, [...(subjects.get(subject) ?? []), id]);
      reply(200, { id });
    } else if (req.method === 'GET' && byId !== null) {
      const schema = schemas[Number(byId[1]) - 1];
      if (schema === undefined) reply(404, { error_code: 40403, message: 'Schema not found' });
      else reply(200, { schema });
    } else reply(500, { error_code: 50001, message: 'unexpected' });
  });
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const article: Article = {
  pmid: '42',
  version: 1,
  title: 'A title',
  abstract: 'An abstract.',
  sections: [],
  journal: null,
  publicationDate: '2024',
  meshHeadings: [],
  dateRevised: null,
  source: 'test',
  ingestedAt: 1,
};

test('with a registry: the schema is registered under <topic>-value and records use Confluent framing', async () => {
  const codec = await codecForTopic<Article>('article', 'pubmed.articles', baseUrl);
  assert.deepEqual(subjects.get('pubmed.articles-value'), [1]);
  const bytes = codec.encode(article);
  assert.equal(bytes[0], 0);
  assert.equal(bytes.readUInt32BE(1), 1);
  assert.equal(structuredClone(codec.decode(bytes)).pmid, '42');
  // A reader that only knows the registry resolves the id on first sight.
  const reader = createArticleCodec({ registry: new SchemaRegistryClient(baseUrl) });
  assert.equal((await reader.decodeAsync(bytes)).title, 'A title');
});

test('without a registry: single-object encoding', async () => {
  const codec = await codecForTopic<Article>('article', 'pubmed.articles', undefined);
  const bytes = codec.encode(article);
  assert.deepEqual([...bytes.subarray(0, 2)], [0xc3, 0x01]);
});

test('registry errors are classified: 404 is final, an unreachable registry is retriable', async () => {
  const client = new SchemaRegistryClient(baseUrl);
  await assert.rejects(
    client.schemaById(999),
    (e: unknown) => e instanceof MedStreamError && e.code === 'HTTP_STATUS' && !e.retriable,
  );
  const gone = new SchemaRegistryClient('http://127.0.0.1:9/');
  await assert.rejects(
    gone.schemaById(1),
    (e: unknown) => e instanceof MedStreamError && e.code === 'NETWORK' && e.retriable,
  );
});
