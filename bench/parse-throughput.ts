/**
 * Parse throughput of the streaming PubMed XML parser.
 *
 *   node --import tsx bench/parse-throughput.ts [--articles 50000] [--seed 1] [--keep]
 *
 * Writes a synthetic PubmedArticleSet (src/producers/pubmed-xml/synthetic.ts: ~1,500-char
 * abstracts, a third with labelled sections, MeSH lists, references on 40%) to a temp file,
 * plain and gzip, parses each from disk and prints one JSON line per variant. The parser is
 * single-threaded (gzip inflates on libuv's pool), so articles_per_s_per_core is measured
 * against the process's CPU time (user + system): on a quiet machine it equals
 * articles_per_s, on a shared one it is the honest per-core figure while wall-clock rates drop.
 * Target: ≥ 5,000 articles/s per core.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { parsePubmedXml } from '../src/producers/pubmed-xml/parse-pubmed-xml.js';
import { syntheticPubmedXmlBytes } from '../src/producers/pubmed-xml/synthetic.js';

interface Result {
  input: 'xml' | 'xml.gz';
  articles: number;
  dead_letters: number;
  seconds: number;
  cpu_seconds: number;
  articles_per_s: number;
  articles_per_s_per_core: number;
  /** Decompressed XML megabytes (10^6 bytes) per second. */
  mb_per_s: number;
  file_mb: number;
  rss_mb: number;
  heap_used_mb: number;
}

const { values } = parseArgs({
  options: {
    articles: { type: 'string', default: '50000' },
    seed: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
  },
});
const articles = Number(values.articles);
const seed = Number(values.seed);

async function parseFile(path: string, input: Result['input'], xmlBytes: number): Promise<Result> {
  let count = 0;
  let deadLetters = 0;
  let rss = process.memoryUsage().rss;
  let heap = process.memoryUsage().heapUsed;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  for await (const event of parsePubmedXml(createReadStream(path), { source: path })) {
    if (event.kind === 'article') {
      if (++count % 5000 === 0) {
        const memory = process.memoryUsage();
        rss = Math.max(rss, memory.rss);
        heap = Math.max(heap, memory.heapUsed);
      }
    } else if (event.kind === 'dead-letter') {
      deadLetters++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const memory = process.memoryUsage();
  const round = (x: number, digits = 1): number => Number(x.toFixed(digits));
  return {
    input,
    articles: count,
    dead_letters: deadLetters,
    seconds: round(seconds, 3),
    cpu_seconds: round(cpuSeconds, 3),
    articles_per_s: Math.round(count / seconds),
    articles_per_s_per_core: Math.round(count / cpuSeconds),
    mb_per_s: round(xmlBytes / 1e6 / seconds),
    file_mb: round((await stat(path)).size / 1e6),
    rss_mb: round(Math.max(rss, memory.rss) / 2 ** 20),
    heap_used_mb: round(Math.max(heap, memory.heapUsed) / 2 ** 20),
  };
}

async function main(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'medstream-bench-'));
  try {
    const plain = join(dir, 'pubmed-synthetic.xml');
    const gz = `${plain}.gz`;
    await pipeline(
      Readable.from(syntheticPubmedXmlBytes({ articles, seed })),
      createWriteStream(plain),
    );
    await pipeline(
      Readable.from(syntheticPubmedXmlBytes({ articles, seed })),
      createGzip(),
      createWriteStream(gz),
    );
    const xmlBytes = (await stat(plain)).size;
    let ok = true;
    for (const [path, input] of [
      [plain, 'xml'],
      [gz, 'xml.gz'],
    ] as const) {
      const result = await parseFile(path, input, xmlBytes);
      process.stdout.write(`${JSON.stringify(result)}\n`);
      ok &&= result.articles === articles && result.dead_letters === 0;
    }
    if (values.keep) process.stderr.write(`kept ${dir}\n`);
    return ok ? 0 : 1;
  } finally {
    if (!values.keep) await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
