import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';

/** Harbor's health body is a few hundred bytes; a bigger answer is not the health endpoint. */
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 5;

export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * GET `url` and read the body, following redirects like fetch does. node:http rather than fetch:
 * fetch loads undici on first use, ~17 MiB of RSS for the life of the service (measured on Node 20:
 * a process that made one fetch 64 MiB, one http.get 48 MiB), and the probe runs every 2 s.
 * Rejects on a network error, an abort of `signal`, a redirect loop or an oversized body.
 */
export async function getText(url: string, signal: AbortSignal, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  let target = new URL(url);
  for (let hop = 0; ; hop++) {
    const res = await request(target, signal, headers);
    const location = res.headers.location;
    if (res.statusCode !== undefined && [301, 302, 303, 307, 308].includes(res.statusCode) && location !== undefined) {
      res.resume();
      if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects from ${url}`);
      target = new URL(location, target);
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`redirect to ${target.protocol} from ${url}`);
      continue;
    }
    return { status: res.statusCode ?? 0, body: await readBody(res, signal) };
  }
}

function request(url: URL, signal: AbortSignal, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? httpsGet : httpGet;
    // `signal` destroys the request (and its socket) on abort, and the promise rejects with the AbortError
    get(url, { headers, signal }, resolve).on('error', reject);
  });
}

function readBody(res: IncomingMessage, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (error: Error) => {
      signal.removeEventListener('abort', onAbort);
      res.destroy();
      reject(error);
    };
    const onAbort = () => fail(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) fail(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
      else chunks.push(chunk);
    });
    res.on('error', fail);
    res.on('end', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}
