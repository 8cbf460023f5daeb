import { CommandError } from '../exec.js';
import type { CephConnection } from './connection.js';

/**
 * Sort a Ceph call's failure for the operator. The rbd CLI and the session word these alike
 * (ceph-session.py keeps the CLI's text): a refused key and a missing pool or image are the
 * configuration's, and no retry fixes them; anything else is left transient.
 */
export function classifyCephFailure(error: unknown, conn: CephConnection): unknown {
  if (!(error instanceof CommandError) || error.failure !== 'exit') return error;
  const said = error.stderr;
  if (error.exitCode === 13 || /\(13\) Permission denied|handle_auth_bad_method|unable to find a keyring/.test(said)) {
    return error.explain(
      `Ceph refused client.${conn.user}: check CEPH_USER and CEPH_USER_KEY in the .env file and the user's caps (ceph auth get client.${conn.user})`,
      'misconfigured',
    );
  }
  if (/error opening pool|error opening image/.test(said) && /\(2\) No such file or directory/.test(said)) {
    return error.explain(
      `the image ${conn.pool}/${conn.image} does not exist: check CEPH_POOL_NAME and CEPH_IMAGE_NAME, or create it (rbd create --size … ${conn.pool}/${conn.image})`,
      'misconfigured',
    );
  }
  return error;
}
