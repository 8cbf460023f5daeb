import type { ServerResponse } from 'node:http';
import type { NodeStatus } from '../runtime/status.js';
import { listenHttp, SAME_ORIGIN_ONLY, trustedHost, type Listening } from './http.js';
import type { JournalEntry } from './journal.js';
import { VIEWER_CSS, VIEWER_HTML, VIEWER_JS } from './viewer-page.js';

/** A journal entry as it is written, or the node's status after a change (never both). */
export type ViewerUpdate = { entry: JournalEntry } | { status: NodeStatus };

/** What the viewer shows, provided by the service. */
export interface ViewerSource {
  /** Carries `stateIds`, the active state nodes the viewer highlights. */
  status(): NodeStatus;
  recent(): readonly JournalEntry[];
  subscribe(listener: (update: ViewerUpdate) => void): () => void;
  svg(): Promise<string>;
}

const HEARTBEAT_MS = 15_000;

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, ...SAME_ORIGIN_ONLY });
  res.end(body);
}

/**
 * The offline live viewer: read-only GETs, same-origin only (CSP), nothing fetched from elsewhere.
 * Status as `harbor-assistant status --json` shows it: no keys, no configuration.
 */
export async function startViewer(listen: string, source: ViewerSource): Promise<Listening> {
  const streams = new Set<ServerResponse>();
  // `activeIds` (the status's `stateIds`) stays in the snapshot for the clients that read it
  const state = () => {
    const status = source.status();
    return { status, activeIds: status.stateIds };
  };
  // statuses come from the service after each committed snapshot: the entry of a transition is
  // written while the transition runs, when the snapshot still shows the state it leaves
  const unsubscribe = source.subscribe((update) => {
    if (streams.size === 0) return;
    const data = `data: ${JSON.stringify(update)}\n\n`;
    for (const res of streams) res.write(data);
  });
  const heartbeat = setInterval(() => {
    for (const res of streams) res.write(': heartbeat\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const http = await listenHttp(listen, (req, res) => {
    const path = new URL(req.url ?? '/', 'http://viewer').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain', 'read-only\n');
      return;
    }
    if (!trustedHost(req.headers.host)) {
      send(res, 421, 'text/plain', 'use an IP address or localhost (an SSH tunnel), not a host name\n');
      return;
    }
    switch (path) {
      case '/':
      case '/index.html': {
        send(res, 200, 'text/html; charset=utf-8', VIEWER_HTML);
        return;
      }
      case '/viewer.js': {
        send(res, 200, 'text/javascript; charset=utf-8', VIEWER_JS);
        return;
      }
      case '/viewer.css': {
        send(res, 200, 'text/css; charset=utf-8', VIEWER_CSS);
        return;
      }
      case '/chart.svg':
        source.svg().then(
          (svg) => send(res, 200, 'image/svg+xml', svg),
          (e: unknown) => send(res, 500, 'text/plain', `cannot draw the chart: ${String(e)}\n`),
        );
        return;
      case '/api/snapshot':
        try {
          send(res, 200, 'application/json', JSON.stringify({ ...state(), recent: source.recent() }));
          return;
        } catch {
          send(res, 503, 'text/plain', 'starting\n');
          return;
        }
      case '/api/stream': {
        let first: ReturnType<typeof state>;
        try {
          first = state();
        } catch {
          send(res, 503, 'text/plain', 'starting\n');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'text/event-stream', Connection: 'keep-alive', ...SAME_ORIGIN_ONLY });
        res.write(`retry: 2000\ndata: ${JSON.stringify(first)}\n\n`);
        streams.add(res);
        req.on('close', () => streams.delete(res));
        return;
      }
      default: {
        send(res, 404, 'text/plain', 'not found\n');
        return;
      }
    }
  });
  return {
    ...http,
    close: async () => {
      unsubscribe();
      clearInterval(heartbeat);
      for (const res of streams) res.end();
      streams.clear();
      await http.close();
    },
  };
}
