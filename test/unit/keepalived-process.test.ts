import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { keepalivedVrrpRunning, runningKeepalivedPid } from '../../src/actions/keepalived/process.js';
import { cmdlineOf } from '../../src/actions/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'ha-kp-'));
const conf = join(dir, 'keepalived.conf');
const started: ChildProcess[] = [];
after(() => {
  for (const c of started) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A process whose argv looks like keepalived's (argv0 keepalived, our -f CONF), once it has exec'd. */
async function fakeKeepalived(confPath: string): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => undefined, 60_000)', '--', '-f', confPath], { argv0: 'keepalived', stdio: 'ignore' });
  started.push(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error('cannot start sleep');
  for (let i = 0; i < 100 && !(cmdlineOf(pid)?.includes(confPath) ?? false); i++) await new Promise((r) => setTimeout(r, 10));
  return pid;
}

test('a VIP is trusted only while our keepalived and its VRRP child run', async () => {
  assert.equal(keepalivedVrrpRunning(dir, conf), false, 'no pid files');
  const main = await fakeKeepalived(conf);
  writeFileSync(join(dir, 'keepalived.pid'), `${main}\n`);
  assert.equal(runningKeepalivedPid(dir, conf), main);
  assert.equal(keepalivedVrrpRunning(dir, conf), false, 'no VRRP child: a crashed child leaves the VIP behind');
  const vrrp = await fakeKeepalived(conf);
  writeFileSync(join(dir, 'vrrp.pid'), `${vrrp}\n`);
  assert.equal(keepalivedVrrpRunning(dir, conf), true);
  assert.equal(keepalivedVrrpRunning(dir, join(dir, 'other.conf')), false, 'a keepalived of another configuration');
  writeFileSync(join(dir, 'vrrp.pid'), `${process.pid}\n`);
  assert.equal(keepalivedVrrpRunning(dir, conf), false, 'a pid file naming some other program');
  writeFileSync(join(dir, 'vrrp.pid'), 'garbage\n');
  assert.equal(keepalivedVrrpRunning(dir, conf), false);
});
