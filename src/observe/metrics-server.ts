import type { Registry } from 'prom-client';
import { listenHttp, type Listening } from './http.js';

/** `GET /metrics` in Prometheus' text format; nothing else is served. */
export function startMetricsServer(listen: string, registry: Registry): Promise<Listening> {
  return listenHttp(listen, (req, res) => {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://metrics').pathname !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${String(e)}\n`),
    );
  });
}
