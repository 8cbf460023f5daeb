// One source for `VERB --help`, `help VERB`, the overview and the man pages: the three cannot drift
// apart. Kept free of imports so that printing help loads nothing else.

/** A flag (with its argument, if any) and what it does. */
export interface HelpOption {
  readonly flag: string;
  readonly text: string;
}

/** An exit code and when the command returns it. */
export interface HelpExit {
  readonly code: number;
  readonly meaning: string;
}

/** A file the command reads or writes (the defaults; the configuration can move most of them). */
export interface HelpFile {
  readonly path: string;
  readonly text: string;
}

export interface VerbHelp {
  readonly name: Verb;
  /** One line for NAME and for the overview. */
  readonly summary: string;
  /** Each a complete command line; UPPERCASE words are placeholders. */
  readonly synopsis: readonly string[];
  /** Paragraphs; `backticks` mark commands, paths and fields. */
  readonly description: readonly string[];
  readonly options: readonly HelpOption[];
  readonly exitStatus: readonly HelpExit[];
  readonly files: readonly HelpFile[];
  /** `name(section)` for man pages, or a `harbor-assistant VERB` command. */
  readonly seeAlso: readonly string[];
}

/** Every verb, in the order the manual lists them. */
export const VERBS = [
  'setup',
  'run',
  'status',
  'check',
  'switchover',
  'maintenance',
  'resume',
  'stop',
  'events',
  'doctor',
  'validate-config',
  'keepalived',
  'harbor',
  'chart',
  'help',
  'version',
] as const;

export type Verb = (typeof VERBS)[number];

export function isVerb(word: string): word is Verb {
  return (VERBS as readonly string[]).includes(word);
}

const ENV_FILE = '/etc/harbor-assistant/.env';
const CONFIG_FILE = '/etc/harbor-assistant/harbor-assistant.yaml';
const CONTROL_SOCKET = '/run/harbor-assistant/control.sock';
const STATUS_FILE = '/run/harbor-assistant/status.json';
const JOURNAL = '/var/lib/harbor-assistant/journal.jsonl';
const KEEPALIVED_CONF = '/etc/keepalived/harbor-assistant.conf';

const CONFIG_OPTION: HelpOption = { flag: '--config PATH', text: `the YAML configuration (default ${CONFIG_FILE}); a path given here must exist` };
const ENV_OPTION: HelpOption = {
  flag: '--env PATH',
  text: `the environment file with the original's variables (default ${ENV_FILE}); variables set in the process's environment win over it`,
};
const HELP_OPTION: HelpOption = { flag: '-h, --help', text: 'print this help and exit 0' };
const CONFIG_OPTIONS: readonly HelpOption[] = [CONFIG_OPTION, ENV_OPTION, HELP_OPTION];

const FILE_ENV: HelpFile = {
  path: ENV_FILE,
  text: 'HARBOR_VIP, CEPH_MON_HOST, CEPH_USER, CEPH_USER_KEY and the rest of the environment (mode 0600: it holds the key)',
};
const FILE_CONFIG: HelpFile = { path: CONFIG_FILE, text: 'everything else: timeouts, retries, fencing, mapper, fsck policy, mount point, Harbor, keepalived' };
const FILE_SOCKET: HelpFile = { path: CONTROL_SOCKET, text: "the service's control socket (root only; under `node.runDir`)" };
const FILE_STATUS: HelpFile = { path: STATUS_FILE, text: 'the last status the service wrote (under `node.runDir`)' };
const FILE_JOURNAL: HelpFile = { path: JOURNAL, text: "the service's journal, JSON lines, rotated by size (under `node.stateDir`)" };
const FILE_KEEPALIVED: HelpFile = { path: KEEPALIVED_CONF, text: "keepalived's configuration for this node (`keepalived.confPath`)" };
const FILE_MARKERS: HelpFile = {
  path: '/var/lib/harbor-assistant/maintenance, /var/lib/harbor-assistant/failed',
  text: 'the markers that keep `maintenance` and `failed` across restarts',
};

const INVALID_CONFIG = 'the configuration is invalid (every bad field is named on standard error), or another error';
const ASKS_SERVICE = [
  {
    code: 0,
    meaning: 'the service accepted the request; it acts on it in its own time (follow it with `harbor-assistant events`)',
  },
  { code: 1, meaning: `the service refused the request, or ${INVALID_CONFIG}` },
  { code: 3, meaning: `the service does not answer on ${CONTROL_SOCKET} (is it running?)` },
] as const satisfies readonly HelpExit[];

