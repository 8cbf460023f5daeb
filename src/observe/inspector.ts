import { createWebSocketInspector } from '@statelyai/inspect';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { InspectionEvent, MachineContext } from 'xstate';
import { WebSocket, WebSocketServer } from 'ws';
import { redact } from '../actions/exec.js';
import type { NodeContext } from '../machine/index.js';
import { listenHttp, sameOrigin, trustedHost, type Listening } from './http.js';

/** Messages kept for an inspector that connects later (the definition and the first snapshots). */
const REPLAY = 500;

export interface InspectorHandle {
  url: string;
  /** Hand every inspection event of the node actor to this. */
  inspect(event: InspectionEvent): void;
  stop(): Promise<void>;
}

/**
 * Only what the operator needs to see; nothing that could hold a key (the context holds none
 * today, this keeps it that way when someone adds a field).
 */
export function sanitizeContext(c: NodeContext, secrets: readonly string[]): Record<string, unknown> {
  const clean = (s: string | null) => (s === null ? null : redact(s, secrets));
  return {
    vrrp: c.vrrp,
    health: c.health,
    holdings: { ...c.holdings },
    knownHolders: c.knownHolders.map((h) => ({ address: h.address, firstSeenAt: h.firstSeenAt })),
    failures: c.failures,
    reason: clean(c.reason),
    lastError: clean(c.lastError),
  };
}

function isNodeContext(c: unknown): c is NodeContext {
  return typeof c === 'object' && c !== null && 'vrrp' in c && 'holdings' in c && 'knownHolders' in c;
}

/** The bridge page for an operator's browser that can reach stately.ai (through the SSH tunnel). */
function bridgePage(): string {
  return `<!doctype html><html><head><title>harbor-assistant: Stately inspector</title>
<style>html,body,iframe{margin:0;height:100%;width:100%;border:0}</style></head><body>
<iframe id="inspector" src="https://stately.ai/inspect"></iframe>
<script>
const iframe = document.getElementById('inspector');
const buffer = []; let connected = false;
window.addEventListener('message', (e) => { if (e.data && e.data.type === '@statelyai.connected') { connected = true; buffer.splice(0).forEach((m) => iframe.contentWindow.postMessage(m, '*')); } });
const ws = new WebSocket('ws://' + location.host);
ws.onmessage = (e) => { const m = JSON.parse(e.data); if (connected) iframe.contentWindow.postMessage(m, '*'); else buffer.push(m); };
</script></body></html>`;
}

/**
 * Stately's websocket inspector on the node actor, talking to a relay of our own bound to a
 * loopback address: `@statelyai/inspect/server` listens on every interface without
 * authentication. The relay replays recent messages to whoever connects and forwards them.
 */
export async function startInspector(listen: string, secrets: readonly string[], onError: (e: unknown) => void): Promise<InspectorHandle> {
  const replay: string[] = [];
  const http: Listening = await listenHttp(listen, (req, res) => {
    if (!trustedHost(req.headers.host)) {
      res.writeHead(421).end('use an IP address or localhost (an SSH tunnel), not a host name\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(bridgePage());
  });
  const wss = new WebSocketServer({
    server: http.server,
    verifyClient: ({ req }: { req: IncomingMessage }) => sameOrigin(req.headers.origin, req.headers.host),
  });
  // only our own client produces; anyone else (any local user can reach loopback) only watches
  const producerToken = randomBytes(16).toString('hex');
  wss.on('connection', (ws, req) => {
    const producer = new URL(req.url ?? '/', 'ws://relay').searchParams.get('producer') === producerToken;
    if (!producer) for (const m of replay) ws.send(m);
    ws.on('message', (data) => {
      if (!producer) return;
      // binaryType is ws's default, nodebuffer: every message arrives as one Buffer
      const m = redact((data as Buffer).toString(), secrets);
      replay.push(m);
      if (replay.length > REPLAY) replay.shift();
      for (const c of wss.clients) if (c !== ws && c.readyState === WebSocket.OPEN) c.send(m);
    });
    ws.on('error', onError);
  });
  wss.on('error', onError);

  const wsUrl = `${http.url.replace(/^http:/, 'ws:')}/?producer=${producerToken}`;
  // runs later on a timer inside the inspector, where a throw would be uncaught: it never throws.
  // Redaction of everything else (events, step contexts, the definition) is the relay's, above.
  const inspector = createWebSocketInspector({
    url: wsUrl,
    sanitizeContext: (c: MachineContext): MachineContext => {
      try {
        return isNodeContext(c) ? sanitizeContext(c, secrets) : c;
      } catch {
        return {};
      }
    },
  });
  // connected before anything else happens: closing a socket that is still connecting counts as
  // an error, and after an error the client retries every 5 s and keeps the process alive
  const until = Date.now() + 3_000;
  while (wss.clients.size === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  return {
    url: http.url,
    inspect: (event) => inspector.inspect.next?.(event),
    stop: async () => {
      // the client reconnects forever after an error: close it while the relay still answers
      inspector.stop();
      await new Promise((r) => setTimeout(r, 50));
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await http.close();
    },
  };
}
