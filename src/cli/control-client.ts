import { createConnection } from 'node:net';
import type { ControlRequest, ControlResponse } from '../runtime/control-protocol.js';

/** Send one request and read one response (or, for `events`, call `onEach` until closed). */
export function controlRequest(path: string, request: ControlRequest, timeoutMs: number, onEach?: (r: ControlResponse) => void): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffer = '';
    const timer = onEach
      ? null
      : setTimeout(() => {
          socket.destroy();
          reject(new Error(`no answer from ${path} within ${timeoutMs} ms`));
        }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const response = JSON.parse(buffer.slice(0, nl)) as ControlResponse;
        buffer = buffer.slice(nl + 1);
        if (onEach) {
          onEach(response);
          continue;
        }
        if (timer) clearTimeout(timer);
        socket.end();
        resolve(response);
        return;
      }
    });
    socket.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    socket.on('close', () => {
      if (onEach) resolve({ ok: false, error: 'closed' });
    });
  });
}
