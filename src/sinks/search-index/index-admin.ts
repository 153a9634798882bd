import type { Client } from '@opensearch-project/opensearch';
import { errors } from '@opensearch-project/opensearch';
import { MedStreamError } from '../../errors.js';
import type { IndexSettings } from './index-template.js';
import {
  assertIndexName,
  concreteIndexName,
  indexTemplateBody,
  indexTemplateName,
  searchIndexMappings,
  searchIndexSettings,
} from './index-template.js';
import { abortable, classifyRequestError } from './request-retry.js';

/**
 * Index-behind-alias administration: the template, the concrete index of a model version, and
 * the alias readers query. Each helper sends its requests once and throws a classified
 * MedStreamError (`retriable` tells whether trying again may help); the sink wraps them in
 * its retry loop, operators' scripts may call them directly. The re-processing flow that uses
 * them is described in `search-index-sink.ts`.
 */

export interface AdminRequestOptions {
  /** Aborts the request in flight. */
  readonly signal?: AbortSignal;
  /** Per-request timeout; the client's default otherwise. */
  readonly requestTimeoutMs?: number;
}

export interface AliasedIndex {
  readonly index: string;
  /** `is_write_index: true` on the alias; writes through the alias go there. */
  readonly isWriteIndex: boolean;
}

function transportOptions(options: AdminRequestOptions, ignore?: number[]) {
  return {
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeout: options.requestTimeoutMs }),
    ...(ignore === undefined ? {} : { ignore }),
  };
}

async function admin<T>(
  what: string,
  options: AdminRequestOptions,
  send: () => Promise<T>,
): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (options.signal?.aborted === true) throw error;
    throw classifyRequestError(error, what) ?? error;
  }
}

function errorType(error: unknown): string | undefined {
  if (!(error instanceof errors.ResponseError)) return undefined;
  const body: unknown = error.meta?.body;
  const inner =
    typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  const type =
    typeof inner === 'object' && inner !== null ? (inner as { type?: unknown }).type : undefined;
  return typeof type === 'string' ? type : undefined;
}

/** Indices behind `alias`, sorted by name; empty when the alias does not exist. */
export async function listAliasIndices(
  client: Client,
  alias: string,
  options: AdminRequestOptions = {},
): Promise<AliasedIndex[]> {
  assertIndexName(alias, 'Index alias');
  const response = await admin(`get alias ${alias}`, options, () =>
    abortable(
      client.indices.getAlias({ name: alias }, transportOptions(options, [404])),
      options.signal,
    ),
  );
  if (response.statusCode === 404) return [];
  const body = response.body as Record<
    string,
    { aliases?: Record<string, { is_write_index?: boolean }> }
  >;
  return Object.entries(body)
    .map(([index, entry]) => ({
      index,
      isWriteIndex: entry.aliases?.[alias]?.is_write_index === true,
    }))
    .sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
}

/**
 * The index writes through `alias` go to: the only index behind it, or the one marked
 * `is_write_index`. Throws CONFIG_INVALID when there is none or it is ambiguous.
 */
export function resolveWriteIndex(alias: string, indices: readonly AliasedIndex[]): string {
  const writers = indices.filter((i) => i.isWriteIndex);
  const only = indices.length === 1 ? indices[0] : writers.length === 1 ? writers[0] : undefined;
  if (only !== undefined) return only.index;
  if (indices.length === 0) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `Alias "${alias}" does not exist: give the search-index sink a model (name and version) or an index to create it`,
    );
  }
  throw new MedStreamError(
    'CONFIG_INVALID',
    `Alias "${alias}" points to ${indices.map((i) => i.index).join(', ')} without one write index: give the sink an index, or switch the alias to one index`,
  );
}

