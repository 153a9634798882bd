import { fileFormat } from '../../../src/sinks/files/file-format.js';
import { FileSink } from '../../../src/sinks/files/file-sink.js';
import { asSinkRecords, generateArticles, generatedConcepts } from '../generated-articles.js';

/**
 * Child process of the crash test: writes PubTator batches of 7 into the directory given as
 * argument (a file every 25 records) for ever, printing each batch's PMIDs on a line once
 * `write()` has resolved — what the sink acknowledged. The test kills it with SIGKILL.
 */
const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: crash-writer.ts DIR');
const sink = new FileSink({
  format: fileFormat('pubtator'),
  target: { kind: 'directory', dir, rotateRecords: 25 },
});
await sink.start();
const concepts = generatedConcepts('crash', 20);
const signal = new AbortController().signal;
for (let batch = 0; ; batch += 1) {
  const articles = generateArticles({
    firstPmid: 1 + batch * 7,
    count: 7,
    concepts,
    seed: batch + 1,
  });
  await sink.write(asSinkRecords(articles, batch * 7 + 1), signal);
  process.stdout.write(`${articles.map((a) => a.pmid).join(' ')}\n`);
}
