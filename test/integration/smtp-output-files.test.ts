// output_file / error_file against planted paths, over SMTP, with the daemon as root (security
// review findings 1 and 2): the files are opened as the program's user, never through a
// symbolic link, FIFO, device or hard-linked file, and a FIFO never blocks the daemon.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, constants, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { openSession } from '../helpers/smtp-client.js';

const ROOT_ONLY = process.getuid?.() === 0 ? {} : { skip: 'needs root: the daemon must be more privileged than the program' };
const REFUSED = '451 4.3.0 pipe transport output file unavailable';

describe('output files at planted paths, daemon as root', ROOT_ONLY, () => {
  let daemon: TestDaemon;
  const [, , uid, gid] = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':').map(Number);
  const nobody = { uid: uid as number, gid: gid as number };
  const base = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-output-files-'));
  /** The transport's own spool, which its user may write: the natural layout of finding 1. */
  const spool = path.join(base, 'spool');
  /** Stands in for /root/.ssh: a root-only file in a root-only directory. */
  const victim = path.join(base, 'victim', 'authorized_keys');
  const fifo = path.join(base, 'fifo.log');
  /** A directory at load (which refuses a device as output_file); a link to /dev when its test runs. */
  const devices = path.join(base, 'devices');

  before(async () => {
    chmodSync(base, 0o755);
    mkdirSync(spool, { mode: 0o755 });
    chownSync(spool, nobody.uid, nobody.gid);
    mkdirSync(path.dirname(victim), { mode: 0o700 });
    writeFileSync(victim, 'root only\n', { mode: 0o600 });
    mkdirSync(devices, { mode: 0o755 });
    daemon = await startDaemon(`
      ESMTP_Listener { Listen "127.0.0.1:0" { } }
      pipe_transport "app" {
        program_name = "/bin/cat" domain = ( "app.test" ) user = "nobody" directory = "${spool}"
        output_file = "${spool}/out.log" error_file = "${spool}/err.log" received_header = false
      }
      pipe_transport "fifo" { allow_root = true program_name = "/bin/cat" domain = ( "fifo.test" ) output_file = "${fifo}" timeout = 30 concurrency = 8 }
      pipe_transport "other" { allow_root = true program_name = "/bin/cat" domain = ( "other.test" ) output_file = "${base}/other.log" timeout = 30 }
      pipe_transport "linked" { allow_root = true program_name = "/bin/cat" domain = ( "linked.test" ) output_file = "${base}/linked.log" }
      pipe_transport "device" { allow_root = true program_name = "/bin/cat" domain = ( "device.test" ) output_file = "${devices}/zero" }
      pipe_transport "devnull" { allow_root = true program_name = "/bin/cat" domain = ( "devnull.test" ) output_file = "/dev/null" }
    `);
  });
  after(async () => {
    // Had an open blocked on the FIFO (the bug), a reader releases it so the daemon can stop.
    try {
      closeSync(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK));
    } catch {
      // Handled: no FIFO there (its test did not run), nothing to release.
    }
    await daemon?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  async function deliver(to: string, body = 'Subject: t\r\n\r\nhello\r\n'): Promise<string> {
    const client = await openSession(daemon.port);
    try {
      return (await client.sendMail('a@origin.test', [to], body)).line;
    } finally {
      await client.quit();
    }
  }

  /** The error-level delivery line of the last refusal on `transport`. */
  const refusalLog = (transport: string) =>
    daemon.logs.findLast((l) => l.transport === transport && l.outcome === 'output-failed');

  test('a file the program creates is opened as the program: it belongs to nobody', async () => {
    assert.match(await deliver('u@app.test', 'Subject: one\r\n\r\nfirst\r\n'), /^250 /);
    const out = path.join(spool, 'out.log');
    assert.deepEqual([statSync(out).uid, statSync(out).gid], [nobody.uid, nobody.gid]);
    assert.equal(readFileSync(out, 'utf8'), 'Subject: one\n\nfirst\n');
  });

  test('a symbolic link planted at output_file (to a root-only file): 451, the target unchanged, an error line names the path', async () => {
    const out = path.join(spool, 'out.log');
    rmSync(out, { force: true });
    symlinkSync(victim, out);
    const line = await deliver('u@app.test', 'Subject: two\r\n\r\nssh-ed25519 AAAAC3 attacker@evil\r\n');
    assert.equal(line, REFUSED);
    assert.equal(readFileSync(victim, 'utf8'), 'root only\n');
    const log = refusalLog('app');
    assert.equal(log?.level, 50);
    assert.equal(log?.error, `output_file ${out}: is a symbolic link (ELOOP)`);
    rmSync(out);
  });

  test('a dangling symbolic link at error_file: 451, nothing created at its target', async () => {
    const err = path.join(spool, 'err.log');
    const target = path.join(path.dirname(victim), 'created-by-root');
    rmSync(err, { force: true });
    symlinkSync(target, err);
    try {
      assert.equal(await deliver('u@app.test'), REFUSED);
      assert.throws(() => statSync(target), { code: 'ENOENT' });
      assert.match(String(refusalLog('app')?.error), new RegExp(`^error_file ${err}: is a symbolic link`));
    } finally {
      rmSync(err);
    }
  });

  test('a FIFO at output_file: 451 at once, five at a time (more than libuv has pool threads), another transport delivers meanwhile', { timeout: 20_000 }, async () => {
    execFileSync('mkfifo', [fifo]);
    const startedAt = performance.now();
    const [other, ...fifoLines] = await Promise.all([
      deliver('x@other.test', 'Subject: other\r\n\r\nunaffected\r\n'),
      ...Array.from({ length: 5 }, (_, i) => deliver(`${i}@fifo.test`)),
    ]);
    const elapsedMs = performance.now() - startedAt;
    assert.deepEqual(fifoLines, Array.from({ length: 5 }, () => REFUSED));
    assert.match(other ?? '', /^250 /);
    assert.match(readFileSync(path.join(base, 'other.log'), 'utf8'), /unaffected/);
    // The transport timeout is 30 s: the refusal must not wait for it.
    assert.ok(elapsedMs < 5_000, `took ${Math.round(elapsedMs)} ms`);
    assert.match(String(refusalLog('fifo')?.error), new RegExp(`^output_file ${fifo}: is not a regular file`));
  });

  test('a hard-linked file at output_file: 451, nothing appended to either name', async () => {
    const target = path.join(base, 'linked-target');
    writeFileSync(target, 'before\n');
    linkSync(target, path.join(base, 'linked.log'));
    assert.equal(await deliver('x@linked.test'), REFUSED);
    assert.equal(readFileSync(target, 'utf8'), 'before\n');
    assert.match(String(refusalLog('linked')?.error), /: is a file with more than one hard link \(ERR_OUTPUT_HARDLINKED\)$/);
  });

  test('a device as output_file (/dev/zero, through a directory swapped for a link to /dev after the load): refused, 451', async () => {
    rmSync(devices, { recursive: true });
    symlinkSync('/dev', devices);
    assert.equal(await deliver('x@device.test'), REFUSED);
    assert.match(String(refusalLog('device')?.error), /^output_file \S+\/devices\/zero: is not a regular file/);
  });

  test('output_file = "/dev/null" means no file (as when absent), not a device to refuse', async () => {
    assert.match(await deliver('x@devnull.test'), /^250 /);
  });

  test('the daemon serves on after every refusal above', async () => {
    assert.match(await deliver('y@other.test'), /^250 /);
  });
});
