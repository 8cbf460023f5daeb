import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/index.js';

/** An environment that passes validation: tests change one variable at a time. */
export const goodEnv = {
  HARBOR_VERSION: 'v2.6.2',
  HARBOR_VIP: '10.0.0.100',
  CEPH_MON_HOST: '10.0.0.10,10.0.0.11:6789',
  CEPH_USER: 'harbor',
  CEPH_USER_KEY: 'AQBsSHhjAAAAABAAiXWqnJHl7oKJ3aFfzVVlnw==',
  CEPH_POOL_NAME: 'kubernetes',
  CEPH_IMAGE_NAME: 'harbor_data',
  KEEPALIVED_ROLE: 'master',
  INTERFACE: 'eth0',
};

/** The problems a ConfigError lists; fails the test when `fn` does not throw one. */
export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  assert.fail('expected a ConfigError');
}
