import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { parseListen } from '../config/fields.js';

export interface Listening {
  server: Server;
  /** `http://host:port` with the port actually bound (the config may say 0). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Start an HTTP server on a validated `IP:port`; long-lived responses (SSE) are cut on close. */
export async function listenHttp(address: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listening> {
  const parsed = parseListen(address);
  if (!parsed) throw new Error(`not a listen address: ${address}`);
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(parsed.port, parsed.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = parsed.host.includes(':') ? `[${parsed.host}]` : parsed.host;
  return {
    server,
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Whether a browser request is meant for us: the Host header names an IP literal or localhost
 * (what an SSH tunnel gives), never a DNS name that could have been rebound to this address.
 */
export function trustedHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || isIP(name) !== 0;
}

/**
 * Browsers send WebSockets to any origin (no CORS): only a page served by this same server, or a
 * client that is not a browser (no Origin), may connect.
 */
export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host && trustedHost(host);
  } catch {
    return false;
  }
}

/** Headers for everything we serve: nothing may be loaded from anywhere but this server. */
export const SAME_ORIGIN_ONLY = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};
