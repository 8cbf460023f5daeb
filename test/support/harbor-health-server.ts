import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local stand-in for Harbor's /api/v2.0/health answering the real JSON shapes (HTTP 200 even when unhealthy). */
export async function startHealthServer(): Promise<{ url: string; set(body: string, status?: number): void; close(): Promise<void>; hits: number }> {
  let body = '{"status":"healthy","components":[{"name":"core","status":"healthy"},{"name":"registry","status":"healthy"}]}';
  let status = 200;
  const state = { hits: 0 };
  const server: Server = createServer((req, res) => {
    state.hits++;
    if (req.url === '/api/v2.0/ping') {
      res.end('Pong');
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/api/v2.0/health`,
    set(b: string, s = 200) {
      body = b;
      status = s;
    },
    close: () => new Promise((r) => server.close(() => r())),
    get hits() {
      return state.hits;
    },
  };
}

export const HEALTHY =
  '{"status":"healthy","components":[{"name":"core","status":"healthy"},{"name":"database","status":"healthy"},{"name":"jobservice","status":"healthy"},{"name":"portal","status":"healthy"},{"name":"redis","status":"healthy"},{"name":"registry","status":"healthy"},{"name":"registryctl","status":"healthy"}]}';
export const REGISTRY_DOWN =
  '{"status":"unhealthy","components":[{"name":"core","status":"healthy"},{"name":"database","status":"healthy"},{"name":"jobservice","status":"healthy"},{"name":"portal","status":"healthy"},{"name":"redis","status":"healthy"},{"name":"registry","status":"unhealthy","error":"failed to check health: Get \\"http://registry:5000\\": dial tcp 172.18.0.6:5000: connect: connection refused"},{"name":"registryctl","status":"healthy"}]}';
export const PORTAL_DOWN =
  '{"status":"unhealthy","components":[{"name":"core","status":"healthy"},{"name":"database","status":"healthy"},{"name":"portal","status":"unhealthy","error":"502"},{"name":"redis","status":"healthy"},{"name":"registry","status":"healthy"}]}';