const VERB_HELP: Readonly<Record<Verb, VerbHelp>> = {
  setup: {
    name: 'setup',
    summary: "write and check this node's configuration, enable and start the units",
    synopsis: [
      'harbor-assistant setup [--from ENVFILE] [--vip IP] [--mon-host HOSTS] [--ceph-user NAME] [--ceph-key-file PATH|-] [--pool NAME] [--image NAME] [--role master|backup] [--interface IF] [--harbor-version V] [--harbor-installer TGZ | --harbor-yml PATH] [--no-start] [--config PATH] [--env PATH]',
    ],
    description: [
      `Turns the answers (the flags, or an environment file with the original's variable names given with \`--from\`) into this node's validated configuration: \`${ENV_FILE}\` (mode 0600) and \`${CONFIG_FILE}\`. Bad answers are refused before anything is written, each naming the field and what is allowed.`,
      'The Ceph key is never taken on the command line, where other users and the shell history would see it: it comes from a file, or from standard input with `--ceph-key-file -`.',
      "Setup then renders keepalived's configuration and checks it with `keepalived -t`, places the systemd units and the command links when harbor-assistant was installed from the tarball (the Debian package has them in place already), enables the units and starts them, unless `--no-start` is given or something blocks a takeover on this node. Last it runs `harbor-assistant doctor` and prints what still blocks a takeover, with the fix for each.",
      'Each answer comes from its flag, else from the `--from` file, else from the environment file already there, so running it again changes only what is given anew, and with the same answers nothing at all.',
    ],
    options: [
      {
        flag: '--from ENVFILE',
        text: 'read the answers from an environment file with the variables HARBOR_VIP, CEPH_MON_HOST, CEPH_USER, CEPH_USER_KEY, CEPH_POOL_NAME, CEPH_IMAGE_NAME, KEEPALIVED_ROLE, INTERFACE and HARBOR_VERSION (and HARBOR_INSTALLER, HARBOR_YML for the two paths); a flag given as well wins',
      },
      { flag: '--vip IP', text: 'the virtual IP keepalived moves between the two hosts (HARBOR_VIP)' },
      { flag: '--mon-host HOSTS', text: 'the Ceph monitors, comma separated host[:port] (CEPH_MON_HOST)' },
      { flag: '--ceph-user NAME', text: 'the cephx user, without the `client.` prefix (CEPH_USER)' },
      {
        flag: '--ceph-key-file PATH|-',
        text: "a file holding the user's key, bare (`ceph auth get-key`) or in the keyring `ceph auth get client.NAME` prints; - reads it from standard input (CEPH_USER_KEY). `--ceph-key` is refused, saying why",
      },
      { flag: '--pool NAME', text: 'the RBD pool (CEPH_POOL_NAME)' },
      { flag: '--image NAME', text: "the RBD image holding Harbor's data (CEPH_IMAGE_NAME)" },
      { flag: '--role master|backup', text: 'master on the preferred host, backup on the other (KEEPALIVED_ROLE)' },
      { flag: '--interface IF', text: 'the network interface that carries the VIP (INTERFACE)' },
      { flag: '--harbor-version V', text: 'the Harbor release, any 2.x (HARBOR_VERSION)' },
      { flag: '--harbor-installer TGZ', text: "Harbor's offline installer, unpacked onto the image on the first start (`harbor.installerTgz`)" },
      { flag: '--harbor-yml PATH', text: 'your own harbor.yml; hostname and data_volume are set per node (`harbor.harborYml`)' },
      { flag: '--no-start', text: 'configure and enable the units, but do not start them' },
      { flag: '--config PATH', text: `where to write the YAML configuration (default ${CONFIG_FILE})` },
      { flag: '--env PATH', text: `where to write the environment file (default ${ENV_FILE})` },
      HELP_OPTION,
    ],
    exitStatus: [
      { code: 0, meaning: 'configured, and nothing blocks a takeover on this node' },
      { code: 1, meaning: 'an unexpected error' },
      { code: 2, meaning: 'bad answers, each named on standard error; nothing was written' },
      { code: 3, meaning: 'configured, but doctor reports something that blocks a takeover (printed with its fix)' },
    ],
    files: [FILE_ENV, FILE_CONFIG, FILE_KEEPALIVED],
    seeAlso: ['harbor-assistant doctor', 'harbor-assistant validate-config', 'harbor-assistant keepalived', 'systemctl(1)'],
  },
  run: {
    name: 'run',
    summary: 'run the node statechart as a service (systemd runs this)',
    synopsis: ['harbor-assistant run [--inspect] [--config PATH] [--env PATH]'],
    description: [
      "Validates the configuration, then runs this node's statechart until it is told to stop. It follows keepalived's VRRP state; as MASTER it fences the recorded owner of the image and any foreign watcher, takes the image's lock and writes the owner record, maps the image, checks and mounts its filesystem and starts Harbor; it watches Harbor's health, and gives everything back in the reverse order when the node loses the VIP, is switched over or put in maintenance. The other commands talk to it over a root-only control socket.",
      'SIGTERM and SIGINT detach: Harbor, the mount and the map stay, and the next start takes up what it finds. `harbor-assistant stop --release` hands everything back before the service exits.',
      "The service writes its status and journal, serves Prometheus metrics on 127.0.0.1:9469 and the offline statechart viewer on 127.0.0.1:9470 (`metrics.listen`, `viewer.listen`). It wants node's flags --max-semi-space-size=1 --no-opt on node's command line (the systemd unit gives them); without them it logs a warning and uses more memory.",
    ],
    options: [
      {
        flag: '--inspect',
        text: 'attach the Stately inspector through a websocket relay on loopback (`inspector.listen`, 127.0.0.1:9471); the same as `inspector.enabled: true`',
      },
      ...CONFIG_OPTIONS,
    ],
    exitStatus: [
      { code: 0, meaning: 'the service stopped (SIGTERM, SIGINT or `harbor-assistant stop`)' },
      { code: 1, meaning: `${INVALID_CONFIG} that kept the service from starting` },
    ],
    files: [FILE_ENV, FILE_CONFIG, FILE_SOCKET, FILE_STATUS, FILE_JOURNAL, FILE_MARKERS],
    seeAlso: ['harbor-assistant status', 'harbor-assistant events', 'harbor-assistant stop', 'systemctl(1)'],
  },
  status: {
    name: 'status',
    summary: 'what this node is doing, since when and why',
    synopsis: ['harbor-assistant status [--json] [--config PATH] [--env PATH]'],
    description: [
      "Asks the running service and prints its state and since when, why, the last error, keepalived's VRRP state, Harbor's health and components, what this node holds (device, mount, Harbor), who owns the image in Ceph (the owner record's node and generation, the lock), the image's watchers, failures in a row, whether keepalived's check finds the node fit, the last takeover and release with their durations, commands given up on as stuck, its endpoints and the recent transitions.",
      `When the service does not answer, prints the last status it wrote (\`${STATUS_FILE}\`), saying so on standard error.`,
    ],
    options: [{ flag: '--json', text: 'print the status as one JSON object (the one the service keeps in the status file)' }, ...CONFIG_OPTIONS],
    exitStatus: [
      { code: 0, meaning: 'the status was printed: the live one, or the last one the service wrote' },
      { code: 1, meaning: INVALID_CONFIG },
      { code: 3, meaning: 'the service does not answer and has left no status file' },
    ],
    files: [FILE_SOCKET, FILE_STATUS],
    seeAlso: ['harbor-assistant events', 'harbor-assistant doctor'],
  },
  check: {
    name: 'check',
    summary: 'exit 0 only when this node is fit to hold the VIP, with the reason',
    synopsis: ['harbor-assistant check [--config PATH] [--env PATH]', 'harbor-assistant check --socket PATH --status-file PATH --grace MS'],
    description: [
      'Asks the service whether this node should hold the VIP and prints `fit` or `unfit` with the reason: the verdict keepalived acts on, for operators and monitoring. An unfit node goes FAULT and gives the VIP up.',
      "keepalived itself does not start this program: the service writes its fitness into the track file (`keepalived.fitnessFile`) the moment it changes, and keepalived's track_script (`keepalived.checkScript`, a shell script using built-ins only) runs every `keepalived.checkIntervalSeconds` to see the service's heartbeat, touched every 500 ms beside the track file (`<fitnessFile>.heartbeat`). After `keepalived.checkFall` runs without a new heartbeat the node goes FAULT.",
      'With the paths given (the second form), the check reads no configuration and loads nothing but the socket client. It gives up on a silent service after 2 seconds.',
      'When the service does not answer (it is being restarted), a node that was serving, or a standby that was ready, stays fit for `keepalived.restartGraceMs` after the service detached; otherwise the node is unfit. The track_script follows the same rule: a service that detaches fit leaves the epoch second its grace ends in `<fitnessFile>.grace`.',
    ],
    options: [
      { flag: '--socket PATH', text: "the service's control socket (with --status-file and --grace: no configuration is read)" },
      { flag: '--status-file PATH', text: 'the status file the service writes, read when the service does not answer' },
      { flag: '--grace MS', text: 'how long, in milliseconds after the service detached, a serving node or a ready standby stays fit' },
      ...CONFIG_OPTIONS,
    ],
    exitStatus: [
      { code: 0, meaning: 'fit' },
      { code: 1, meaning: 'unfit, the service is not running, or the configuration is invalid' },
    ],
    files: [FILE_SOCKET, FILE_STATUS, FILE_KEEPALIVED],
    seeAlso: ['harbor-assistant status', 'harbor-assistant keepalived', 'keepalived.conf(5)'],
  },
  switchover: {
    name: 'switchover',
    summary: 'hand Harbor over to the peer gracefully (no fencing)',
    synopsis: ['harbor-assistant switchover [--config PATH] [--env PATH]'],
    description: [
      "Tells the service on this node to release: compose down, unmount, unmap, remove its owner record and the image's lock. It then stands down, telling keepalived it is unfit, so the VIP moves to the peer, which takes over without fencing anything. Run it on the serving node, for instance before patching it.",
      'Only a node that holds the image acts on it. The command returns as soon as the service has accepted it; follow the hand-over with `harbor-assistant events` on both nodes.',
    ],
    options: CONFIG_OPTIONS,
    exitStatus: ASKS_SERVICE,
    files: [FILE_SOCKET],
    seeAlso: ['harbor-assistant maintenance', 'harbor-assistant events', 'harbor-assistant status'],
  },
  maintenance: {
    name: 'maintenance',
    summary: 'hold this node out of service (hands over first if serving)',
    synopsis: ['harbor-assistant maintenance on|off [--config PATH] [--env PATH]'],
    description: [
      '`on`: a node that holds the image first releases it, as for a switchover; the node then stays in maintenance, unfit for the VIP, touching nothing. The hold is a marker file in the state directory, so it lasts across restarts of the service and of the host.',
      '`off`: clears the marker; the node reads the world again and becomes a standby.',
    ],
    options: CONFIG_OPTIONS,
    exitStatus: [ASKS_SERVICE[0], { code: 1, meaning: `neither on nor off was given, the service refused the request, or ${INVALID_CONFIG}` }, ASKS_SERVICE[2]],
    files: [FILE_SOCKET, FILE_MARKERS],
    seeAlso: ['harbor-assistant switchover', 'harbor-assistant status'],
  },
  resume: {
    name: 'resume',
    summary: 'clear failed or fenced after fixing the cause; the node re-reads the world',
    synopsis: ['harbor-assistant resume [--config PATH] [--env PATH]'],
    description: [
      'Ends `failed` (the failure budget used up, or a release that failed), and ends the cool-down of `fenced` or `yielding` early. It clears the failed marker and the count of failures; the node reads the world again (what is mapped, mounted and running here, and what Ceph records) and goes on from there, releasing what a failed release left behind.',
      'Fix the cause first: `harbor-assistant status` shows why the node failed and the last error, and `harbor-assistant doctor` checks the host.',
    ],
    options: CONFIG_OPTIONS,
    exitStatus: ASKS_SERVICE,
    files: [FILE_SOCKET, FILE_MARKERS],
    seeAlso: ['harbor-assistant status', 'harbor-assistant doctor', 'harbor-assistant events'],
  },
  stop: {
    name: 'stop',
    summary: 'stop the service; --release hands everything over first',
    synopsis: ['harbor-assistant stop [--release] [--config PATH] [--env PATH]'],
    description: [
      "Stops the service. Without `--release` it detaches, as on SIGTERM: Harbor, the mount and the map stay where they are, keepalived's check keeps a serving node fit for `keepalived.restartGraceMs`, and the next start takes up what it finds.",
      'With `--release` the node first hands everything back (compose down, unmount, unmap, owner record and lock removed), then the service exits; keepalived then finds the node unfit and the peer takes over. Start it again with `systemctl start harbor-assistant`.',
    ],
    options: [{ flag: '--release', text: 'release the image and stop Harbor before the service exits' }, ...CONFIG_OPTIONS],
    exitStatus: ASKS_SERVICE,
    files: [FILE_SOCKET],
    seeAlso: ['harbor-assistant switchover', 'harbor-assistant maintenance', 'systemctl(1)'],
  },
  events: {
    name: 'events',
    summary: 'the journal: the last entries, then follow it live',
    synopsis: ['harbor-assistant events [--lines N] [--once] [--json] [--brief] [--config PATH] [--env PATH]'],
    description: [
      "Prints the last entries of the service's journal, then every new one as it is written, across rotations, until interrupted. The journal holds the transitions, operator commands, outside commands with their duration and result, takeover and release summaries with the time of each phase, the start-up log of Harbor's database after a takeover, and the last lines of failing Harbor containers, read before compose down deletes them.",
      'It reads the file, so it works while the service is down too.',
    ],
    options: [
      { flag: '--lines N', text: 'how many entries to show before following (default 20)' },
      { flag: '--once', text: 'print them and exit instead of following' },
      { flag: '--json', text: 'one JSON object a line, as stored' },
      { flag: '--brief', text: 'leave out outside commands that succeeded (the watchdog and pollers run several a second)' },
      ...CONFIG_OPTIONS,
    ],
    exitStatus: [
      { code: 0, meaning: 'printed (when following: interrupted)' },
      { code: 1, meaning: `--lines is not a whole number, or ${INVALID_CONFIG}` },
      { code: 3, meaning: 'with --once: there is no journal yet' },
    ],
    files: [FILE_JOURNAL],
    seeAlso: ['harbor-assistant status', 'journalctl(1)'],
  },
  doctor: {
    name: 'doctor',
    summary: 'check this host for everything a takeover needs, with fixes',
    synopsis: ['harbor-assistant doctor [--json] [--config PATH] [--env PATH]'],
    description: [
      "The troubleshooting list, automated: one line for each check, `ok`, `warn` or `FAIL`, with the fix for each problem. It checks the kernel version; with the krbd mapper the rbd kernel module and that the kernel keyring can be reached (no seccomp filter); ceph-common's `rbd` and `ceph`, and `rbd-nbd` or `rbd-fuse` for those mappers; the keyring's mode; the long-lived Ceph session (python3-rados, python3-rbd); that the Ceph user can read the image's status and list the OSD blocklist, telling unreachable monitors, a refused key and missing caps apart; that nothing foreign is mounted at the mount point; Docker's daemon and the compose command; an e2fsck that knows metadata_csum; keepalived, its configuration (`keepalived -t`) and the check script's owner and mode; and whether the metrics and viewer endpoints can be reached from the network without authentication.",
      'The checks run at once and each outside command gets at most 5 seconds, so a silent monitor does not hold the report up. Doctor writes the keyring and ceph.conf into the state directory first (the Ceph checks use them) and changes nothing else.',
    ],
    options: [{ flag: '--json', text: 'the findings as a JSON array of {check, verdict, detail, fix}' }, ...CONFIG_OPTIONS],
    exitStatus: [
      { code: 0, meaning: 'nothing blocks a takeover on this node (warnings may remain)' },
      { code: 1, meaning: `at least one FAIL blocks a takeover, or ${INVALID_CONFIG}` },
    ],
    files: [
      FILE_ENV,
      FILE_CONFIG,
      FILE_KEEPALIVED,
      { path: '/var/lib/harbor-assistant/ceph.conf', text: 'written for the Ceph checks, with the keyring beside it (mode 0600)' },
    ],
    seeAlso: ['harbor-assistant setup', 'harbor-assistant validate-config', 'rbd(8)', 'ceph(8)'],
  },
  'validate-config': {
    name: 'validate-config',
    summary: 'check the environment and the YAML file; print every problem',
    synopsis: ['harbor-assistant validate-config [--config PATH] [--env PATH]', 'harbor-assistant validate-config --example'],
    description: [
      'Reads the environment file and the YAML file and checks every field, as every other command does before it runs. Prints one line summing the configuration up (node, role, image, mapper, VIP and interface), or every problem, each naming the field and what is allowed.',
      "A missing file at its default path is not an error: the environment then comes from the process's environment alone, and every YAML field takes its default. A path given with `--config` or `--env` must exist.",
    ],
    options: [{ flag: '--example', text: 'print the documented example configuration: every field with its default and meaning' }, ...CONFIG_OPTIONS],
    exitStatus: [
      { code: 0, meaning: 'the configuration is valid (or the example was printed)' },
      { code: 1, meaning: 'the configuration is invalid: every problem is named on standard error' },
    ],
    files: [FILE_ENV, FILE_CONFIG],
    seeAlso: ['harbor-assistant setup', 'harbor-assistant doctor'],
  },
  keepalived: {
    name: 'keepalived',
    summary: "keepalived's configuration for this role, and keepalived by hand",
    synopsis: [
      'harbor-assistant keepalived render [--stdout] [--config PATH] [--env PATH]',
      'harbor-assistant keepalived start|stop|status [--config PATH] [--env PATH]',
      'keepalivedctl start|stop|status [--config PATH] [--env PATH]',
    ],
    description: [
      "`render` writes keepalived's configuration for this node's role to `keepalived.confPath`: one VRRP instance with the VIP on INTERFACE, the priority of KEEPALIVED_ROLE, both hosts BACKUP with nopreempt (a host that comes back never takes the VIP back by itself), the track_script (the check script over the service's heartbeat file), the track file and the notify fifo the service reads. It refuses when keepalived's script security would silently disable the check script (it must be root's, not writable by others, in directories that are root's and not writable by others). It writes `<confPath>.new` first and puts it in place only when `keepalived -t` accepts it.",
      '`start` starts keepalived on that configuration, with pid files of its own in `keepalived.pidDir`; `stop` stops the keepalived running that configuration (and no other), waiting up to 10 seconds; `status` says whether it runs and whether the VIP is on INTERFACE. Without a verb, `status`. Normally systemd runs keepalived (harbor-assistant-keepalived.service); these are for an operator working by hand.',
      '`keepalivedctl VERB` is the same as `harbor-assistant keepalived VERB` (`render` too).',
    ],
    options: [{ flag: '--stdout', text: 'render: print the configuration instead of writing and checking it' }, ...CONFIG_OPTIONS],
    exitStatus: [
      {
        code: 0,
        meaning: 'done: rendered and accepted by keepalived -t; started, or already running; stopped, or not running; status: running',
      },
      {
        code: 1,
        meaning: `render refused (script security) or rejected by keepalived -t; start without a rendered configuration; stop: keepalived did not stop within 10 seconds; or ${INVALID_CONFIG}`,
      },
      { code: 2, meaning: 'an unknown verb' },
      { code: 3, meaning: 'status: keepalived is not running' },
    ],
    files: [FILE_KEEPALIVED, { path: '/run/harbor-assistant/keepalived/', text: "keepalived's pid files (`keepalived.pidDir`)" }, FILE_ENV, FILE_CONFIG],
    seeAlso: ['harbor-assistant check', 'keepalivedctl(8)', 'keepalived(8)', 'keepalived.conf(5)'],
  },
  harbor: {
    name: 'harbor',
    summary: 'Harbor by hand: start refuses unless this node owns the mounted image',
    synopsis: ['harbor-assistant harbor start|stop|status [--config PATH] [--env PATH]', 'harborctl start|stop|status [--config PATH] [--env PATH]'],
    description: [
      "`start` runs compose up in `harbor.projectDir`, but only when this node's mapped image is mounted at the mount point and the owner record in Ceph names this node: Harbor writes to the image, and it must never run on two hosts at once. Otherwise it refuses and says why. When Harbor is not installed on the image yet it is unpacked from `harbor.installerTgz` and prepared first.",
      "`stop` runs compose down (never removing volumes: the data stays). `status` says whether Harbor's containers run and what its health API says, component by component. Without a verb, `status`. The service starts and stops Harbor itself; these are for an operator working by hand, with the service stopped or the node in maintenance.",
      '`harborctl VERB` is the same as `harbor-assistant harbor VERB`.',
    ],
    options: CONFIG_OPTIONS,
    exitStatus: [
      { code: 0, meaning: "done: started; stopped; status: the containers run and Harbor's health is not down" },
      { code: 1, meaning: `start refused (nothing mounted, not this node's image, or the owner record names another node), or ${INVALID_CONFIG}` },
      { code: 2, meaning: 'an unknown verb' },
      { code: 3, meaning: "status: the containers are not running, or Harbor's health is down" },
    ],
    files: [
      FILE_ENV,
      FILE_CONFIG,
      {
        path: '/etc/harbor-assistant/harbor.yml',
        text: 'your harbor.yml, copied to the installer on the image with hostname and data_volume set (`harbor.harborYml`)',
      },
    ],
    seeAlso: ['harbor-assistant status', 'harborctl(8)', 'docker-compose(1)'],
  },
  chart: {
    name: 'chart',
    summary: 'the statechart, read from the machine',
    synopsis: ['harbor-assistant chart [--format json|mermaid|markdown|svg] [--expand-steps]'],
    description: [
      "Prints the node statechart read from the machine itself, so it is always the running code's: `json` every state node with its transitions (the default); `mermaid` a Mermaid `stateDiagram-v2`; `markdown` the page docs/statechart.md is generated as; `svg` a drawing laid out with ELK, each step's retry loop folded into its box. Reads no configuration.",
    ],
    options: [
      { flag: '--format F', text: 'json, mermaid, markdown or svg (default json)' },
      { flag: '--expand-steps', text: "svg: draw each step's retry loop instead of folding it" },
      HELP_OPTION,
    ],
    exitStatus: [
      { code: 0, meaning: 'printed' },
      { code: 1, meaning: 'an unknown format' },
    ],
    files: [],
    seeAlso: ['harbor-assistant run'],
  },
  help: {
    name: 'help',
    summary: "the list of commands, or one command's manual",
    synopsis: ['harbor-assistant help [COMMAND]', 'harbor-assistant COMMAND --help', 'harbor-assistant --help'],
    description: [
      "Without a command, the list of commands. With one, that command's manual: what it does, its options, its exit status and its files; `COMMAND --help` and `COMMAND -h` print the same. The manual page harbor-assistant(8) has all of them.",
    ],
    options: [],
    exitStatus: [
      { code: 0, meaning: 'printed' },
      { code: 2, meaning: 'no such command (the commands are listed on standard error)' },
    ],
    files: [],
    seeAlso: ['harbor-assistant(8)'],
  },
  version: {
    name: 'version',
    summary: 'print the version',
    synopsis: ['harbor-assistant version', 'harbor-assistant --version'],
    description: ["Prints `harbor-assistant VERSION`: the package's version when installed, package.json's in a checkout."],
    options: [],
    exitStatus: [{ code: 0, meaning: 'printed' }],
    files: [],
    seeAlso: [],
  },
};

