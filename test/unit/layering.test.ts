import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve(import.meta.dirname, '../../src');

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourcesUnder(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every relative import of a source file, as a path below src (`machine/types.ts`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) =>
    relative(SRC, resolve(dirname(file), (m[1] ?? '').replace(/\.js$/, '.ts'))),
  );
}

function offenders(layer: string, forbidden: RegExp): string[] {
  return sourcesUnder(join(SRC, layer)).flatMap((f) =>
    importsOf(f)
      .filter((i) => forbidden.test(i))
      .map((i) => `${relative(SRC, f)} imports ${i}`),
  );
}

test('nothing below the machine imports it: guards and actions see the domain types, not the chart', () => {
  assert.deepEqual(offenders('guards', /^machine\//), []);
  assert.deepEqual(offenders('actions', /^machine\//), []);
});

test('actions reach no runtime, CLI or install code: they are what the runtime assembles', () => {
  assert.deepEqual(offenders('actions', /^(runtime|cli|install|observe)\//), []);
});

test('the domain module stands alone', () => {
  assert.deepEqual(offenders('domain', /^(?!domain\/)/), []);
});

test('the check finds an offending import (it reads the files it claims to)', () => {
  assert.ok(importsOf(join(SRC, 'machine/context.ts')).some((i) => i.startsWith('domain/')));
});
