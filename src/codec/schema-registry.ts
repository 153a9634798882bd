import type { Schema } from 'avsc';
import { request } from 'undici';
import { MedStreamError } from '../errors.js';
import type { AvroCodec, SchemaRegistryLookup } from './avro-codec.js';
import type { SchemaName } from './schemas.js';
import { createCodec, readSchema } from './schemas.js';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/**
 * A Confluent Schema Registry client (the REST API that Confluent, Karapace and Apicurio's
 * compatibility layer serve): registers the project's schemas under `<topic>-value` subjects
 * (TopicNameStrategy) and fetches writer schemas by id for decoding.
 */
export class SchemaRegistryClient implements SchemaRegistryLookup {
  private readonly base: string;

  constructor(baseUrl: string) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  /** Registers (or finds, when already registered) `schema` under `subject`; returns its id. */
  async register(subject: string, schema: Schema): Promise<number> {
    const body = await this.call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, {
      schema: JSON.stringify(schema),
    });
    const id = (body as { id?: unknown }).id;
    if (typeof id !== 'number') throw this.invalid(`no id in the reply for subject ${subject}`);
    return id;
  }

  async schemaById(id: number): Promise<string> {
    const body = await this.call('GET', `/schemas/ids/${id}`);
    const schema = (body as { schema?: unknown }).schema;
    if (typeof schema !== 'string') throw this.invalid(`no schema in the reply for id ${id}`);
    return schema;
  }

  private async call(method: 'GET' | 'POST', path: string, payload?: unknown): Promise<unknown> {
    let response;
    try {
      response = await request(`${this.base}${path}`, {
        method,
        headers: { accept: CONTENT_TYPE, 'content-type': CONTENT_TYPE },
        ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
    } catch (error) {
      throw new MedStreamError('NETWORK', `schema registry ${this.base} unreachable`, {
        cause: error,
      });
    }
    const text = await response.body.text();
    if (response.statusCode >= 300) {
      throw new MedStreamError(
        'HTTP_STATUS',
        `schema registry ${method} ${path} answered ${response.statusCode}: ${text.slice(0, 300)}`,
        { retriable: response.statusCode >= 500 || response.statusCode === 429 },
      );
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw this.invalid(`unreadable reply to ${method} ${path}`, error);
    }
  }

  private invalid(message: string, cause?: unknown): MedStreamError {
    return new MedStreamError('SERVICE_UNAVAILABLE', `schema registry: ${message}`, {
      retriable: false,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/**
 * The codec for `name` on `topic`: Confluent framing with the registered id when a registry is
 * configured, Avro single-object encoding otherwise (records stay self-describing either way).
 */
export async function codecForTopic<T>(
  name: SchemaName,
  topic: string,
  registryUrl: string | undefined,
): Promise<AvroCodec<T>> {
  if (registryUrl === undefined) return createCodec<T>(name);
  const registry = new SchemaRegistryClient(registryUrl);
  const schemaId = await registry.register(`${topic}-value`, readSchema(name));
  return createCodec<T>(name, { schemaId, registry });
}
