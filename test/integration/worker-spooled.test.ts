// deliver() called directly (no pool) with a spooled message, against every spawner: the
// spool file itself is the program's stdin, through a read-only descriptor of its own for
// each run; the daemon's read-write fd is never handed out, moved nor closed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, copyFileSync, existsSync, fstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeLeakingFds } from '../../src/ops/inherited-fds.js';
import type { TaskMessage } from '../../src/pool/task.js';
import { createDeliver } from '../../workers/deliver.js';
import { eventually } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { nobody } from '../helpers/setuid-helper.js';
import { spawnersUnderTest } from '../helpers/spawner.js';
import { makeTask, spooled } from '../helpers/task.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-worker-spooled-'));
const program = (name: string): string => fixture('programs', name);
/** Switching ids needs root; CI and this machine run the tests as root. */
const ROOT_ONLY = process.getuid?.() === 0 ? {} : { skip: 'needs root: only root may switch uid and gid' };

/** A directory nobody may enter and write to, holding a copy of cat-to-file.sh. */
const nobodyDir = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-worker-spooled-nobody-'));
chmodSync(nobodyDir, 0o755);
const catAsNobody = path.join(nobodyDir, 'cat-to-file.sh');
copyFileSync(program('cat-to-file.sh'), catAsNobody);
chmodSync(catAsNobody, 0o755);
if (process.getuid?.() === 0) chownSync(nobodyDir, nobody().uid, nobody().gid);

