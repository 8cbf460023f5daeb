import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isMap, isScalar, parseDocument, stringify } from 'yaml';
import { rememberLast } from '../remember-last.js';
import { writeFileAtomic } from '../host/atomic-file.js';
import { CommandError, type Runner } from '../exec.js';
import type { Compose } from './compose.js';

/**
 * The user's harbor.yml with `hostname` and `data_volume` set. The yaml Document API finds the
 * two values; only their bytes are replaced, so every comment, every other field and the
 * layout survive exactly, whatever Harbor 2.x wrote the file. A missing key is appended.
 */
export function patchHarborYml(text: string, values: { hostname: string; dataVolume: string }): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`harbor.yml is not valid YAML: ${doc.errors[0]?.message ?? ''}`);
  const edits: Array<{ start: number; end: number; text: string }> = [];
  let appended = '';
  for (const [key, value] of [
    ['hostname', values.hostname],
    ['data_volume', values.dataVolume],
  ] as const) {
    const node = doc.get(key, true);
    const rendered = stringify(value).trimEnd();
    if (isScalar(node) && node.range) edits.push({ start: node.range[0], end: node.range[1], text: rendered });
    else if (node === undefined || node === null || (isScalar(node) && !node.range)) appended += `${key}: ${rendered}\n`;
    else throw new Error(`harbor.yml: ${key} must be a plain value`);
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  if (appended) out = `${out}${out.endsWith('\n') || out === '' ? '' : '\n'}${appended}`;
  return out;
}

/**
 * A compose file compose can run: YAML without errors whose `services` is a non-empty mapping. A
 * damaged one (a bad edit, a disk that lost its tail) is rewritten by prepare on the next takeover.
 */
const usableComposeFile = rememberLast((text) => isUsableComposeFile(text));
const patchedHarborYml = rememberLast((key) => {
  const [text, hostname, dataVolume] = JSON.parse(key) as [string, string, string];
  return patchHarborYml(text, { hostname, dataVolume });
});

export function isUsableComposeFile(text: string): boolean {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return false;
  const services = doc.contents.get('services');
  return isMap(services) && services.items.length > 0;
}

/** Harbor's containers, for stopping them by name when the compose file is damaged (the original's fallback). */
export const HARBOR_CONTAINERS = [
  'nginx',
  'harbor-portal',
  'harbor-jobservice',
  'harbor-core',
  'registryctl',
  'registry',
  'trivy-adapter',
  'harbor-db',
  'redis',
  'harbor-log',
] as const;

export interface InstallerOptions {
  projectDir: string;
  mountPoint: string;
  installerTgz: string;
  harborYml: string;
  hostname: string;
  prepareCommand: readonly string[];
  timeoutMs: number;
}

/** The installer on the image: unpacked once from the local .tgz, harbor.yml patched, prepare run when it changed. */
export class HarborInstaller {
  constructor(
    private readonly runner: Runner,
    private readonly o: InstallerOptions,
  ) {}

  private get stamp(): string {
    return join(this.o.projectDir, '.harbor-assistant.prepared');
  }

  /**
   * Unpack if missing, patch harbor.yml, run prepare when it changed or the compose file is not
   * usable; then flush what was written to the image (`sync -f`), or, with `flush: false`, leave
   * that to the caller (the result says whether anything was written). tar, prepare and the files they
   * write are not fsynced: without the flush a crash within the page cache's writeback delay
   * (~30 s) leaves them empty on the image, and the next master finds a `prepare` that prepares
   * nothing. An installer that still yields no usable compose file after prepare is damaged: it is
   * kept aside (`<projectDir>.damaged-<ms>`) and unpacked again from the local installer.
   */
  async ensureInstalled(signal?: AbortSignal, { flush = true }: { flush?: boolean } = {}): Promise<boolean> {
    let wrote = false;
    let done = false;
    if (!existsSync(this.o.projectDir)) {
      await this.unpack('unpack Harbor installer', signal);
      wrote = true;
    }
    try {
      const prepared = await this.prepare(false, signal);
      wrote ||= prepared;
      if (prepared && !this.composeUsable()) {
        const aside = `${this.o.projectDir}.damaged-${String(Date.now())}`;
        renameSync(this.o.projectDir, aside);
        await this.unpack(`unpack Harbor installer again (prepare wrote no usable compose file; the damaged one is kept as ${aside})`, signal);
        await this.prepare(true, signal);
        if (!this.composeUsable()) {
          throw new Error(`prepare in a freshly unpacked ${this.o.projectDir} wrote no usable docker-compose.yml: check ${this.o.installerTgz} and harbor.yml`);
        }
      }
      done = true;
    } finally {
      // told not to (the caller flushes beside Harbor's start): only a failure flushes here
      if (wrote && (flush || !done)) await this.flush(signal);
    }
    return wrote;
  }

