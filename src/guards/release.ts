import { RELEASE_EXITS, type ReleaseExit } from '../domain/types.js';

/** Several reasons to release can pile up; the one that constrains the node most wins. */
export function strongerExit(current: ReleaseExit, wanted: ReleaseExit): ReleaseExit {
  return RELEASE_EXITS.indexOf(wanted) < RELEASE_EXITS.indexOf(current) ? wanted : current;
}
