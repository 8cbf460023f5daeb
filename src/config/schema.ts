import { FSCK_POLICIES, MAPPER_KINDS } from '../domain/kinds.js';
import { absolutePath, bool, command, commandOrAuto, decimal, httpUrl, int, ipList, listen, oneOf, optionalIp, word, words } from './fields.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
/** Seconds (the Ceph expiries are in seconds, the rest in ms). */
const DAY_S = 24 * 3600;
/** A Gregorian year in seconds: 5 years is 157784760, the expiry ceph-csi's NetworkFence uses. */
const YEAR_S = 365.2425 * DAY_S;
const ms = (def: number, help: string, max = 60 * MINUTE, min = 1) => int(def, min, max, `${help} (ms)`);

/**
 * Everything configurable in the YAML file, with its default. `harbor-assistant.example.yaml`
 * is generated from this (and a test keeps them in step).
 */
export const fileSchema = {
  node: {
    name: word('', /^$|^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a host name (letters, digits, _ . -)', 'this node in logs and status; empty: the host name'),
    stateDir: absolutePath('/var/lib/harbor-assistant', 'keyring, ceph.conf, markers, journal (0700)'),
    runDir: absolutePath('/run/harbor-assistant', 'status file and control socket (0700)'),
    cephAddresses: ipList("this node's Ceph client IPs (its watchers are never fenced); empty: the source address towards the first monitor"),
  },
  ceph: {
    mapper: oneOf('krbd', MAPPER_KINDS, 'krbd (kernel), rbd-nbd, or fuse (no rbd module: rbd-fuse + loop)'),
    exclusiveMap: oneOf('auto', ['auto', 'always', 'never'] as const, 'krbd `-o exclusive`: auto = when the image has exclusive-lock'),
    fuseDir: absolutePath('/run/harbor-assistant/fuse', 'where rbd-fuse exposes the image (fuse mapper)'),
    fuseMonConfig: bool(
      false,
      "rbd-fuse (fuse mapper) also fetches the cluster's central configuration (`ceph config`) for this client before it connects: extra monitor sessions on every map, on the takeover's path. false: --no-mon-config, only the ceph.conf the service writes",
    ),
    blocklistExpirySeconds: int(
      5 * YEAR_S,
      60,
      10 * YEAR_S,
      "how long a fence of a client instance (ip:port/nonce) lasts, in seconds (default 5 years, like ceph-csi NetworkFence); entries are never removed early. An entry names one client instance, so a long expiry never blocks the host's future clients. Must outlast fencing.cooldownMs",
    ),
    commandTimeoutMs: ms(15 * SECOND, 'timeout of rbd status/info and ceph blocklist commands'),
    session: oneOf(
      'auto',
      ['auto', 'off'] as const,
      'auto = one long-lived librados client (/usr/bin/python3 with python3-rados and python3-rbd, which ceph-common brings) for blocklist, lock, owner record and watchers, so a takeover pays no CLI start-up per call; the CLI when they are missing. off = the rbd and ceph CLIs for everything',
    ),
  },
  filesystem: {
    mountPoint: absolutePath(
      '/data/harbor',
      "where the image's filesystem is mounted (Harbor's data_volume); a dedicated directory, not / or a system directory such as /var (/var/lib/harbor is fine); stored normalized (/data//harbor/ is /data/harbor), and only what is mounted from this node's image is ever unmounted",
    ),
    fsck: oneOf(
      'auto',
      FSCK_POLICIES,
      'auto = e2fsck -p when the superblock asks for a check (errors recorded, not cleanly unmounted without a journal, a check due); a journal left by a crash is replayed by mount; force = e2fsck -f -y, never',
    ),
    mountOptions: words(
      ['noatime', 'dirsync'],
      /^[A-Za-z0-9_=.,-]+$/,
      'mount options',
      'ext4 mount options; dirsync: a push Harbor acknowledged is on Ceph (the registry fsyncs every file it writes but not the directories it creates and renames into; PostgreSQL and Redis fsync their own). Adding sync makes every write synchronous: ~7x slower pushes, for applications that never fsync (docs/architecture.md)',
    ),
    synchronousDirs: words(
      ['data/redis'],
      /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/,
      'relative paths under the mount point (parts of letters, digits, _ . -, none starting with . or -; no leading /)',
      "directories on the image whose files are written synchronously (checked with lsattr before each compose up, chattr -R +S when anything lacks it; new files inherit it): for applications that append without fsync. Harbor's Redis (data/redis under the data_volume) left a bad AOF tail after a crash with dirsync alone and refused to start; empty: none",
    ),
    mkfsOptions: words([], /^[A-Za-z0-9_=.,:-]+$/, 'mkfs.ext4 options', 'extra mkfs.ext4 options (first format only)'),
  },
  harbor: {
    composeCommand: commandOrAuto(
      'auto = `docker compose` if present, else `docker-compose`; or a list such as [docker, compose] whose first word is a program name or an absolute path',
    ),
    projectDir: absolutePath('/data/harbor/installer', "directory with Harbor's docker-compose.yml (on the image)"),
    projectName: word('harbor', /^[a-z0-9][a-z0-9_-]{0,62}$/, 'a compose project name (lowercase letters, digits, _ -)', 'compose project name'),
    keepContainers: bool(
      true,
      "a release stops Harbor's containers (restart policy no first, so no daemon restart or reboot starts them here) and keeps them; the next takeover on this host starts them through the Docker Engine API in dependency order when the compose file is unchanged (no docker-compose on that path), else compose up. false: compose up and compose down every time",
    ),
    harborYml: absolutePath(
      '/etc/harbor-assistant/harbor.yml',
      'your own harbor.yml: copied to the installer on the image with hostname and data_volume patched',
    ),
    hostname: word('', /^$|^[A-Za-z0-9.-]{1,253}$/, 'a host name or IP', 'hostname written into harbor.yml; empty: HARBOR_VIP'),
    installerTgz: word(
      '',
      /^$|^\/[^\0\s]*\.tgz$/,
      'an absolute path to a .tgz, or empty',
      'Harbor offline installer unpacked onto the image on first start (no downloads); empty: already there',
    ),
    prepareCommand: command(
      ['./prepare'],
      '[./prepare]',
      "run in harbor.projectDir after harbor.yml changed (Harbor's prepare writes docker-compose.yml); the first word is ./name, a program name or an absolute path",
    ),
    healthUrl: httpUrl('http://127.0.0.1/api/v2.0/health', "Harbor's health endpoint on this node"),
    startupLogServices: words(
      ['postgresql'],
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
      'compose service names',
      "after a takeover, these services' start-up logs go into the journal (PostgreSQL's crash recovery, Harbor's service name postgresql); empty: none",
    ),
    startupLogLines: int(200, 1, 10_000, 'at most this many start-up log lines per service in the journal'),
    failureLogLines: int(
      100,
      0,
      10_000,
      'a release that stops a Harbor which was not healthy first journals this many last lines of each failing container (compose down removes them with the containers); 0: none',
    ),
    failureLogTimeoutMs: ms(5 * SECOND, "reading the failing containers' last lines before compose down, all of them together"),
    probe: {
      intervalMs: ms(2 * SECOND, 'health probe interval'),
      startingIntervalMs: ms(
        25,
        'health probe interval while Harbor starts (compose is up, the takeover waits for healthy; the first probe goes out as compose up returns, and one healthy answer ends the wait): the health lag of a takeover',
      ),
      timeoutMs: ms(1500, 'health probe timeout'),
      rise: int(2, 1, 100, 'healthy probes in a row before reporting healthy (a takeover waiting for Harbor takes the first)'),
      fall: int(3, 1, 100, 'failed probes in a row before reporting down'),
    },
  },
  keepalived: {
    vipPollMs: ms(2 * SECOND, 'how often the VIP on the interface is reconciled with keepalived notifications'),
    instance: word('VI_HARBOR', /^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ -', 'VRRP instance name'),
    virtualRouterId: int(51, 1, 255, 'VRRP virtual router id (the same on both hosts, unique on the network)'),
    priorityMaster: int(150, 1, 254, 'VRRP priority of the host with KEEPALIVED_ROLE=master'),
    priorityBackup: int(100, 1, 254, 'VRRP priority of the host with KEEPALIVED_ROLE=backup'),
    vrrpVersion: int(3, 2, 3, 'VRRP version; 3 allows sub-second advertisements'),
    advertInt: decimal(1, 0.01, 255, 'advertisement interval in seconds (fractions need vrrpVersion 3)'),
    vipPrefix: int(32, 1, 128, 'prefix length of the VIP'),
    unicastSrcIp: optionalIp("unicast VRRP: this host's address (empty: multicast)"),
    unicastPeers: ipList("unicast VRRP: the peer's address (empty: multicast)"),
    checkScript: absolutePath(
      '/usr/lib/harbor-assistant/bin/harbor-assistant-check',
      "track_script: root-owned, not writable by others (script security); the .deb's path, `setup` writes the tarball's",
    ),
    checkIntervalSeconds: int(1, 1, 60, 'track_script interval (whole seconds)'),
    checkFall: int(3, 1, 60, 'failed checks in a row before keepalived goes FAULT'),
    checkRise: int(2, 1, 60, 'good checks in a row before keepalived leaves FAULT'),
    garpRefreshSeconds: int(5, 1, 3600, 'gratuitous ARP refresh while MASTER (clients follow the survivor of a split brain)'),
    fitnessFile: absolutePath('/run/harbor-assistant/fitness', 'track_file: the service writes 0 (fit) or 1 (unfit) here on every change'),
    confPath: absolutePath('/etc/keepalived/harbor-assistant.conf', 'keepalived configuration written by `keepalived render`'),
    fifoPath: absolutePath('/run/harbor-assistant/keepalived.fifo', 'vrrp_notify_fifo (keepalived to harbor-assistant)'),
    restartGraceMs: ms(20 * SECOND, 'while the service restarts, `check` keeps a serving node fit this long'),
    vipLossGraceMs: ms(
      5 * SECOND,
      'serving, VRRP said BACKUP: keep serving this long in case the VIP comes back (a peer resuming from a pause briefly claims MASTER before it finds out it was fenced); then release',
      MINUTE,
    ),
    pidDir: absolutePath('/run/harbor-assistant/keepalived', "keepalived's own pid files (-p -r -c -b)"),
  },
  timeouts: {
    readWorld: ms(20 * SECOND, 'reading VIP, map, mount and compose state'),
    readHolders: ms(15 * SECOND, 'rbd status'),
    fence: ms(20 * SECOND, 'blocklisting the foreign holders'),
    verifyFence: ms(45 * SECOND, 'waiting for fenced watchers to disappear'),
    map: ms(60 * SECOND, 'mapping the image'),
    probeFilesystem: ms(15 * SECOND, 'blkid and the formatted marker'),
    format: ms(10 * MINUTE, 'mkfs.ext4 (first use only)'),
    fsck: ms(30 * MINUTE, 'e2fsck'),
    mount: ms(60 * SECOND, 'mount'),
    composeUp: ms(5 * MINUTE, 'compose up'),
    healthy: ms(5 * MINUTE, 'start-up grace: Harbor healthy after compose up'),
    composeDown: ms(3 * MINUTE, 'compose down'),
    unmount: ms(60 * SECOND, 'umount, killing holders TERM then KILL within it'),
    unmap: ms(60 * SECOND, 'unmapping the image'),
    claim: ms(20 * SECOND, "taking the image's rbd lock and writing the owner record"),
    record: ms(20 * SECOND, "writing the mapper's client address into the owner record after the map"),
    disown: ms(20 * SECOND, 'removing our owner record and lock after a clean unmap'),
  },
  retry: {
    maxAttempts: int(3, 1, 20, 'attempts per step, the first included'),
    backoffBaseMs: ms(1 * SECOND, 'first retry backoff, doubling'),
    backoffMaxMs: ms(30 * SECOND, 'longest retry backoff'),
  },
  failureBudget: int(3, 1, 100, 'failed takeovers in a row before landing in failed'),
  fencing: {
    holderGraceMs: ms(5 * SECOND, 'a holder seen for less than this is not fenced yet'),
    cooldownMs: ms(2 * MINUTE, 'after being fenced, stay out and fence nobody this long'),
    scope: oneOf(
      'client',
      ['client', 'host'] as const,
      "client = blocklist the recorded owner's client instances (ip:port/nonce); host = blocklist its whole host IPs (ip:0/0), every client there, for fencing.hostExpirySeconds",
    ),
    hostExpirySeconds: int(
      3600,
      60,
      7 * DAY_S,
      'how long a whole-host fence (ip:0/0) lasts, in seconds: used with scope host, and when the recorded owner had claimed the image but no client instance of it is known yet; must outlast fencing.cooldownMs',
    ),
  },
  watchdog: {
    intervalMs: ms(1 * SECOND, 'how often a node holding the mount writes through it and reads the ownership record', MINUTE, 100),
    deadlineMs: ms(
      5 * SECOND,
      'an I/O probe or Ceph check that does not answer within this makes the node unfit at once; it releases as a node that lost Ceph',
      5 * MINUTE,
      100,
    ),
  },
  standDownMs: ms(30 * SECOND, 'after handing over, wait this long for keepalived to move the VIP'),
  log: {
    level: oneOf('info', ['error', 'warn', 'info', 'debug'] as const, 'log level'),
  },
  journal: {
    maxBytes: int(16 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024, 'journal.jsonl (in node.stateDir) is rotated at this size (bytes)'),
    keep: int(4, 1, 100, 'rotated journals kept (journal.jsonl.1 is the newest)'),
  },
  metrics: {
    listen: listen('127.0.0.1:9469', 'Prometheus /metrics: IP:port; empty switches it off (no authentication: keep it on loopback or a management network)'),
  },
  viewer: {
    listen: listen('127.0.0.1:9470', 'offline live statechart viewer (read-only, no secrets); empty switches it off; reach it through an SSH tunnel'),
  },
  inspector: {
    enabled: bool(false, 'attach the Stately inspector (also `run --inspect`); it shows the whole machine definition and sanitized context'),
    listen: listen('127.0.0.1:9471', 'the inspector websocket relay; loopback only (it has no authentication)', true),
  },
};
