import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import type { Schema, Type } from 'avsc';
import { AvroCodec } from './avro-codec.js';
import type { AvroCodecOptions } from './avro-codec.js';
import type { AnnotatedArticle, Article, DeadLetter } from './records.js';

/**
 * The `.avsc` files in `schemas/` are the contract; this module reads them (from the
 * repository root, the same relative place from `src/codec` and `dist/codec`) and builds the
 * codecs. `schemas/history/<name>/vN.avsc` keeps every released version; the latest one equals
 * the current schema (a test enforces it), and the codecs accept data written with any of them.
 */
export const SCHEMA_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

export type SchemaName = 'article' | 'dead-letter' | 'annotated-article';
export const SCHEMA_NAMES: readonly SchemaName[] = ['article', 'dead-letter', 'annotated-article'];

export interface SchemaVersion {
  version: number;
  path: string;
  schema: Schema;
}

function readJson(path: string): Schema {
  return JSON.parse(readFileSync(path, 'utf8')) as Schema;
}

export function readSchema(name: SchemaName): Schema {
  return readJson(join(SCHEMA_DIR, `${name}.avsc`));
}

/** Released versions, oldest first. */
export function readSchemaHistory(name: SchemaName): SchemaVersion[] {
  const dir = join(SCHEMA_DIR, 'history', name);
  return readdirSync(dir)
    .map((file) => /^v(\d+)\.avsc$/.exec(file))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({
      version: Number(match[1]),
      path: join(dir, match[0]),
      schema: readJson(join(dir, match[0])),
    }))
    .sort((a, b) => a.version - b.version);
}

const types = new Map<SchemaName, Type>();

export function schemaType(name: SchemaName): Type {
  let type = types.get(name);
  if (type === undefined) {
    type = avro.Type.forSchema(readSchema(name));
    types.set(name, type);
  }
  return type;
}

/** The codec of schema `name`, reading every released version of it. */
export function createCodec<T>(name: SchemaName, options: AvroCodecOptions = {}): AvroCodec<T> {
  const history = readSchemaHistory(name).map((v) => ({ schema: v.schema }));
  return new AvroCodec<T>(schemaType(name), {
    ...options,
    writerSchemas: [...history, ...(options.writerSchemas ?? [])],
  });
}

export function createArticleCodec(options: AvroCodecOptions = {}): AvroCodec<Article> {
  return createCodec<Article>('article', options);
}

export function createDeadLetterCodec(options: AvroCodecOptions = {}): AvroCodec<DeadLetter> {
  return createCodec<DeadLetter>('dead-letter', options);
}

export function createAnnotatedArticleCodec(
  options: AvroCodecOptions = {},
): AvroCodec<AnnotatedArticle> {
  return createCodec<AnnotatedArticle>('annotated-article', options);
}
