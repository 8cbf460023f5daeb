import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './control.js';
import { layoutDigest, makeOciImage } from './oci.js';
import { LAB, REGISTRY_AT } from './topology.js';

/** A client's POST of a Harbor project through the VIP, from the client namespace (curl prints the HTTP code). */
export function createProjectArgv(name: string): string[] {
  return [
    'nsenter',
    `--net=/run/netns/${LAB.prefix}-client`,
    '--',
    'curl',
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--max-time',
    '5',
    '-H',
    'Content-Type: application/json',
    '--data-binary',
    JSON.stringify({ project_name: name }),
    `http://${LAB.vip}/api/v2.0/projects`,
  ];
}

/** The row is committed only when Harbor answered 201. */
export const createProjectCommitted = (exitCode: number | null, stdout: string): boolean => exitCode === 0 && stdout.trim() === '201';

/** Clients of the registry through the VIP (skopeo in the client namespace): the images pushed, pulled back, waited for. */
export class RegistryClient {
  private imageSeq = 0;
  readonly pushed: Array<{ ref: string; digest: string }> = [];

  private skopeo(args: string[], timeoutMs = 30_000): { ok: boolean; out: string } {
    const r = spawnSync('nsenter', [`--net=/run/netns/${LAB.prefix}-client`, '--', 'skopeo', '--policy', join(LAB.root, 'policy.json'), ...args], {
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
  }

  /** Push a fresh image through the VIP; recorded only when the registry acknowledged it. */
  push(): { ok: boolean; ref: string; out: string } {
    const tag = `t${++this.imageSeq}`;
    const dir = join(LAB.root, 'images', tag);
    const { digest } = makeOciImage(dir, tag);
    const ref = `${REGISTRY_AT}/lab/app:${tag}`;
    const r = this.skopeo(['copy', '--retry-times', '0', '--dest-tls-verify=false', `oci:${dir}:${tag}`, `docker://${ref}`]);
    if (r.ok) this.pushed.push({ ref, digest });
    return { ok: r.ok, ref, out: r.out };
  }

  /**
   * Push one image of `mb` MiB (one incompressible layer) through the VIP: seconds and MB/s, or
   * null when the registry did not acknowledge it. The image is not added to `pushed`.
   */
  pushLarge(mb: number): { seconds: number; mbPerSecond: number } | null {
    const tag = `big${++this.imageSeq}`;
    const dir = join(LAB.root, 'images', tag);
    makeOciImage(dir, tag, mb * 1024 * 1024);
    const t0 = process.hrtime.bigint();
    const r = this.skopeo(['copy', '--retry-times', '0', '--dest-tls-verify=false', `oci:${dir}:${tag}`, `docker://${REGISTRY_AT}/lab/big:${tag}`], 600_000);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rmSync(dir, { recursive: true, force: true });
    if (!r.ok) throw new Error(`push of ${mb} MiB failed: ${r.out.slice(-400)}`);
    return { seconds: Math.round(seconds * 100) / 100, mbPerSecond: Math.round((mb / seconds) * 10) / 10 };
  }

  /** What the last pull said (skopeo's output), for `pullAttempts`. */
  private lastPullOutput = '';

  /** Pull through the VIP; the manifest digest it got, or null. */
  pull(ref: string): string | null {
    const tag = ref.split(':').pop() ?? 'x';
    const dir = join(LAB.root, 'pulled', `${tag}-${Date.now()}`);
    mkdirSync(join(LAB.root, 'pulled'), { recursive: true });
    const r = this.skopeo(['copy', '--retry-times', '0', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}:${tag}`]);
    this.lastPullOutput = r.out;
    const digest = r.ok ? layoutDigest(dir, tag) : null;
    rmSync(dir, { recursive: true, force: true });
    return digest;
  }

  /** Pull every acknowledged image back; the refs that are missing or changed. */
  lostImages(): string[] {
    return this.pushed.filter((p) => this.pull(p.ref) !== p.digest).map((p) => p.ref);
  }

  /** The pull attempts of the last `waitPullable`: how long each took and what it said. */
  pullAttempts: Array<{ ms: number; ok: boolean; out: string }> = [];

  /** Poll pulls of a known image until one succeeds: the recovery time seen by a client. */
  async waitPullable(timeoutMs: number): Promise<number> {
    const probe = this.pushed[0];
    if (!probe) throw new Error('nothing pushed yet');
    this.pullAttempts = [];
    return waitFor(
      'a pull through the VIP',
      () => {
        const t = Date.now();
        const digest = this.pull(probe.ref);
        const ok = digest === probe.digest;
        this.pullAttempts.push({ ms: Date.now() - t, ok, out: ok ? '' : this.lastPullOutput.slice(-160) });
        return ok;
      },
      timeoutMs,
    );
  }
}

/** POST a project through the VIP (nginx, core, PostgreSQL): true only when Harbor answered 201, i.e. the row is committed. */
export function createProject(name: string): boolean {
  const [cmd = '', ...args] = createProjectArgv(name);
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return createProjectCommitted(r.status, r.stdout);
}

/** Every project name Harbor has, read through the VIP. */
export function projectNames(): string[] {
  const r = spawnSync(
    'nsenter',
    [`--net=/run/netns/${LAB.prefix}-client`, '--', 'curl', '-sS', '-f', '--max-time', '10', `http://${LAB.vip}/api/v2.0/projects`],
    {
      encoding: 'utf8',
      timeout: 15_000,
    },
  );
  if (r.status !== 0) throw new Error(`GET /api/v2.0/projects through the VIP: ${r.stderr.trim() || `exit ${String(r.status)}`}`);
  return (JSON.parse(r.stdout) as Array<{ name: string }>).map((p) => p.name);
}
