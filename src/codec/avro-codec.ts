import avro from 'avsc';
import type { Resolver, Schema, Type } from 'avsc';
import { MedStreamError } from '../errors.js';
import { crc64Avro } from './crc64-avro.js';

/**
 * Avro values on the wire, self-describing in one of two framings:
 *
 * - single-object encoding (the default, no registry): `C3 01`, the 8-byte little-endian
 *   CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form, then the body;
 * - Confluent Schema Registry framing (when a schema id is configured): `00`, the 4-byte
 *   big-endian schema id, then the body.
 *
 * Decoding reads either framing, whatever the codec encodes with, and resolves older writer
 * schemas (registered up front, or fetched by id through a {@link SchemaRegistryLookup}) to
 * the codec's reader schema with avsc resolvers. Every failure is `AVRO_DECODE`.
 */

export const SINGLE_OBJECT_MAGIC = Uint8Array.of(0xc3, 0x01);
export const SINGLE_OBJECT_HEADER_BYTES = 10;
export const CONFLUENT_MAGIC = 0x00;
export const CONFLUENT_HEADER_BYTES = 5;

export type Framing = 'single-object' | 'confluent';

/**
 * Where the registry HTTP client plugs in: given a schema id from a Confluent frame, return
 * the writer schema (the registry's `GET /schemas/ids/{id}` → `schema`). Only called for ids
 * the codec does not know yet; answers are cached.
 */
export interface SchemaRegistryLookup {
  schemaById(id: number): Promise<Schema | string>;
}

export interface WriterSchema {
  schema: Schema | string;
  /** Registry id, when the schema is registered. */
  id?: number;
}

export interface AvroCodecOptions {
  /** Registry id of the codec's own schema: encode with Confluent framing. */
  schemaId?: number;
  /** Earlier versions of the schema that may still be on the wire. */
  writerSchemas?: Iterable<WriterSchema>;
  registry?: SchemaRegistryLookup;
}

interface KnownWriter {
  type: Type;
  /** Undefined when the writer schema is the reader schema (no resolution needed). */
  resolver: Resolver | undefined;
}

const fingerprints = new WeakMap<Type, bigint>();

function toType(schema: Schema | string): Type {
  const parsed: unknown = typeof schema === 'string' ? JSON.parse(schema) : schema;
  return avro.Type.forSchema(parsed as Schema);
}

/**
 * The Parsing Canonical Form. avsc's `schema()` without options already is it (full names,
 * only type/name/fields/symbols/items/values/size, in canonical key order, no whitespace); a
 * test pins this against the specification's examples.
 */
export function parsingCanonicalForm(type: Type): string {
  return JSON.stringify(type.schema());
}

/** CRC-64-AVRO fingerprint of the schema's Parsing Canonical Form (unsigned). */
export function schemaFingerprint(type: Type): bigint {
  let fp = fingerprints.get(type);
  if (fp === undefined) {
    fp = crc64Avro(parsingCanonicalForm(type));
    fingerprints.set(type, fp);
  }
  return fp;
}

