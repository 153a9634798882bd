import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ScriptedServer, Step } from '../../producers/http/scripted-server.js';
import { startScriptedServer } from '../../producers/http/scripted-server.js';

/**
 * A local HTTP server that answers the few OpenSearch endpoints the search-index sink calls, so
 * unit tests can script failures a real server does not produce on demand (a reset connection,
 * a 413, a given item status) and run the retry schedule on a fake clock. The behaviour of the
 * real server is pinned by the integration tests.
 */

export interface BulkOp {
  readonly kind: 'index' | 'delete';
  readonly id: string;
  readonly version: number;
  readonly doc?: Record<string, unknown>;
}

export interface BulkCall {
  readonly path: string;
  readonly ops: readonly BulkOp[];
  readonly bytes: number;
}

/** Answers one bulk request; `undefined` = every item succeeds. */
export type BulkResponder = (
  ops: readonly BulkOp[],
  req: IncomingMessage,
  res: ServerResponse,
) => void;

export interface FakeOpenSearch {
  readonly url: string;
  readonly bulkCalls: BulkCall[];
  readonly templates: { name: string; body: unknown }[];
  readonly aliasActions: unknown[];
  readonly createdIndices: string[];
  close(): Promise<void>;
}

export interface FakeOpenSearchOptions {
  /** Indices behind the alias as `GET _alias` returns them; absent = the alias does not exist. */
  readonly aliases?: Record<string, { aliases: Record<string, { is_write_index?: boolean }> }>;
  /** The n-th bulk request gets the n-th responder (the last one repeats); none = all succeed. */
  readonly bulk?: readonly (BulkResponder | undefined)[];
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length });
  res.end(bytes);
}

export function parseBulk(body: string): BulkOp[] {
  const lines = body.split('\n').filter((l) => l !== '');
  const ops: BulkOp[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const action = JSON.parse(lines[i] ?? '{}') as Record<
      string,
      { _id: string; version: number; version_type: string }
    >;
    const [kind, meta] = Object.entries(action)[0] ?? [];
    if ((kind !== 'index' && kind !== 'delete') || meta === undefined) {
      throw new Error(`unexpected bulk line ${lines[i]}`);
    }
    if (meta.version_type !== 'external') throw new Error(`not external: ${lines[i]}`);
    if (kind === 'index') {
      i += 1;
      const doc = JSON.parse(lines[i] ?? 'null') as Record<string, unknown>;
      ops.push({ kind, id: meta._id, version: meta.version, doc });
    } else {
      ops.push({ kind, id: meta._id, version: meta.version });
    }
  }
  return ops;
}

/** The item a real server returns for a successful operation. */
export function okItem(op: BulkOp): Record<string, unknown> {
  return op.kind === 'index'
    ? { index: { status: 201, result: 'created' } }
    : { delete: { status: 200, result: 'deleted' } };
}

export function bulkReply(res: ServerResponse, items: readonly Record<string, unknown>[]): void {
  const errors = items.some((item) => {
    const body = Object.values(item)[0] as { status: number };
    return body.status >= 300;
  });
  json(res, 200, { errors, items });
}

/** Every item succeeds. */
export const allOk: BulkResponder = (ops, _req, res) => bulkReply(res, ops.map(okItem));

/** The whole request fails with `status` and an OpenSearch error body. */
export const failWith =
  (status: number, type: string): BulkResponder =>
  (_ops, _req, res) =>
    json(res, status, { error: { type, reason: `scripted ${type}` }, status });

export async function startFakeOpenSearch(
  options: FakeOpenSearchOptions = {},
): Promise<FakeOpenSearch> {
  const bulkCalls: BulkCall[] = [];
  const templates: { name: string; body: unknown }[] = [];
  const aliasActions: unknown[] = [];
  const createdIndices: string[] = [];
  const route: Step = async (req, res) => {
    const body = await readBody(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/') {
      json(res, 200, { version: { distribution: 'opensearch', number: '2.19.1' } });
    } else if ((method === 'PUT' || method === 'POST') && path.startsWith('/_index_template/')) {
      templates.push({ name: path.slice('/_index_template/'.length), body: JSON.parse(body) });
      json(res, 200, { acknowledged: true });
    } else if (method === 'GET' && path.startsWith('/_alias/')) {
      if (options.aliases === undefined) json(res, 404, { error: 'alias missing', status: 404 });
      else json(res, 200, options.aliases);
    } else if (method === 'HEAD') {
      res.writeHead(404);
      res.end();
    } else if (method === 'POST' && path === '/_aliases') {
      aliasActions.push(JSON.parse(body));
      json(res, 200, { acknowledged: true });
    } else if (path.endsWith('/_bulk')) {
      const ops = parseBulk(body);
      const n = bulkCalls.length;
      bulkCalls.push({ path, ops, bytes: Buffer.byteLength(body) });
      const scripted = options.bulk ?? [];
      const responder = scripted[Math.min(n, scripted.length - 1)] ?? allOk;
      responder(ops, req, res);
    } else if (method === 'PUT') {
      createdIndices.push(path.slice(1));
      json(res, 200, { acknowledged: true, index: path.slice(1) });
    } else {
      json(res, 400, { error: { type: 'unexpected_request', reason: `${method} ${path}` } });
    }
  };
  const server: ScriptedServer = await startScriptedServer(() => route);
  return {
    url: server.url,
    bulkCalls,
    templates,
    aliasActions,
    createdIndices,
    close: () => server.close(),
  };
}
