// The operator's HTTP endpoint (Metrics_Listen): /metrics (Prometheus text), /healthz
// (the process answers) and /readyz (listening, not draining, spool not failing). Nothing
// else is served.
// It holds at most METRICS_MAX_CONNECTIONS sockets, each briefly: the fd budget
// (src/ops/fd-budget.ts) reserves them, so idle HTTP connections cannot starve SMTP.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { MetricsListen } from '../config/types.js';
import { bindError } from '../smtp/listener.js';

export interface MetricsServer {
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
}

/** A scraper or two and a health checker; more connections are closed on accept. */
export const METRICS_MAX_CONNECTIONS = 16;
/** A scrape is one small request; nothing legitimate waits longer than this. */
const METRICS_REQUEST_TIMEOUT_MS = 10_000;
const METRICS_KEEP_ALIVE_MS = 5_000;

/**
 * `registry`: this process's, or the primary's view of every front end's (cluster-metrics.ts),
 * which is why it and `isReady` may answer later.
 */
export function createMetricsServer(
  address: MetricsListen,
  registry: Pick<Registry, 'metrics' | 'contentType'>,
  isReady: () => boolean | Promise<boolean>,
): MetricsServer {
  const options: http.ServerOptions = {
    // Node checks these two every connectionsCheckingInterval (30 s by default).
    headersTimeout: METRICS_REQUEST_TIMEOUT_MS,
    requestTimeout: METRICS_REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval: 1_000,
    keepAliveTimeout: METRICS_KEEP_ALIVE_MS,
  };
  const server = http.createServer(options, (request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
    } else if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      Promise.resolve(isReady()).then(
        (ready) => response.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n'),
        (error: Error) => response.writeHead(503, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  server.maxConnections = METRICS_MAX_CONNECTIONS;
  // A connection that sends nothing at all is not a request yet: headersTimeout alone
  // would not close it. Idle for this long, it goes.
  server.timeout = METRICS_REQUEST_TIMEOUT_MS;
  return {
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => reject(bindError(`Metrics_Listen ${address.label}`, err));
        server.once('error', onError);
        server.listen(address.port, address.host, () => {
          server.off('error', onError);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
