/** What goes where in the two artifacts; one tree, two prefixes (src/install/layout.ts reads it back). */
export const DEB_PREFIX = '/usr/lib/harbor-assistant';
export const TARBALL_PREFIX = '/opt/harbor-assistant';
export const PACKAGE_NAME = 'harbor-assistant';

/** The three programs and the bundle entry each runs. */
export const PROGRAMS = [
  { name: 'harbor-assistant', entry: 'main' },
  { name: 'harborctl', entry: 'harborctl' },
  { name: 'keepalivedctl', entry: 'keepalivedctl' },
] as const;

export const UNITS = ['harbor-assistant.service', 'harbor-assistant-keepalived.service'] as const;

/**
 * What the package needs on the host at run time, no more. The Node.js runtime's own libraries
 * (from its ELF symbol versions: GLIBC_2.28, GLIBCXX_3.4.21); the outside systems the actions
 * call (ceph-common also brings python3-rados/python3-rbd for the long-lived Ceph session).
 */
export const DEPENDS = [
  'libc6 (>= 2.28)',
  'libstdc++6 (>= 5.2)',
  'libgcc-s1',
  'ceph-common',
  'keepalived',
  'e2fsprogs',
  'mount',
  'iproute2',
  // /bin/kill: the keepalived unit's ExecReload
  'procps',
  'docker.io | docker-ce | docker-engine',
  'docker-compose | docker-compose-plugin | docker-compose-v2',
];
/** The other mappers: krbd needs only ceph-common and the kernel's rbd module. */
export const SUGGESTS = ['rbd-nbd', 'rbd-fuse', 'prometheus'];

/** Debian's version syntax (policy 5.6.12), without an epoch. */
export const DEBIAN_VERSION = /^[0-9][A-Za-z0-9.+~]*(-[A-Za-z0-9.+~]+)?$/;
