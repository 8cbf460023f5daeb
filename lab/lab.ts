import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning } from '../src/actions/processes.js';
import { writeNodeConfig } from './config-render.js';
import { request, servingNode, states, status, waitFor, waitOneServing } from './control.js';
import { startDockerd, startDockers } from './docker-stack.js';
import { killPid, run } from './exec.js';
import {
  crashNode,
  cutCeph,
  cutVrrp,
  damageComposeFile,
  healCeph,
  healVrrp,
  holdMount,
  hostRebootsStorageAndDocker,
  mountForeign,
  nodePids,
  pauseNode,
  resumeNode,
  leaveDeadClaim,
  nextGeneration,
  stopRegistry,
} from './faults.js';
import { fsckImage, withImageReadOnly } from './image-check.js';
import { NodeControl } from './node-control.js';
import { installedVersion, installPackage, labDeb } from './node-package.js';
import { bareMountPoint, firstHealthy, harborContainers, httpGet, mountSource, vipOn } from './node-probes.js';
import { composeTimes, fenceCount, journal, keepalivedLog, mappedAt, phases, transitions } from './observers.js';
import { startPullLoop } from './pull-loop.js';
import { createProject, projectNames, RegistryClient } from './registry-client.js';
import { cleanLeftovers, detachLabLoops } from './teardown.js';
import { createNodeMountNs } from './mount-ns.js';
import { CEPH_IP, configPath, engineLog, envPath, LAB, labDir, NODES, nodeDir, packageRoot, type NodeName } from './topology.js';
import { startWriter, stopWriter, writerStamps } from './writer-probe.js';

export { CEPH_IP, LAB, type NodeName } from './topology.js';
export { createProjectArgv, createProjectCommitted } from './registry-client.js';
export { labDeb } from './node-package.js';

export interface LabOptions {
  advertInt: number;
  /** Engine timing overrides (YAML lines). */
  extraYaml?: string[];
  /** filesystem.mountOptions of both engines (default: the engine's own, noatime and dirsync). */
  mountOptions?: string[];
  /** filesystem.synchronousDirs of both engines (default: the engine's own, data/redis). */
  synchronousDirs?: string[];
  /** harbor.probe.startingIntervalMs for both nodes (absent: the engine's default). */
  startingProbeMs?: number;
  log?: (line: string) => void;
  /** Runs after Ceph and the node directories exist, before any engine starts. */
  beforeEngines?: (lab: Lab) => void;
  /** Drop VRRP on this node before keepalived starts: both nodes become MASTER at once. */
  vrrpCutAtStart?: NodeName;
  /** The .deb both nodes run (default: HALAB_DEB, else this tree's `npm run package` output, built when missing). */
  deb?: string;
}

/**
 * The two-node lab: `up` builds it, `down` takes it away; every other member is one of the parts
 * it is made of (each member's file is named in its section below), so scenarios, the bench, the
 * campaign and the demo drive and read the lab through one object.
 */
export class Lab {
  /** The engines and keepalived the lab started (their pids). */
  private readonly nodes = new NodeControl();
  /** The images pushed through the VIP (what `lostImages` pulls back). */
  private readonly registry = new RegistryClient();

  constructor(private readonly options: LabOptions) {}

  private log(line: string): void {
    this.options.log?.(line);
  }

  /**
   * Only the lab's network and Ceph, for tests of the Ceph client itself (`Lab.cleanLeftovers()`
   * takes them away). A node's client runs inside `nodeNamespace`; the user's key is in `keyFile`.
   */
  static async cephOnly(): Promise<{ confPath: string; keyFile: string; adminKeyring: string; nodeNamespace: string; nodeIp: string }> {
    await cleanLeftovers();
    mkdirSync(LAB.root, { recursive: true, mode: 0o755 });
    run([join(labDir, 'net.sh'), 'up']);
    run([join(labDir, 'ceph.sh'), 'up', join(LAB.root, 'ceph'), CEPH_IP, LAB.pool, LAB.image, '64', LAB.user], { timeoutMs: 180_000 });
    const dir = join(LAB.root, 'ceph');
    return {
      confPath: join(dir, 'ceph.conf'),
      keyFile: join(dir, `client.${LAB.user}.key`),
      adminKeyring: join(dir, 'client.admin.keyring'),
      nodeNamespace: `/run/netns/${LAB.prefix}-a`,
      nodeIp: NODES.a.ip,
    };
  }