function hex64(fp: bigint): string {
  return `0x${fp.toString(16).padStart(16, '0')}`;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

function decodeError(message: string, cause?: unknown): MedStreamError {
  return new MedStreamError('AVRO_DECODE', message, cause === undefined ? {} : { cause });
}

export class AvroCodec<T> {
  readonly type: Type;
  readonly fingerprint: bigint;
  readonly schemaId: number | undefined;
  readonly framing: Framing;
  private readonly header: Buffer;
  private readonly name: string;
  private readonly byFingerprint = new Map<bigint, KnownWriter>();
  private readonly byId = new Map<number, KnownWriter>();
  private readonly registry: SchemaRegistryLookup | undefined;

  constructor(schema: Schema | string | Type, options: AvroCodecOptions = {}) {
    this.type = schema instanceof avro.Type ? schema : toType(schema);
    this.name = this.type.name ?? this.type.typeName;
    this.fingerprint = schemaFingerprint(this.type);
    this.schemaId = options.schemaId;
    this.registry = options.registry;
    const self: KnownWriter = { type: this.type, resolver: undefined };
    this.byFingerprint.set(this.fingerprint, self);
    if (options.schemaId === undefined) {
      this.framing = 'single-object';
      this.header = Buffer.alloc(SINGLE_OBJECT_HEADER_BYTES);
      this.header.set(SINGLE_OBJECT_MAGIC, 0);
      this.header.writeBigUInt64LE(this.fingerprint, 2);
    } else {
      if (!Number.isInteger(options.schemaId) || options.schemaId < 0) {
        throw new MedStreamError('CONFIG_INVALID', `Invalid schema id ${options.schemaId}.`);
      }
      this.framing = 'confluent';
      this.byId.set(options.schemaId, self);
      this.header = Buffer.alloc(CONFLUENT_HEADER_BYTES);
      this.header.writeUInt8(CONFLUENT_MAGIC, 0);
      this.header.writeUInt32BE(options.schemaId, 1);
    }
    for (const writer of options.writerSchemas ?? [])
      this.addWriterSchema(writer.schema, writer.id);
  }

  /**
   * Makes an older (or newer, compatible) writer schema decodable. Throws AVRO_DECODE when
   * the codec's schema cannot read data written with it.
   */
  addWriterSchema(schema: Schema | string, id?: number): void {
    const type = toType(schema);
    const fp = schemaFingerprint(type);
    let known = this.byFingerprint.get(fp);
    if (known === undefined) {
      let resolver: Resolver;
      try {
        resolver = this.type.createResolver(type);
      } catch (error) {
        throw decodeError(
          `${this.name}: writer schema ${hex64(fp)} cannot be read with the current schema: ${String(error)}`,
          error,
        );
      }
      known = { type, resolver };
      this.byFingerprint.set(fp, known);
    }
    if (id !== undefined) this.byId.set(id, known);
  }

  encode(value: T): Buffer {
    let body: Buffer;
    try {
      body = this.type.toBuffer(value);
    } catch (error) {
      const paths: string[] = [];
      this.type.isValid(value, {
        errorHook: (path: string[]) => paths.push(path.join('.') || '(root)'),
      });
      throw new MedStreamError(
        'RECORD_INVALID',
        `Cannot encode ${this.name}: invalid field(s) ${paths.join(', ') || '?'}.`,
        { cause: error },
      );
    }
    return Buffer.concat([this.header, body], this.header.length + body.length);
  }

  /** Decodes with the writer schemas already known (registered or fetched before). */
  decode(bytes: Uint8Array): T {
    const buf = asBuffer(bytes);
    const { writer, body } = this.frame(buf, (id) => {
      throw decodeError(
        `${this.name}: unknown schema id ${id} in Confluent frame; decode with decodeAsync and a registry lookup.`,
      );
    });
    return this.read(writer, body);
  }

  /** Like {@link decode}, fetching unknown Confluent schema ids from the registry lookup. */
  async decodeAsync(bytes: Uint8Array): Promise<T> {
    const buf = asBuffer(bytes);
    let missing: number | undefined;
    const framed = this.frame(buf, (id) => {
      missing = id;
      return undefined;
    });
    if (missing === undefined) return this.read(framed.writer, framed.body);
    if (this.registry === undefined) {
      throw decodeError(
        `${this.name}: unknown schema id ${missing} and no registry lookup configured.`,
      );
    }
    let schema: Schema | string;
    try {
      schema = await this.registry.schemaById(missing);
    } catch (error) {
      if (error instanceof MedStreamError) throw error;
      throw decodeError(`${this.name}: registry lookup of schema id ${missing} failed.`, error);
    }
    this.addWriterSchema(schema, missing);
    return this.decode(buf);
  }

  private frame(
    buf: Buffer,
    onUnknownId: (id: number) => undefined,
  ): { writer: KnownWriter | undefined; body: Buffer } {
    if (buf.length >= 2 && buf[0] === SINGLE_OBJECT_MAGIC[0] && buf[1] === SINGLE_OBJECT_MAGIC[1]) {
      if (buf.length < SINGLE_OBJECT_HEADER_BYTES) {
        throw decodeError(
          `${this.name}: single-object frame of ${buf.length} bytes is shorter than its 10-byte header.`,
        );
      }
      const fp = buf.readBigUInt64LE(2);
      const writer = this.byFingerprint.get(fp);
      if (writer === undefined) {
        throw decodeError(
          `${this.name}: unknown writer schema fingerprint ${hex64(fp)} (expected ${hex64(this.fingerprint)}); the record was written with a schema this codec was not given.`,
        );
      }
      return { writer, body: buf.subarray(SINGLE_OBJECT_HEADER_BYTES) };
    }
    if (buf.length >= 1 && buf[0] === CONFLUENT_MAGIC) {
      if (buf.length < CONFLUENT_HEADER_BYTES) {
        throw decodeError(
          `${this.name}: Confluent frame of ${buf.length} bytes is shorter than its 5-byte header.`,
        );
      }
      const id = buf.readUInt32BE(1);
      const writer = this.byId.get(id);
      if (writer === undefined) onUnknownId(id);
      return { writer, body: buf.subarray(CONFLUENT_HEADER_BYTES) };
    }
    const magic = buf.subarray(0, 2).toString('hex') || '(empty)';
    throw decodeError(
      `${this.name}: unknown framing (first bytes ${magic}); expected single-object C3 01 or Confluent 00.`,
    );
  }

  private read(writer: KnownWriter | undefined, body: Buffer): T {
    try {
      return this.type.fromBuffer(body, writer?.resolver) as T;
    } catch (error) {
      throw decodeError(
        `${this.name}: body does not decode (${error instanceof Error ? error.message : String(error)}).`,
        error,
      );
    }
  }
}