  private composeUsable(): boolean {
    const composeFile = join(this.o.projectDir, 'docker-compose.yml');
    return existsSync(composeFile) && usableComposeFile(readFileSync(composeFile, 'utf8'));
  }

  /** harbor.yml patched; prepare when it changed, when forced or when the compose file is not usable. Whether anything was written. */
  private async prepare(force: boolean, signal?: AbortSignal): Promise<boolean> {
    let wrote = false;
    const userYml = readFileSync(this.o.harborYml, 'utf8');
    const patched = patchedHarborYml(JSON.stringify([userYml, this.o.hostname, join(this.o.mountPoint, 'data')]));
    const target = join(this.o.projectDir, 'harbor.yml');
    const current = existsSync(target) ? readFileSync(target, 'utf8') : null;
    if (current !== patched) {
      writeFileAtomic(target, patched, 0o600);
      wrote = true;
    }
    const digest = createHash('sha256').update(patched).digest('hex');
    const prepared = existsSync(this.stamp) ? readFileSync(this.stamp, 'utf8').trim() : '';
    if (force || prepared !== digest || !this.composeUsable()) {
      await this.runner.run({ what: 'harbor prepare', argv: [...this.o.prepareCommand], cwd: this.o.projectDir, timeoutMs: this.o.timeoutMs, signal });
      writeFileAtomic(this.stamp, `${digest}\n`, 0o600);
      wrote = true;
    }
    return wrote;
  }

  /** Unpack next to its final place (same filesystem), then rename: never a half installer. */
  private async unpack(what: string, signal?: AbortSignal): Promise<void> {
    if (!this.o.installerTgz) throw new Error(`${this.o.projectDir} does not exist and harbor.installerTgz is not set`);
    if (!existsSync(this.o.installerTgz)) throw new Error(`harbor.installerTgz ${this.o.installerTgz} does not exist`);
    const tmp = join(dirname(this.o.projectDir), '.harbor-installer.tmp');
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await this.runner.run({ what, argv: ['tar', '-xzf', this.o.installerTgz, '-C', tmp], timeoutMs: this.o.timeoutMs, signal });
    const top = readdirSync(tmp);
    const root = top.length === 1 && top[0] ? join(tmp, top[0]) : tmp;
    renameSync(root, this.o.projectDir);
    rmSync(tmp, { recursive: true, force: true });
  }

  /** syncfs of the image's filesystem: what tar, prepare and harbor.yml wrote is on Ceph. */
  async flush(signal?: AbortSignal): Promise<void> {
    await this.runner.run({ what: 'sync installer', argv: ['sync', '-f', this.o.mountPoint], timeoutMs: this.o.timeoutMs, signal });
  }
}

/**
 * Stop Harbor. A graceful release on a host that keeps its containers stops them through the
 * Engine API (kept for the next takeover here); otherwise, or when that fails, compose down, and
 * when the compose file is damaged or gone, Harbor's containers by name. Data is never deleted.
 */
export async function stopHarbor(runner: Runner, compose: Compose, timeoutMs: number, signal?: AbortSignal, kill = false, keep = false): Promise<void> {
  if (keep && !kill && compose.keepsContainers) {
    try {
      await compose.stopKeeping(timeoutMs, signal);
      return;
    } catch (error) {
      if (signal?.aborted) throw error;
    }
  }
  try {
    await compose.down(signal, kill);
  } catch (error) {
    if (!(error instanceof CommandError) || error.failure !== 'exit') throw error;
    const argv = kill ? ['docker', 'kill', ...HARBOR_CONTAINERS] : ['docker', 'stop', ...HARBOR_CONTAINERS];
    await runner.run({ what: `docker ${kill ? 'kill' : 'stop'} (compose file unusable)`, argv, timeoutMs, signal, okExitCodes: [1] });
  }
}
