import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rememberLast } from '../../src/actions/remember-last.js';

test('rememberLast: the same text is not parsed again, a new one is, and a throw is not remembered', () => {
  const parsed: string[] = [];
  const parse = rememberLast((text) => {
    parsed.push(text);
    if (text === 'bad') throw new Error('not YAML');
    return { length: text.length };
  });
  const first = parse('services: {}');
  assert.equal(parse('services: {}'), first);
  assert.deepEqual(parse('services: {a: 1}'), { length: 16 });
  assert.throws(() => parse('bad'), /not YAML/);
  assert.throws(() => parse('bad'), /not YAML/);
  assert.deepEqual(parsed, ['services: {}', 'services: {a: 1}', 'bad', 'bad']);
});
