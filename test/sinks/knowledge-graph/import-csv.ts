import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GraphSnapshot } from './expected-graph.js';

/**
 * Reads the bulk export's CSV files back the way `neo4j-admin database import` interprets them
 * (RFC 4180 quoting with `""`, an unquoted empty field is no value, `type[]` columns split on
 * `;`), into the same shape tests compare the live graph with. Written from the import
 * tool's documented format, not from the exporter's code.
 */

/** Rows of fields; null for an unquoted empty field (the importer sets no property). */
export function parseCsv(text: string): Array<Array<string | null>> {
  const rows: Array<Array<string | null>> = [];
  const n = text.length;
  let row: Array<string | null> = [];
  let i = 0;
  while (i < n) {
    let value: string | null;
    if (text[i] === '"') {
      let out = '';
      i += 1;
      for (;;) {
        if (i >= n) throw new Error('unterminated quoted field');
        if (text[i] === '"' && text[i + 1] === '"') {
          out += '"';
          i += 2;
        } else if (text[i] === '"') {
          i += 1;
          break;
        } else {
          out += text[i];
          i += 1;
        }
      }
      if (i < n && text[i] !== ',' && text[i] !== '\n') {
        throw new Error(`text after a closing quote at ${i}`);
      }
      value = out;
    } else {
      let end = i;
      while (end < n && text[end] !== ',' && text[end] !== '\n') end += 1;
      value = end === i ? null : text.slice(i, end);
      i = end;
    }
    row.push(value);
    if (text[i] === ',') {
      i += 1;
      if (i === n) row.push(null);
      continue;
    }
    rows.push(row);
    row = [];
    i += 1; // the line break
  }
  return rows;
}

interface Column {
  readonly name: string;
  readonly type: string;
}

/** `name:type` headers; `:ID(Group)` columns are strings named by their property. */
function columns(header: ReadonlyArray<string | null>): Column[] {
  return header.map((h) => {
    const text = h ?? '';
    const at = text.lastIndexOf(':');
    const name = at < 0 ? text : text.slice(0, at);
    const type = at < 0 ? 'string' : text.slice(at + 1).replace(/\(.*\)$/, '');
    return { name: name === '' ? `:${type}` : name, type };
  });
}

function typed(value: string | null, type: string): unknown {
  if (value === null) return undefined;
  if (type.endsWith('[]')) return value.split(';');
  if (type === 'int' || type === 'long') return Number(value);
  return value;
}

async function readTable(dir: string, file: string): Promise<Array<Record<string, unknown>>> {
  const [header, ...rows] = parseCsv(await readFile(join(dir, file), 'utf8'));
  const cols = columns(header ?? []);
  return rows.map((row) => {
    const record: Record<string, unknown> = {};
    cols.forEach((col, i) => {
      record[col.name] = typed(row[i] ?? null, col.type);
    });
    return record;
  });
}

/** The export as a graph snapshot (no DeletedArticle markers: an import is a snapshot). */
export async function readExportedGraph(dir: string): Promise<GraphSnapshot> {
  const snapshot: GraphSnapshot = {
    articles: new Map(),
    concepts: new Map(),
    mentions: new Map(),
    coOccurs: new Map(),
    deleted: new Map(),
  };
  for (const a of await readTable(dir, 'articles.csv')) {
    if (a[':LABEL'] !== 'Article') throw new Error('articles.csv row without the Article label');
    snapshot.articles.set(a.pmid as string, {
      version: a.version as number,
      articleVersion: a.articleVersion as number,
      title: a.title as string,
      modelName: a.modelName as string,
      modelVersion: a.modelVersion as string,
      publicationDate: (a.publicationDate as string | undefined) ?? null,
      pairedConcepts: (a.pairedConcepts as string[] | undefined) ?? [],
    });
  }
  for (const c of await readTable(dir, 'concepts.csv')) {
    if (c[':LABEL'] !== 'Concept') throw new Error('concepts.csv row without the Concept label');
    snapshot.concepts.set(c.id as string, {
      name: c.name as string,
      type: (c.type as string | undefined) ?? null,
      vocabulary: c.vocabulary as string,
    });
  }
  for (const m of await readTable(dir, 'mentions.csv')) {
    if (m[':TYPE'] !== 'MENTIONS') throw new Error('mentions.csv row of another type');
    snapshot.mentions.set(`${m[':START_ID'] as string} ${m[':END_ID'] as string}`, {
      count: m.count as number,
      spans: m.spans as string[],
      model: m.model as string,
    });
  }
  for (const r of await readTable(dir, 'co_occurs.csv')) {
    if (r[':TYPE'] !== 'CO_OCCURS') throw new Error('co_occurs.csv row of another type');
    const key = `${r[':START_ID'] as string} ${r[':END_ID'] as string}`;
    if (snapshot.coOccurs.has(key)) throw new Error(`duplicate CO_OCCURS ${key}`);
    snapshot.coOccurs.set(key, r.articles as number);
  }
  return snapshot;
}