/** The record for one verb (the raw fields, for the man pages and tests). */
export function verbRecord(verb: Verb): VerbHelp {
  return VERB_HELP[verb];
}

/** The overview: `harbor-assistant help`, `--help` and a command nobody knows. */
export const HELP = `harbor-assistant — failover engine for a two-host Harbor on one Ceph RBD image

Usage: harbor-assistant <command> [options]
       harbor-assistant <command> --help      that command's manual (also: help <command>)
       harbor-assistant --version

Commands:
  setup [--from ENVFILE] [--vip IP] … [--no-start]
                          write and check this node's configuration (flags or an env file;
                          the key from a file or stdin), enable and start the units
  run [--inspect]         run the node statechart as a service (systemd runs this);
                          --inspect attaches the Stately inspector (loopback relay)
  status [--json]         what this node is doing, since when and why
  check                   keepalived's track_script: exit 0 only when this node is fit
  switchover              hand Harbor over to the peer gracefully (no fencing)
  maintenance on|off      hold this node out of service (hands over first if serving)
  resume                  clear failed/fenced after fixing the cause; the node re-reads the world
  stop [--release]        stop the service; --release hands everything over first
  events [--lines N] [--once] [--json] [--brief]
                          the journal: last N entries (20), then follow it live;
                          --brief leaves out commands that succeeded
  doctor [--json]         check this host for everything a takeover needs, with fixes
  validate-config         check the environment and the YAML file; print every problem
                          (--example prints the documented example configuration)
  keepalived render|start|stop|status   (also: keepalivedctl start|stop|status)
  harbor start|stop|status              (also: harborctl start|stop|status)
  chart --format F        the statechart, read from the machine: json | mermaid | markdown | svg;
                          svg folds each step's retry loop into its box (--expand-steps draws it)
  help [COMMAND]          this text, or COMMAND's manual
  version                 print the version (also: --version)

Options:
  --config PATH           YAML configuration (default ${CONFIG_FILE})
  --env PATH              environment file (default ${ENV_FILE})
  -h, --help              help: this text, or the command's manual
  --version               print the version
`;

