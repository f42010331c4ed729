// The collector's HTTP side: /metrics (Prometheus text format), /api/nodes (the node data API),
// /healthz. Nothing else; GET only.
import { createServer, type Server } from 'node:http';
import type { CollectorMetrics } from './metrics.js';
import type { NodeRegistry } from './nodes.js';

export interface HttpOptions {
  host: string;
  port: number;
}

export function listenHttp(opts: HttpOptions, metrics: CollectorMetrics, nodes: NodeRegistry, health: () => Record<string, unknown>): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${e.message}\n`),
      );
    } else if (path === '/api/nodes') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(nodes.list()));
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', ...health() }));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /api/nodes, /healthz\n');
    }
  });
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