// As the daemon's start-up does: the test runner hands us fds without close-on-exec.
before(() => closeLeakingFds());
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(nobodyDir, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The daemon's view of its spool fd: size, offset (from fdinfo) and every byte (pread). */
function spoolState(spool: { fd: number }): { size: number; pos: number; sha: string } {
  const { size } = fstatSync(spool.fd);
  const bytes = Buffer.alloc(size);
  for (let at = 0; at < size; ) at += readSync(spool.fd, bytes, at, size - at, at);
  const pos = /^pos:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${spool.fd}`, 'latin1'))?.[1];
  return { size, pos: Number(pos), sha: sha256(bytes) };
}

/** This process's fds that are open on the same file as `fd` (readlink targets). */
function fdsOnSameFile(fd: number): number[] {
  const target = readlinkSync(`/proc/self/fd/${fd}`);
  return readdirSync('/proc/self/fd')
    .map(Number)
    .filter((n) => {
      try {
        return readlinkSync(`/proc/self/fd/${n}`) === target;
      } catch {
        return false; // readdir's own fd, closed by now
      }
    });
}

/** Polls: there is no event for a file another process creates, nor for an fd closed. */
async function until(predicate: () => boolean, deadlineMs: number, what: string): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (!predicate()) {
    if (performance.now() > end) throw new Error(`waited ${deadlineMs} ms for ${what}`);
    await sleep(10);
  }
}

const untilExists = (file: string, deadlineMs: number): Promise<void> => until(() => existsSync(file), deadlineMs, file);

for (const name of spawnersUnderTest()) {
  describe(`spooled message: ${name}`, () => {
    const deliver = createDeliver({ spawner: name });
    const spools: Array<TaskMessage & { kind: 'file' }> = [];
    /** A spool file that the suite closes at its end (the daemon's job). */
    const spool = (bytes: string | Uint8Array): TaskMessage & { kind: 'file' } => {
      const made = spooled(tmp, bytes);
      spools.push(made);
      return made;
    };
    after(() => spools.forEach(({ fd }) => closeSync(fd)));

    test('10 MB reach the program byte-exact; the task fd is still open and intact afterwards', async () => {
      const bytes = randomBytes(10 * 1024 * 1024);
      const message = spool(bytes);
      const before = spoolState(message);
      const out = path.join(tmp, `ten-${name}.eml`);
      const outcome = await deliver(makeTask({ program: program('cat-to-file.sh'), args: [out], message }));
      assert.deepEqual(outcome.kind === 'exited' && [outcome.exitCode, outcome.stdinError], [0, null], JSON.stringify(outcome));
      assert.equal(sha256(readFileSync(out)), sha256(bytes));
      assert.deepEqual(spoolState(message), before, 'same size, offset and bytes');
      assert.deepEqual(before, { size: bytes.length, pos: bytes.length, sha: sha256(bytes) });
    });

    test('two runs of the same task fd each read the whole message from offset 0', async () => {
      const bytes = Buffer.from('Subject: twice\r\n\r\n' + 'z'.repeat(200_000) + '\r\n', 'latin1');
      const message = spool(bytes);
      const before = spoolState(message);
      const outs = [1, 2, 3].map((n) => path.join(tmp, `twice-${name}-${n}.eml`));
      // Two at once and one after: neither a shared offset nor a consumed one.
      const outcomes = [...(await Promise.all(outs.slice(0, 2).map((out) => deliver(makeTask({ program: program('cat-to-file.sh'), args: [out], message }))))),
        await deliver(makeTask({ program: program('cat-to-file.sh'), args: [outs[2] ?? ''], message }))];
      for (const outcome of outcomes) assert.equal(outcome.kind === 'exited' && outcome.exitCode, 0, JSON.stringify(outcome));
      for (const out of outs) assert.ok(readFileSync(out).equals(bytes), out);
      assert.deepEqual(spoolState(message), before);
    });

    test('the program cannot write to its stdin: a read-only descriptor', async () => {
      const bytes = Buffer.from('Subject: ro\r\n\r\nkeep me\r\n', 'latin1');
      const message = spool(bytes);
      const before = spoolState(message);
      const script = 'if printf x >&0; then exit 0; fi; exit 9';
      const outcome = await deliver(makeTask({ program: '/bin/sh', args: ['-c', script], message }));
      assert.deepEqual(outcome.kind === 'exited' && [outcome.exitCode, outcome.stdinError], [9, null], JSON.stringify(outcome));
      assert.deepEqual(spoolState(message), before);
    });

    test('a program running as nobody reads the 0600 root-owned spool file through its stdin, and cannot reopen it', ROOT_ONLY, async () => {
      const bytes = randomBytes(1024 * 1024);
      const message = spool(bytes);
      const st = fstatSync(message.fd);
      assert.deepEqual([st.mode & 0o777, st.uid], [0o600, 0]);
      const out = path.join(nobodyDir, `as-nobody-${name}.eml`);
      // An output_file too: the vfork path (native), the wrapper shell (child_process).
      const errorFile = path.join(nobodyDir, `as-nobody-${name}.err`);
      const runAs = nobody();
      const outcome = await deliver(makeTask({ program: catAsNobody, args: [out], message, runAs, cwd: nobodyDir, errorFile }));
      assert.deepEqual(outcome.kind === 'exited' && [outcome.exitCode, outcome.stdinError], [0, null], JSON.stringify(outcome));
      assert.equal(sha256(readFileSync(out)), sha256(bytes));
      assert.equal(fstatSync(message.fd).size, bytes.length);
      // Its fd grants reading only: reopening the file by /proc for writing is refused.
      const reopen = await deliver(makeTask({ program: '/bin/sh', args: ['-c', 'if printf x >>/proc/self/fd/0; then exit 0; fi; exit 9'], message, runAs, cwd: nobodyDir }));
      assert.equal(reopen.kind === 'exited' && reopen.exitCode, 9, JSON.stringify(reopen));
      assert.equal(spoolState(message).sha, sha256(bytes));
    });

    for (const status of [0, 3]) {
      test(`a program exiting ${status} without reading: its exit status, no stdin error (no pipe)`, async () => {
        const message = spool(Buffer.alloc(5 * 1024 * 1024, 'a'));
        const outcome = await deliver(makeTask({ program: program('ignore-stdin-exit.sh'), args: [String(status)], message }));
        assert.deepEqual(outcome.kind === 'exited' && [outcome.exitCode, outcome.stdinError], [status, null], JSON.stringify(outcome));
      });
    }

    test('the run\'s descriptor is closed once the program started, not held while it runs', async () => {
      const message = spool('Subject: held\r\n\r\n');
      const started = path.join(tmp, `held-started-${name}`);
      const release = path.join(tmp, `held-release-${name}`);
      const run = deliver(makeTask({ program: program('hold.sh'), args: [started, release, '20'], message }));
      let settled = false;
      void run.then(() => (settled = true));
      try {
        await untilExists(started, 10_000);
        // Closed asynchronously (thread pool) right after the start: soon, not at once.
        await until(() => fdsOnSameFile(message.fd).length === 1, 5_000, 'the run\'s descriptor to be closed');
        assert.deepEqual(fdsOnSameFile(message.fd), [message.fd], 'only the daemon\'s own fd is open on the spool file');
        assert.equal(settled, false, 'while the program still runs (it waits for the release file)');
      } finally {
        writeFileSync(release, '');
      }
      assert.equal((await run).kind, 'exited');
    });

    test('no fd leaks after 50 runs, failed starts included; the task fd is intact', async () => {
      const message = spool('Subject: leak\r\n\r\nbody\r\n');
      const before = spoolState(message);
      // One run first: the spawner's lazily created handles (libuv, the addon) are not leaks.
      await deliver(makeTask({ message }));
      const fdsBefore = readdirSync('/proc/self/fd').length;
      for (let batch = 0; batch < 5; batch += 1) {
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            deliver(makeTask(i % 5 === 4 ? { program: path.join(tmp, 'missing'), message } : { args: [String(i)], message })),
          ),
        );
        assert.deepEqual(outcomes.map((o) => o.kind === 'exited' ? o.exitCode : o.kind), [0, 1, 2, 3, 'spawn-failed', 5, 6, 7, 8, 'spawn-failed']);
      }
      // Handles of finished runs (pidfd polls, capture pipes) close on later loop turns: a
      // loaded machine may need a few, and the warm-up run's may close only now (fewer than
      // before is fine); a leak never comes back.
      await eventually(() => readdirSync('/proc/self/fd').length <= fdsBefore, 2_000).catch(() => {});
      assert.ok(readdirSync('/proc/self/fd').length <= fdsBefore, `${readdirSync('/proc/self/fd').length} fds open, ${fdsBefore} before the runs`);
      assert.deepEqual(spoolState(message), before);
    });

    test('a spool fd that cannot be reopened is a spawn-failed naming the spool file', async () => {
      const outcome = await deliver(makeTask({ message: { kind: 'file', fd: 999_999, size: 10 } }));
      assert.equal(outcome.kind, 'spawn-failed');
      assert.equal(outcome.errorCode, 'ENOENT');
      assert.match(outcome.message, /spool file \(fd 999999\)/);
    });
  });
}