// ---- plain text, as man(1) would lay it out in 80 columns ----

const WIDTH = 80;
const BODY = 7;
const TAGGED = 14;

function wrap(text: string, indent: number, width = WIDTH, hang = indent, words = text.split(/\s+/).filter((w) => w !== '')): string[] {
  const lines: string[] = [];
  let line = '';
  let lead = indent;
  for (const word of words) {
    if (line !== '' && lead + line.length + 1 + word.length > width) {
      lines.push(' '.repeat(lead) + line);
      line = word;
      lead = hang;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(' '.repeat(lead) + line);
  return lines;
}

/** A synopsis's words, each bracketed option kept whole so that a line never ends inside one. */
function synopsisUnits(synopsis: string): string[] {
  const units: string[] = [];
  let depth = 0;
  for (const word of synopsis.split(/\s+/).filter((w) => w !== '')) {
    const open = units.at(-1);
    if (depth > 0 && open !== undefined) units[units.length - 1] = `${open} ${word}`;
    else units.push(word);
    for (const c of word) depth += c === '[' ? 1 : c === ']' ? -1 : 0;
  }
  return units;
}

/** `tag` at the body's indent, its text below it at the tagged indent (beside it when the tag is short). */
function tagged(tag: string, text: string): string[] {
  if (tag.length < TAGGED - BODY - 1) {
    const [first = '', ...rest] = wrap(text, TAGGED);
    return [`${' '.repeat(BODY)}${tag.padEnd(TAGGED - BODY)}${first.slice(TAGGED)}`, ...rest];
  }
  return [...wrap(tag, BODY, WIDTH, TAGGED), ...wrap(text, TAGGED)];
}

function section(title: string, body: string[]): string[] {
  return body.length === 0 ? [] : [title, ...body, ''];
}

/** A verb's manual as plain text, or null for a verb nobody knows. */
export function verbHelp(verb: string): string | null {
  if (!isVerb(verb)) return null;
  const h = VERB_HELP[verb];
  const paragraphs = (ps: readonly string[]) => ps.flatMap((p, i) => [...(i > 0 ? [''] : []), ...wrap(p, BODY)]);
  const lines = [
    ...section('NAME', wrap(`harbor-assistant ${h.name} - ${h.summary}`, BODY)),
    ...section(
      'SYNOPSIS',
      h.synopsis.flatMap((s) => wrap(s, BODY, WIDTH, BODY + 4, synopsisUnits(s))),
    ),
    ...section('DESCRIPTION', paragraphs(h.description)),
    ...section(
      'OPTIONS',
      h.options.flatMap((o) => tagged(o.flag, o.text)),
    ),
    ...section(
      'EXIT STATUS',
      h.exitStatus.flatMap((e) => tagged(String(e.code), e.meaning)),
    ),
    ...section(
      'FILES',
      h.files.flatMap((f) => tagged(f.path, f.text)),
    ),
    ...section('SEE ALSO', h.seeAlso.length === 0 ? [] : wrap(h.seeAlso.join(', '), BODY)),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}

/** What to say when somebody asks for the help of a verb that does not exist. */
export function unknownVerbHelp(verb: string): string {
  return `no help for "${verb}": there is no such command. The commands: ${VERBS.join(', ')}\n`;
}

// ---- roff (man(7)) ----

export type ManProgram = 'harbor-assistant' | 'harborctl' | 'keepalivedctl';

/** Tokens of prose that name a program or package: their hyphens are minus signs too. */
const COMMAND_WORD = /^(harbor-assistant|harborctl|keepalivedctl|rbd-|ceph-|python3-|docker-compose)/;

/**
 * Text for roff: backslashes printed as such, non-ASCII as groff's glyphs, and every hyphen that
 * is part of an option, a command or a path as `\-` (a minus sign: `--json` copied out of the
 * page must be two ASCII hyphens). In prose (`code` false) a hyphen between two letters of an
 * ordinary word is a word's hyphen and stays one.
 */
function roffText(s: string, code: boolean): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i);
    if (c === '\\') out += '\\e';
    // one text line per paragraph: a line break could start a line with a control character
    else if (c === '\n' || c === '\r') out += ' ';
    else if (c === '-') out += !code && isWordHyphen(s, i) ? '-' : '\\-';
    else if (c === '\u2014') out += '\\(em';
    else if (c === '\u2013') out += '\\(en';
    else if (c.charCodeAt(0) > 0x7e) {
      const cp = s.codePointAt(i) ?? 0;
      out += `\\[u${cp.toString(16).toUpperCase().padStart(4, '0')}]`;
      if (cp > 0xffff) i++;
    } else out += c;
  }
  return out;
}

