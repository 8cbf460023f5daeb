// Writes the man pages the Debian package ships (packaging gzips them into /usr/share/man/man8):
//   node --import tsx scripts/man-pages.ts OUTDIR VERSION DATE
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { manPage, type ManProgram } from '../src/cli/help.js';

const PROGRAMS: readonly ManProgram[] = ['harbor-assistant', 'harborctl', 'keepalivedctl'];

const [outDir, version, date] = process.argv.slice(2);
if (outDir === undefined || version === undefined || date === undefined || outDir === '' || version === '' || date === '') {
  process.stderr.write('usage: node --import tsx scripts/man-pages.ts OUTDIR VERSION DATE\n');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
for (const program of PROGRAMS) {
  const path = join(outDir, `${program}.8`);
  writeFileSync(path, manPage(program, version, date), { mode: 0o644 });
  process.stdout.write(`${path}\n`);
}
