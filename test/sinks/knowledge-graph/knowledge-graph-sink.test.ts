import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/config.js';
import { isMedStreamError } from '../../../src/errors.js';
import {
  createKnowledgeGraphSink,
  knowledgeGraphSinkOptionsFromConfig,
} from '../../../src/sinks/knowledge-graph/knowledge-graph-sink.js';
import type { KnowledgeGraphSinkOptions } from '../../../src/sinks/knowledge-graph/knowledge-graph-sink.js';

function code(expected: string, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(isMedStreamError(error), String(error));
    assert.equal(error.code, expected);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  };
}

const base: KnowledgeGraphSinkOptions = {
  uri: 'bolt://127.0.0.1:7687',
  user: 'neo4j',
  password: undefined,
  database: 'neo4j',
  batchRecords: 100,
  conceptLookup: () => undefined,
};

test('options come from the configuration; NEO4J_URI is required and must be a Bolt URI', () => {
  const options = knowledgeGraphSinkOptionsFromConfig(
    loadConfig({
      NEO4J_URI: ' neo4j+s://graph.example.org:7687 ',
      NEO4J_USER: 'loader',
      NEO4J_PASSWORD: 'secret',
      NEO4J_DATABASE: 'pubmed',
      MEDSTREAM_SINK_BATCH_RECORDS: '250',
    }),
  );
  assert.deepEqual(options, {
    uri: 'neo4j+s://graph.example.org:7687',
    user: 'loader',
    password: 'secret',
    database: 'pubmed',
    batchRecords: 250,
  });
  const defaults = knowledgeGraphSinkOptionsFromConfig(
    loadConfig({ NEO4J_URI: 'bolt://127.0.0.1:7687' }),
  );
  assert.equal(defaults.password, undefined);
  assert.equal(defaults.database, 'neo4j');
  assert.equal(defaults.batchRecords, 500);

  assert.throws(
    () => knowledgeGraphSinkOptionsFromConfig(loadConfig({})),
    code('CONFIG_INVALID', /NEO4J_URI is not set/),
  );
  assert.throws(
    () => knowledgeGraphSinkOptionsFromConfig(loadConfig({ NEO4J_URI: 'http://127.0.0.1:7474' })),
    code('CONFIG_INVALID', /not a Neo4j Bolt URI/),
  );
});

test('invalid sink options are refused when the sink is created', () => {
  assert.throws(
    () => createKnowledgeGraphSink({ ...base, batchRecords: 0 }),
    code('CONFIG_INVALID', /batchRecords/),
  );
  assert.throws(
    () => createKnowledgeGraphSink({ ...base, maxPairedConcepts: -1 }),
    code('CONFIG_INVALID', /maxPairedConcepts/),
  );
  assert.throws(
    () => createKnowledgeGraphSink({ ...base, uri: '127.0.0.1:7687' }),
    code('CONFIG_INVALID'),
  );
});

test('write before start is a programming error; close is idempotent without a start', async () => {
  const sink = createKnowledgeGraphSink(base);
  await assert.rejects(
    sink.write([], new AbortController().signal),
    code('INTERNAL', /before start/),
  );
  await sink.close();
  await sink.close();
  await assert.rejects(sink.start(), code('INTERNAL', /after close/));
});

test('start gives up after its timeout with the address and a hint, logging each retry', async () => {
  // A port that accepts and immediately drops connections: a server that is not (yet) Neo4j.
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const lines: string[] = [];
  const sink = createKnowledgeGraphSink({
    ...base,
    uri: `bolt://127.0.0.1:${port}`,
    startTimeoutMs: 1_500,
    retry: { baseDelayMs: 50, maxDelayMs: 200 },
    log: (line) => lines.push(line),
  });
  try {
    await assert.rejects(
      sink.start(),
      code('SERVICE_UNAVAILABLE', new RegExp(`127\\.0\\.0\\.1:${port}.*Check NEO4J_URI`)),
    );
    assert.ok(lines.length >= 2, lines.join('\n'));
    assert.ok(lines.every((line) => /^neo4j: not ready .*; retry \d+ in \d+ ms$/.test(line)));
    // A failed start can be tried again: a fresh attempt, not the first one's cached failure.
    const before = lines.length;
    await assert.rejects(sink.start(), code('SERVICE_UNAVAILABLE'));
    assert.ok(lines.length > before);
  } finally {
    await sink.close();
    server.close();
  }
});