function isWordHyphen(s: string, at: number): boolean {
  if (!/[A-Za-z]/.test(s.charAt(at - 1)) || !/[A-Za-z]/.test(s.charAt(at + 1))) return false;
  const start = s.slice(0, at).search(/\S*$/);
  const end = s.indexOf(' ', at);
  const token = s.slice(start, end < 0 ? s.length : end).replace(/^[("'[]+/, '');
  return !token.startsWith('-') && !/[/=_.]/.test(token.replace(/[.,;:)]+$/, '')) && !COMMAND_WORD.test(token);
}

/** A text line: one that would start with a control character is guarded with `\&`. */
function roffLine(escaped: string): string {
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

/** Prose with `code` spans in bold; paths, flags and commands inside them keep their minus signs. */
function roffProse(s: string): string {
  const parts = s.split('`');
  // an unpaired backtick is not markup: the text as written
  if (parts.length % 2 === 0) return roffText(s, false);
  return parts.map((p, i) => (i % 2 === 1 ? `\\fB${roffText(p, true)}\\fR` : roffText(p, false))).join('');
}

/** Option names in bold, UPPERCASE placeholders in italics, brackets and bars plain. */
function roffSynopsis(s: string): string {
  return s
    .split(/(\s+|[[\]|,…]|\{|\})/)
    .filter((t) => t !== '')
    .map((t) => {
      if (/^\s+$/.test(t) || /^[[\]|,…{}]$/.test(t)) return roffText(t, true);
      if (/^[A-Z][A-Z0-9_]*$/.test(t)) return `\\fI${roffText(t, true)}\\fR`;
      return `\\fB${roffText(t, true)}\\fR`;
    })
    .join('');
}

/** A quoted macro argument. */
function roffArg(s: string): string {
  return `"${roffText(s, true).replace(/"/g, '\\(dq')}"`;
}

function roffSeeAlso(refs: readonly string[]): string {
  return refs
    .map((r) => {
      const m = /^([\w.-]+)\((\d\w*)\)$/.exec(r);
      return m ? `\\fB${roffText(m[1] ?? '', true)}\\fR(${m[2] ?? ''})` : `\\fB${roffText(r, true)}\\fR`;
    })
    .join(', ');
}

function roffTagged(tag: string, text: string, tagIsSynopsis: boolean): string[] {
  return ['.TP', roffLine(tagIsSynopsis ? roffSynopsis(tag) : `\\fB${roffText(tag, true)}\\fR`), roffLine(roffProse(text))];
}

/** A paragraph of prose as one roff text line. */
export function roffParagraph(text: string): string {
  return roffLine(roffProse(text));
}

function roffParagraphs(ps: readonly string[]): string[] {
  return ps.flatMap((p) => ['.PP', roffParagraph(p)]);
}

type Heading = 'SYNOPSIS' | 'DESCRIPTION' | 'OPTIONS' | 'EXIT STATUS' | 'FILES';

/** One verb's synopsis, description, options, exit status and files as man(7) lines, under `heading`'s titles. */
function roffVerbBody(h: VerbHelp, heading: (title: Heading) => string[], synopsis: readonly string[], description: readonly string[]): string[] {
  return [
    ...heading('SYNOPSIS'),
    ...synopsis.flatMap((s, i) => [...(i > 0 ? ['.br'] : []), roffLine(roffSynopsis(s))]),
    ...heading('DESCRIPTION'),
    ...roffParagraphs(description),
    ...(h.options.length > 0 ? [...heading('OPTIONS'), ...h.options.flatMap((o) => roffTagged(o.flag, o.text, true))] : []),
    ...(h.exitStatus.length > 0 ? [...heading('EXIT STATUS'), ...h.exitStatus.flatMap((e) => roffTagged(String(e.code), e.meaning, false))] : []),
    ...(h.files.length > 0 ? [...heading('FILES'), ...h.files.flatMap((f) => roffTagged(f.path, f.text, false))] : []),
  ];
}

/** Inside harbor-assistant(8) a verb is a subsection: its parts get italic labels, not headings. */
function subsectionHeading(title: Heading): string[] {
  if (title === 'SYNOPSIS') return ['.PP'];
  if (title === 'DESCRIPTION') return [];
  return ['.PP', `\\fI${title.charAt(0)}${title.slice(1).toLowerCase()}:\\fR`];
}

const ENVIRONMENT: readonly HelpOption[] = [
  { flag: 'HARBOR_VERSION', text: 'the Harbor release, any 2.x' },
  { flag: 'HARBOR_VIP', text: 'the virtual IP keepalived moves between the two hosts' },
  { flag: 'CEPH_MON_HOST', text: 'the Ceph monitors, comma separated host[:port]' },
  { flag: 'CEPH_USER', text: 'the cephx user, without the `client.` prefix' },
  { flag: 'CEPH_USER_KEY', text: "the user's key; written only to a 0600 keyring, never on a command line, never logged" },
  { flag: 'CEPH_POOL_NAME', text: 'the RBD pool' },
  { flag: 'CEPH_IMAGE_NAME', text: "the RBD image holding Harbor's data" },
  { flag: 'KEEPALIVED_ROLE', text: 'master on the preferred host, backup on the other' },
  { flag: 'INTERFACE', text: 'the network interface that carries the VIP' },
];

const DESCRIPTION: readonly string[] = [
  "harbor-assistant keeps a Harbor registry available on two hosts. Harbor's data lives on one Ceph RBD image, an exclusive block device that must never be mounted on both hosts, and keepalived moves a virtual IP between them. On each host `harbor-assistant run` runs as a systemd service around an explicit statechart that decides, step by step, when to fence the other holder of the image, map it, check and mount its filesystem, start Harbor, watch its health, and give everything back in the reverse order.",
  'Who owns the image is what Ceph records, never a watcher list, a mount or a VIP: a takeover takes an atomic lock on the image and writes an owner record into the image metadata; the next takeover fences the recorded owner first.',
  `Operator commands talk to the service over a root-only unix socket (\`${CONTROL_SOCKET}\`). Every command that reads the configuration checks all of it first and names every bad field before anything runs. \`harbor-assistant COMMAND --help\` prints the part of this page about COMMAND.`,
];

function thLine(title: string, version: string, date: string): string {
  return `.TH ${roffArg(title)} 8 ${roffArg(date)} ${roffArg(`harbor-assistant ${version}`)} ${roffArg('System Administration')}`;
}

function header(program: ManProgram, version: string, date: string, summary: string): string[] {
  return [
    `.\\" ${program}(8), generated from src/cli/help.ts by scripts/man-pages.ts: edit that, not this`,
    thLine(program.toUpperCase(), version, date),
    // paths, options and commands must not be split by hyphenation: `/etc/harbor-as‐sistant` cannot be copied
    '.nh',
    '.SH NAME',
    `${roffText(program, true)} \\- ${roffText(summary, false)}`,
  ];
}

function harborAssistantPage(version: string, date: string): string[] {
  const files = new Map<string, HelpFile>();
  for (const v of VERBS) for (const f of VERB_HELP[v].files) if (!files.has(f.path)) files.set(f.path, f);
  return [
    ...header('harbor-assistant', version, date, 'failover engine for a two-host Harbor on one Ceph RBD image'),
    '.SH SYNOPSIS',
    roffLine(roffSynopsis('harbor-assistant COMMAND [OPTIONS]')),
    '.br',
    roffLine(roffSynopsis('harbor-assistant COMMAND --help')),
    '.br',
    roffLine(roffSynopsis('harbor-assistant --version')),
    '.SH DESCRIPTION',
    ...roffParagraphs(DESCRIPTION),
    '.SH COMMANDS',
    ...VERBS.flatMap((v) => {
      const h = VERB_HELP[v];
      return [
        `.SS ${roffArg(v)}`,
        '.PP',
        roffLine(`\\fB${roffText(`harbor-assistant ${v}`, true)}\\fR \\- ${roffProse(h.summary)}`),
        ...roffVerbBody(h, subsectionHeading, h.synopsis, h.description),
        ...(h.seeAlso.length > 0 ? ['.PP', `\\fISee also:\\fR ${roffSeeAlso(h.seeAlso)}`] : []),
      ];
    }),
    '.SH OPTIONS',
    ...[CONFIG_OPTION, ENV_OPTION, HELP_OPTION, { flag: '--version', text: 'print the version and exit 0' }].flatMap((o) => roffTagged(o.flag, o.text, true)),
    '.SH ENVIRONMENT',
    '.PP',
    roffLine(roffProse(`Read from \`${ENV_FILE}\`; a variable set in the process's environment wins over the file.`)),
    ...ENVIRONMENT.flatMap((e) => roffTagged(e.flag, e.text, false)),
    '.SH EXIT STATUS',
    '.PP',
    'Each command above lists its own; across them:',
    ...[
      { code: 0, meaning: 'success' },
      { code: 1, meaning: 'failure: an invalid configuration (every bad field named), a refused request, a check that failed, or an unexpected error' },
      { code: 2, meaning: 'an unknown command or verb; setup: bad answers, nothing written' },
      { code: 3, meaning: 'the service or the component asked about is not running or not answering; setup: configured, but something blocks a takeover' },
    ].flatMap((e) => roffTagged(String(e.code), e.meaning, false)),
    '.SH FILES',
    ...[...files.values()].flatMap((f) => roffTagged(f.path, f.text, false)),
    '.SH SEE ALSO',
    roffSeeAlso(['harborctl(8)', 'keepalivedctl(8)', 'keepalived(8)', 'rbd(8)', 'ceph(8)', 'systemctl(1)']),
  ];
}

function aliasPage(program: 'harborctl' | 'keepalivedctl', version: string, date: string): string[] {
  const verb = program === 'harborctl' ? 'harbor' : 'keepalived';
  const h = VERB_HELP[verb];
  const same = `\`${program} start|stop|status\` is the same as \`harbor-assistant ${verb} start|stop|status\`: the original's command, kept for the operators and scripts that know it.`;
  return [
    ...header(program, version, date, h.summary),
    ...roffVerbBody(
      h,
      (title) => [`.SH ${title}`],
      [`${program} start|stop|status [--config PATH] [--env PATH]`, `${program} --help`],
      [same, ...h.description.filter((p) => !p.includes(`\`${program} VERB\``))],
    ),
    '.SH SEE ALSO',
    roffSeeAlso(['harbor-assistant(8)', ...h.seeAlso.filter((r) => r !== `${program}(8)`)]),
  ];
}

/** A man(7) page for one of the installed programs. */
export function manPage(program: ManProgram, version: string, date: string): string {
  const lines = program === 'harbor-assistant' ? harborAssistantPage(version, date) : aliasPage(program, version, date);
  return `${lines.join('\n')}\n`;
}
