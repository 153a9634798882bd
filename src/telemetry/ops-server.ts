import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MedStreamError } from '../errors.js';

/**
 * The ops HTTP server of a long-running command: one port for
 *
 * - `GET /metrics`: Prometheus text exposition (the handler comes from the SDK's exporter);
 * - `GET /healthz`: 200 whenever the event loop answers (liveness: a blocked or dead process
 *   does not answer, and the orchestrator restarts it);
 * - `GET /readyz`: 200 once the command said it is ready (e.g. the processor loaded its model and
 *   joined its consumer group), 503 before that and from the moment shutdown begins, for good.
 *
 * The server never keeps the process alive (unref'd) and answers nothing else (404, 405).
 */

export type MetricsHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** Readiness as `/readyz` reports it; the owner flips it, shutdown ends it. */
export class Readiness {
  private ready = false;
  private stopping = false;
  private reason = 'starting';

  /** `reason` says why not, in the 503 body. Ignored once shutdown began. */
  set(ready: boolean, reason = ready ? '' : 'not ready'): void {
    if (this.stopping) return;
    this.ready = ready;
    this.reason = reason;
  }

  /** From now on not ready, whatever `set` says. */
  stop(): void {
    this.stopping = true;
    this.ready = false;
    this.reason = 'shutting down';
  }

  get state(): { ready: boolean; reason: string } {
    return { ready: this.ready, reason: this.reason };
  }
}

export interface OpsServerOptions {
  /** 0 = an ephemeral port (tests). */
  port: number;
  /** Unset = all interfaces. */
  host?: string;
  readiness: Readiness;
  metrics: MetricsHandler;
}

export interface OpsServer {
  /** E.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const TEXT = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };

function reply(response: ServerResponse, status: number, body: string, head: boolean): void {
  response.writeHead(status, TEXT);
  response.end(head ? undefined : body);
}

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { readiness, metrics } = options;
  const server: Server = createServer((request, response) => {
    const method = request.method ?? 'GET';
    const head = method === 'HEAD';
    if (method !== 'GET' && !head) {
      response.setHeader('allow', 'GET, HEAD');
      reply(response, 405, 'method not allowed\n', head);
      return;
    }
    const path = new URL(request.url ?? '/', 'http://ops').pathname;
    switch (path) {
      case '/metrics':
        metrics(request, response);
        return;
      case '/healthz':
        reply(response, 200, 'ok\n', head);
        return;
      case '/readyz': {
        const { ready, reason } = readiness.state;
        reply(response, ready ? 200 : 503, ready ? 'ready\n' : `not ready: ${reason}\n`, head);
        return;
      }
      default:
        reply(response, 404, 'not found: /metrics, /healthz, /readyz\n', head);
    }
  });
  // Probes and scrapes are small; a stuck client must not hold a socket for long.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(listenError(error, options));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({
      port: options.port,
      ...(options.host === undefined ? {} : { host: options.host }),
    });
  });
  server.unref();

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections of a scraper would otherwise hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function listenError(error: NodeJS.ErrnoException, options: OpsServerOptions): MedStreamError {
  const where = `${options.host ?? 'all interfaces'} port ${options.port}`;
  if (error.code === 'EADDRINUSE') {
    return new MedStreamError(
      'CONFIG_INVALID',
      `the ops server cannot listen on ${where}: the port is in use (another medstream process?). ` +
        'Set MEDSTREAM_OPS_PORT to a free port, or to 0 to run without the ops server',
      { cause: error },
    );
  }
  if (error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
    return new MedStreamError(
      'CONFIG_INVALID',
      `the ops server cannot listen on ${where} (${error.code}): check MEDSTREAM_OPS_HOST and MEDSTREAM_OPS_PORT`,
      { cause: error },
    );
  }
  return new MedStreamError(
    'SERVICE_UNAVAILABLE',
    `the ops server cannot listen on ${where}: ${error.message}`,
    { cause: error },
  );
}
