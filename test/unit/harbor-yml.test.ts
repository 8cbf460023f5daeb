import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseDocument } from 'yaml';
import { patchHarborYml } from '../../src/actions/harbor/installer.js';

const dir = new URL('../fixtures/harbor-yml/', import.meta.url);
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.yml'));

const comments = (text: string) =>
  text.split('\n').flatMap((l) => {
    const i = l.indexOf('#');
    return i >= 0 ? [l.slice(i).trim()] : [];
  });

test('fixtures cover harbor.yml shapes from 2.6 to 2.11', () => {
  assert.deepEqual(fixtures.map((f) => f.split('.').slice(0, 2).join('.')).sort(), ['v2.11', 'v2.6', 'v2.9']);
});

for (const file of fixtures) {
  test(`patching ${file}: hostname and data_volume change, every comment and other field survives`, () => {
    const before = readFileSync(new URL(file, dir), 'utf8');
    const after = patchHarborYml(before, { hostname: '10.0.0.100', dataVolume: '/data/harbor/data' });
    const a = parseDocument(before).toJS() as Record<string, unknown>;
    const b = parseDocument(after).toJS() as Record<string, unknown>;
    assert.equal(b.hostname, '10.0.0.100');
    assert.equal(b.data_volume, '/data/harbor/data');
    assert.deepEqual({ ...b, hostname: a.hostname, data_volume: a.data_volume }, a);
    assert.deepEqual(Object.keys(b), Object.keys(a), 'key order is kept');
    assert.deepEqual(comments(after), comments(before), 'every comment, in order');
    // nothing else moved: the diff is exactly the two lines
    const changed = after.split('\n').filter((l, i) => l !== before.split('\n')[i]);
    assert.equal(changed.length, 2, changed.join('\n'));
    assert.equal(patchHarborYml(after, { hostname: '10.0.0.100', dataVolume: '/data/harbor/data' }), after, 'idempotent');
  });
}

test('a harbor.yml that is not YAML is refused with the parser message', () => {
  assert.throws(() => patchHarborYml('hostname: [unclosed\n', { hostname: 'h', dataVolume: '/d' }), /harbor.yml is not valid YAML/);
});

test('a harbor.yml without the keys gets them appended; a quoted value stays valid YAML', () => {
  const out = patchHarborYml('# mine\nhttp:\n  port: 80\n', { hostname: 'reg.example.com', dataVolume: '/data/harbor/data' });
  assert.equal(out, '# mine\nhttp:\n  port: 80\nhostname: reg.example.com\ndata_volume: /data/harbor/data\n');
  const odd = patchHarborYml('hostname: "x"\ndata_volume: /data\n', { hostname: 'a: b', dataVolume: '/d #x' });
  const parsed = parseDocument(odd).toJS() as Record<string, unknown>;
  assert.deepEqual(parsed, { hostname: 'a: b', data_volume: '/d #x' });
});

test('a compose file is usable only when it parses and has services: a damaged one makes prepare run again', async () => {
  const { isUsableComposeFile } = await import('../../src/actions/harbor/installer.js');
  assert.equal(isUsableComposeFile("version: '2.3'\nservices:\n  registry:\n    image: goharbor/registry-photon:v2.11.0\n"), true);
  assert.equal(isUsableComposeFile('services: [this is not: a compose file\n'), false, 'YAML errors');
  assert.equal(isUsableComposeFile("version: '2.3'\nservices:\n  registry:\n    image: x\n\u0000\u0000\u0000"), false, 'a tail of zero bytes');
  assert.equal(isUsableComposeFile('services: {}\n'), false, 'no services');
  assert.equal(isUsableComposeFile(''), false, 'empty');
  assert.equal(isUsableComposeFile('- a\n- b\n'), false, 'not a mapping');
});