/** `PUT _index_template/<alias>-template`; idempotent (replaces the template). */
export async function putIndexTemplate(
  client: Client,
  alias: string,
  settings: IndexSettings,
  options: AdminRequestOptions = {},
): Promise<void> {
  assertIndexName(alias, 'Index alias');
  const name = indexTemplateName(alias);
  await admin(`put index template ${name}`, options, () =>
    abortable(
      client.indices.putIndexTemplate(
        { name, body: indexTemplateBody(alias, settings) },
        transportOptions(options),
      ),
      options.signal,
    ),
  );
}

/** Deletes the template of `alias` if it exists (tests, decommissioning). */
export async function deleteIndexTemplate(
  client: Client,
  alias: string,
  options: AdminRequestOptions = {},
): Promise<void> {
  const name = indexTemplateName(alias);
  await admin(`delete index template ${name}`, options, () =>
    abortable(
      client.indices.deleteIndexTemplate({ name }, transportOptions(options, [404])),
      options.signal,
    ),
  );
}

/**
 * Creates `index` with the search mapping and settings unless it exists; true when this call
 * created it. The body repeats what the template holds, so an index whose name the template's
 * pattern does not match gets the same layout. Throws CONFIG_INVALID when `index` is an alias.
 */
export async function ensureIndex(
  client: Client,
  index: string,
  settings: IndexSettings,
  options: AdminRequestOptions = {},
): Promise<boolean> {
  assertIndexName(index, 'Index name');
  try {
    await admin(`create index ${index}`, options, () =>
      abortable(
        client.indices.create(
          {
            index,
            body: { settings: searchIndexSettings(settings), mappings: searchIndexMappings() },
          },
          transportOptions(options),
        ),
        options.signal,
      ),
    );
    return true;
  } catch (error) {
    const cause = error instanceof MedStreamError ? error.cause : undefined;
    const type = errorType(cause);
    if (type === 'resource_already_exists_exception') return false;
    if (type === 'invalid_index_name_exception') {
      throw new MedStreamError('CONFIG_INVALID', `"${index}" is an alias, not an index`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** Creates the index of one model version, `<alias>-<model>-<version>`, if missing. */
export async function ensureModelIndex(
  client: Client,
  alias: string,
  model: { readonly name: string; readonly version: string },
  settings: IndexSettings,
  options: AdminRequestOptions = {},
): Promise<string> {
  const index = concreteIndexName(alias, model.name, model.version);
  await ensureIndex(client, index, settings, options);
  return index;
}

/**
 * Points `alias` at `index` alone, in one `_aliases` request (removes from every other index
 * and adds to `index` as write index), so readers never see zero or two indices. Returns the
 * indices the alias was removed from. Throws CONFIG_INVALID when a concrete index carries the
 * alias's name (the server would refuse the alias).
 */
export async function switchAlias(
  client: Client,
  alias: string,
  index: string,
  options: AdminRequestOptions = {},
): Promise<string[]> {
  assertIndexName(alias, 'Index alias');
  assertIndexName(index, 'Index name');
  const current = await listAliasIndices(client, alias, options);
  if (current.length === 0) await assertNoIndexNamed(client, alias, options);
  const removed = current.map((c) => c.index).filter((name) => name !== index);
  const actions = [
    ...removed.map((name) => ({ remove: { index: name, alias } })),
    { add: { index, alias, is_write_index: true } },
  ];
  await admin(`switch alias ${alias} to ${index}`, options, () =>
    abortable(
      client.indices.updateAliases({ body: { actions } }, transportOptions(options)),
      options.signal,
    ),
  );
  return removed;
}

/** Throws CONFIG_INVALID when a concrete index is named `name` (it cannot become an alias). */
export async function assertNoIndexNamed(
  client: Client,
  name: string,
  options: AdminRequestOptions = {},
): Promise<void> {
  const response = await admin(`check index ${name}`, options, () =>
    abortable(client.indices.exists({ index: name }, transportOptions(options)), options.signal),
  );
  if (response.body === true) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `"${name}" is a concrete index, so it cannot be used as the alias; choose another OPENSEARCH_INDEX_ALIAS or reindex that index`,
    );
  }
}
