import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnnotatedEvent } from '../../../src/processors/in-process.js';
import { throughSinks } from '../../../src/sinks/in-process-sink-driver.js';
import type { InProcessSinkStats } from '../../../src/sinks/in-process-sink-driver.js';
import type { Sink, SinkRecord, SinkWriteResult } from '../../../src/sinks/sink.js';
import { generateArticles, generatedConcepts } from '../generated-articles.js';

class MemorySink implements Sink {
  readonly batches: SinkRecord[][] = [];
  constructor(
    readonly name: string,
    private readonly seen: string[],
  ) {}
  start(): Promise<void> {
    return Promise.resolve();
  }
  write(records: readonly SinkRecord[]): Promise<SinkWriteResult> {
    this.batches.push([...records]);
    this.seen.push(`${this.name}:${records.length}`);
    const deleted = records.filter((r) => r.article === null).length;
    const rejected = records
      .filter((r) => this.name === 'b' && r.pmid.endsWith('3'))
      .map((record) => ({ record, errorCode: 'SINK_REJECTED', message: 'no 3s' }));
    return Promise.resolve({
      written: records.length - deleted - rejected.length,
      deleted,
      rejected,
    });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

test('events pass through only after every sink stored their batch; versions increase', async () => {
  const articles = generateArticles({
    firstPmid: 100,
    count: 25,
    concepts: generatedConcepts('ip'),
    seed: 1,
  });
  async function* events(): AsyncGenerator<AnnotatedEvent> {
    for (const record of articles) yield { kind: 'annotated', record };
    yield { kind: 'delete', pmid: '100' };
    yield {
      kind: 'dead-letter',
      record: {
        key: null,
        value: Buffer.alloc(0),
        valueTruncated: false,
        valueSize: 0,
        stage: 'parse',
        errorCode: 'XML_MALFORMED',
        message: 'x',
        source: null,
        position: null,
      },
    };
    await Promise.resolve();
  }
  const log: string[] = [];
  const a = new MemorySink('a', log);
  const b = new MemorySink('b', log);
  const stats: InProcessSinkStats = { written: {}, deleted: {}, rejected: {} };
  const rejectedPmids: string[] = [];
  const out: AnnotatedEvent[] = [];
  for await (const event of throughSinks(
    events(),
    [a, b],
    {
      maxRecords: 10,
      versionBase: 1000,
      onRejected: (sink, r) => rejectedPmids.push(`${sink}:${r.record.pmid}`),
    },
    stats,
  )) {
    // Everything yielded so far was written by both sinks.
    const stored = a.batches.flat().length;
    const seenSoFar = out.filter((e) => e.kind !== 'dead-letter').length + 1;
    if (event.kind !== 'dead-letter') assert.ok(stored >= seenSoFar);
    out.push(event);
  }
  assert.equal(out.length, 27, 'every event, dead letters included, passes through in order');
  assert.deepEqual(log, ['a:10', 'b:10', 'a:10', 'b:10', 'a:6', 'b:6']);
  const versions = a.batches.flat().map((r) => r.version);
  assert.deepEqual(
    versions,
    Array.from({ length: 26 }, (_, i) => 1001 + i),
  );
  assert.equal(a.batches.flat().at(-1)?.article, null);
  assert.deepEqual(stats.written, { a: 25, b: 22 });
  assert.deepEqual(stats.deleted, { a: 1, b: 1 });
  assert.deepEqual(stats.rejected, { a: 0, b: 3 });
  assert.deepEqual(rejectedPmids, ['b:103', 'b:113', 'b:123']);
});