  /** Everything from nothing: packages are the test script's job; this builds the network, Ceph and both nodes. */
  async up(): Promise<void> {
    await cleanLeftovers();
    mkdirSync(LAB.root, { recursive: true, mode: 0o755 });
    const t0 = Date.now();
    run([join(labDir, 'net.sh'), 'up']);
    run([join(labDir, 'ceph.sh'), 'up', join(LAB.root, 'ceph'), `${LAB.subnet}.10`, LAB.pool, LAB.image, '1024', LAB.user], { timeoutMs: 180_000 });
    this.log(`ceph up in ${Date.now() - t0} ms`);
    // the lab's "offline installer": a local tgz shaped like Harbor's
    run(['tar', '-czf', join(LAB.root, 'harbor-offline-installer-lab.tgz'), '-C', join(labDir, 'installer'), 'harbor']);
    writeFileSync(join(LAB.root, 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
    // each node runs the installed package: the .deb unpacked into its own root
    const deb = this.options.deb ?? labDeb();
    for (const n of ['a', 'b'] as const) {
      installPackage(n, deb);
      writeNodeConfig(n, this.options);
      createNodeMountNs(n);
    }
    startDockers((line) => this.log(line));
    this.options.beforeEngines?.(this);
    for (const n of ['a', 'b'] as const) await this.nodes.startEngine(n);
    for (const n of ['a', 'b'] as const) this.nodes.renderKeepalived(n);
    if (this.options.vrrpCutAtStart) cutVrrp(this.options.vrrpCutAtStart);
    for (const n of ['a', 'b'] as const) this.nodes.startKeepalived(n);
    this.log(`lab up in ${Date.now() - t0} ms`);
  }

  async down(): Promise<void> {
    for (const n of ['a', 'b'] as const) await this.nodes.stopKeepalived(n);
    for (const n of ['a', 'b'] as const) {
      const pid = this.nodes.pids.engine.get(n);
      if (pid) await killPid(pid, 5_000);
    }
    await cleanLeftovers();
  }

  // --- teardown.ts: what any lab (this one or a crashed earlier run) left behind
  static readonly detachLabLoops = detachLabLoops;
  static readonly cleanLeftovers = cleanLeftovers;

  // --- topology.ts: a node's files
  readonly nodeDir = nodeDir;
  readonly configPath = configPath;
  readonly envPath = envPath;
  readonly engineLog = engineLog;
  readonly packageRoot = packageRoot;

  // --- node-package.ts, node-control.ts, docker-stack.ts: what runs on a node
  readonly installPackage = installPackage;
  readonly installedVersion = installedVersion;
  readonly upgradeNode = (n: NodeName, deb: string) => this.nodes.upgradeNode(n, deb);
  readonly startEngine = (n: NodeName) => this.nodes.startEngine(n);
  readonly stopEngine = (n: NodeName, release: boolean) => this.nodes.stopEngine(n, release);
  readonly startKeepalived = (n: NodeName) => this.nodes.startKeepalived(n);
  readonly stopKeepalived = (n: NodeName) => this.nodes.stopKeepalived(n);
  readonly restartNode = (n: NodeName) => this.nodes.restartNode(n);
  readonly enginePid = (n: NodeName) => this.nodes.enginePid(n);
  readonly isRunning = isRunning;
  readonly startDockerd = startDockerd;

  // --- control.ts: the engines' control sockets
  readonly request = request;
  readonly status = status;
  readonly states = states;
  readonly waitFor = waitFor;
  readonly servingNode = servingNode;
  readonly waitOneServing = waitOneServing;

  // --- registry-client.ts, pull-loop.ts: clients through the VIP
  get pushed(): Array<{ ref: string; digest: string }> {
    return this.registry.pushed;
  }
  get pullAttempts(): Array<{ ms: number; ok: boolean; out: string }> {
    return this.registry.pullAttempts;
  }
  readonly push = () => this.registry.push();
  readonly pushLarge = (mb: number) => this.registry.pushLarge(mb);
  readonly pull = (ref: string) => this.registry.pull(ref);
  readonly lostImages = () => this.registry.lostImages();
  readonly waitPullable = (timeoutMs: number) => this.registry.waitPullable(timeoutMs);
  readonly startPullLoop = startPullLoop;
  readonly createProject = createProject;
  readonly projectNames = projectNames;

  // --- faults.ts
  readonly crashNode = (n: NodeName) => crashNode(this.nodes, n);
  readonly holdMount = holdMount;
  readonly cutVrrp = cutVrrp;
  readonly healVrrp = healVrrp;
  readonly cutCeph = cutCeph;
  readonly healCeph = healCeph;
  readonly nodePids = nodePids;
  readonly pauseNode = pauseNode;
  readonly resumeNode = resumeNode;
  readonly mountForeign = mountForeign;
  readonly hostRebootsStorageAndDocker = hostRebootsStorageAndDocker;
  readonly damageComposeFile = damageComposeFile;
  readonly stopRegistry = stopRegistry;
  readonly leaveDeadClaim = leaveDeadClaim;
  readonly nextGeneration = nextGeneration;

  // --- writer-probe.ts, image-check.ts: writes from two hosts, the image's filesystem
  readonly startWriter = startWriter;
  readonly stopWriter = stopWriter;
  readonly writerStamps = writerStamps;
  readonly withImageReadOnly = withImageReadOnly;
  readonly fsckImage = fsckImage;

  // --- observers.ts, node-probes.ts: what the nodes logged and how they look now
  readonly keepalivedLog = keepalivedLog;
  readonly journal = journal;
  readonly fenceCount = fenceCount;
  readonly transitions = transitions;
  readonly phases = phases;
  readonly mappedAt = mappedAt;
  readonly composeTimes = composeTimes;
  readonly vipOn = vipOn;
  readonly mountSource = mountSource;
  readonly bareMountPoint = bareMountPoint;
  readonly harborContainers = harborContainers;
  readonly httpGet = httpGet;
  readonly firstHealthy = firstHealthy;
}
