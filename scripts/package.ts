// npm run package [-- --version V] [--out DIR]: the .deb and the tarball from one bundle.
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { buildPackages, DEFAULT_OUT_DIR, packageJsonVersion } from './package/build.js';

function commitEpoch(): number {
  try {
    return Number(execFileSync('git', ['log', '-1', '--format=%ct'], { encoding: 'utf8', timeout: 10_000 }).trim()) || Math.floor(Date.now() / 1000);
  } catch {
    return Math.floor(Date.now() / 1000);
  }
}

const { values } = parseArgs({ options: { version: { type: 'string' }, out: { type: 'string' } } });
const started = Date.now();
const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? '') || commitEpoch();
buildPackages({ version: values.version ?? packageJsonVersion(), outDir: values.out ?? DEFAULT_OUT_DIR, sourceDateEpoch: epoch }).then(
  (a) => {
    process.stdout.write(`${a.deb}\n${a.tarball}\n`);
    process.stderr.write(`package ${a.version} (Node.js ${a.runtime}) built in ${Date.now() - started} ms\n`);
  },
  (error: unknown) => {
    process.stderr.write(`package: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
