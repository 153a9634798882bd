import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP server (127.0.0.1, port 0) whose n-th request gets the n-th scripted handler. */
export type Step = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface ScriptedServer {
  url: string;
  /** performance.now() of each request's arrival. */
  arrivals: number[];
  /** Fake-clock time of each arrival, when a clock was given. */
  fakeArrivals: number[];
  paths: string[];
  close(): Promise<void>;
}

export async function startScriptedServer(
  steps: readonly Step[] | ((index: number) => Step),
  fakeNow?: () => number,
): Promise<ScriptedServer> {
  const arrivals: number[] = [];
  const fakeArrivals: number[] = [];
  const paths: string[] = [];
  const server = createServer((req, res) => {
    const index = arrivals.length;
    arrivals.push(performance.now());
    if (fakeNow !== undefined) fakeArrivals.push(fakeNow());
    paths.push(req.url ?? '');
    const step =
      typeof steps === 'function' ? steps(index) : steps[Math.min(index, steps.length - 1)];
    Promise.resolve(step(req, res)).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    fakeArrivals,
    paths,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const ok =
  (body: string | Buffer, headers: Record<string, string> = {}): Step =>
  (_req, res) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(200, { 'content-length': bytes.length, ...headers });
    res.end(bytes);
  };

export const status =
  (code: number, headers: Record<string, string> = {}, body = ''): Step =>
  (_req, res) => {
    res.writeHead(code, headers);
    res.end(body);
  };

/** TCP RST mid-request: the client sees ECONNRESET. */
export const reset: Step = (req) => {
  req.socket.resetAndDestroy();
};

/** Headers promise `body.length` bytes; half arrive, then the socket closes. */
export const truncated =
  (body: string): Step =>
  async (_req, res) => {
    const bytes = Buffer.from(body);
    res.writeHead(200, { 'content-length': bytes.length });
    res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
    await new Promise((resolve) => setTimeout(resolve, 10));
    res.socket?.destroy();
  };

export const slow =
  (ms: number, then: Step): Step =>
  async (req, res) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (!res.destroyed && !req.socket.destroyed) await then(req, res);
  };
