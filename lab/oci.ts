import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/**
 * A small, unique OCI image layout (one layer of random bytes) made locally, so pushes need no
 * network beyond the lab. Returns the layout dir and the manifest digest the registry must keep.
 */
export function makeOciImage(dir: string, tag: string, bytes = 64 * 1024): { layout: string; digest: string } {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'halab-layer-'));
  writeFileSync(join(tmp, `payload-${tag}.bin`), randomBytes(bytes));
  // the whole layer passes through memory: room for it (random bytes do not compress) plus headers
  const maxBuffer = bytes + 16 * 1024 * 1024;
  const tar = execFileSync('tar', ['-c', '-C', tmp, '.'], { maxBuffer });
  rmSync(tmp, { recursive: true, force: true });
  const gz = execFileSync('gzip', ['-n', '-c'], { input: tar, maxBuffer });
  const put = (b: Buffer | string) => {
    const d = sha(b);
    writeFileSync(join(blobs, d), b);
    return { digest: `sha256:${d}`, size: Buffer.byteLength(b) };
  };
  const layer = put(gz);
  const config = put(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${sha(tar)}`] }, config: {} }));
  const manifest = put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  );
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  return { layout: dir, digest: manifest.digest };
}

/** The manifest digest of `tag` in an OCI layout (what a pull wrote). */
export function layoutDigest(dir: string, tag: string): string | null {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  return index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)?.digest ?? null;
}
