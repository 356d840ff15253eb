// The spawner contract (workers/spawners/contract.ts): one suite, run against every spawner
// so that they cannot drift apart. What a program gets (argv, environment, stdin bytes, fds,
// signal state, session) and how each way of ending is reported through run-program.ts.
// SMTPIPE_TEST_SPAWNER narrows the list (test/helpers/spawner.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeLeakingFds } from '../../src/ops/inherited-fds.js';
import { runProgram, type RunOutcome, type RunSpec } from '../../workers/run-program.js';
import type { ProgramSpec, Spawner } from '../../workers/spawners/contract.js';
import { createSpawner } from '../../workers/spawners/select.js';
import { fixture } from '../helpers/paths.js';
import { awaitDeath, childrenOfThisProcess, procStat } from '../helpers/processes.js';
import { spawnersUnderTest } from '../helpers/spawner.js';
import { timed } from '../helpers/timed.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-spawner-contract-'));
const program = (name: string): string => fixture('programs', name);
const KEEP_OURS: Pick<ProgramSpec, 'runAs' | 'cwd' | 'umask' | 'stdinFile' | 'capture'> = {
  runAs: null,
  cwd: null,
  umask: null,
  stdinFile: null,
  capture: { stdout: false, stderr: false },
};

/**
 * A directory any user may enter, holding a copy of print-identity.sh: the checkout (say
 * under /root) may be closed to the user a test switches to.
 */
const openDir = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-spawner-open-'));
chmodSync(openDir, 0o755);
const identity = path.join(openDir, 'print-identity.sh');
copyFileSync(program('print-identity.sh'), identity);
chmodSync(identity, 0o755);

/** Switching ids needs root; CI and this machine run the tests as root. */
const ROOT_ONLY = process.getuid?.() === 0 ? {} : { skip: 'needs root: only root may switch uid and gid' };

/** nobody's uid and primary gid, as the config loader would find them (getent). */
function nobody(): { uid: number; gid: number } {
  const [, , uid, gid] = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Where a program running as nobody may create its output files (opened as nobody). */
const nobodyDir = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-spawner-nobody-'));
chmodSync(nobodyDir, 0o755);
if (process.getuid?.() === 0) chownSync(nobodyDir, nobody().uid, nobody().gid);

// As the daemon's start-up does: the test runner hands us fds without close-on-exec.
before(() => closeLeakingFds());
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(openDir, { recursive: true, force: true });
  rmSync(nobodyDir, { recursive: true, force: true });
});

function run(spawner: Spawner, overrides: Partial<RunSpec>): Promise<RunOutcome> {
  return runProgram(spawner, {
    file: program('exit-with.sh'),
    args: [],
    env: {},
    stdout: null,
    stderr: null,
    runAs: null,
    cwd: null,
    umask: null,
    stdinFile: null,
    capture: { stdout: false, stderr: false },
    replyFromOutput: 'none',
    body: Buffer.from('Subject: t\n\nbody\n'),
    timeoutMs: 10_000,
    killGraceMs: 1_000,
    ...overrides,
  });
}

/**
 * Runs with stdout (and stderr) going to fresh files in `dir`, which the program's user
 * must be able to create; returns the outcome and the files ('' for one not written).
 */
async function runToFiles(spawner: Spawner, overrides: Partial<RunSpec>, name: string, dir = tmp): Promise<{ outcome: RunOutcome; out: string; err: string }> {
  const outFile = path.join(dir, `${name}.out`);
  const errFile = path.join(dir, `${name}.err`);
  rmSync(outFile, { force: true });
  rmSync(errFile, { force: true });
  const outcome = await run(spawner, { stdout: { path: outFile, mode: 0o600 }, stderr: { path: errFile, mode: 0o600 }, ...overrides });
  const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'latin1') : '');
  return { outcome, out: read(outFile), err: read(errFile) };
}

/** `ls -l /proc/self/fd` lines -> fd -> target, without ls's own directory fd. */
function parseFdListing(listing: string): Map<number, string> {
  const fds = new Map<number, string>();
  for (const [, fd = '', target = ''] of listing.matchAll(/ (\d+) -> (.*)$/gm)) {
    if (!/^\/proc\/\d+\/fd$/.test(target)) fds.set(Number(fd), target);
  }
  return fds;
}

for (const name of spawnersUnderTest()) {
  describe(`spawner contract: ${name}`, () => {
    let spawner: Spawner;
    before(() => {
      spawner = createSpawner(name);
    });

    test('exit statuses are reported as such', async () => {
      for (const status of [0, 1, 75, 100, 111, 255]) {
        const outcome = await run(spawner, { args: [String(status)] });
        assert.deepEqual(outcome.kind === 'exited' && [outcome.exitCode, outcome.stdinError], [status, null], String(status));
        assert.ok(outcome.kind === 'exited' && outcome.pid > 0);
      }
    });

    test('a signal the program got from elsewhere is reported by name', async () => {
      for (const signal of ['KILL', 'TERM', 'USR1'] as const) {
        const outcome = await run(spawner, { file: program('kill-self.sh'), args: [signal] });
        assert.deepEqual(outcome.kind === 'signaled' && outcome.signal, `SIG${signal}`);
      }
    });

    const failures: ReadonlyArray<readonly [string, Partial<RunSpec>, string]> = [
      ['a missing program', { file: path.join(tmp, 'no-such-program') }, 'ENOENT'],
      ['a program without x bit', { file: program('not-executable.sh') }, 'EACCES'],
      ['a directory', { file: tmp }, 'EACCES'],
      ['a NUL byte in an argument', { args: ['a\0b'] }, 'ERR_SPAWN_INVALID_ARG'],
      ['a NUL byte in the environment', { env: { A: 'x\0y' } }, 'ERR_SPAWN_INVALID_ARG'],
      ['a NUL byte in cwd', { cwd: '/t\0mp' }, 'ERR_SPAWN_INVALID_ARG'],
    ];
    for (const [what, overrides, code] of failures) {
      test(`spawn-failed ${code} for ${what}, as a value`, async () => {
        const outcome = await run(spawner, overrides);
        assert.equal(outcome.kind, 'spawn-failed');
        assert.equal(outcome.errorCode, code);
        assert.ok(outcome.message.length > 0);
      });
    }

    test('a file without "#!" runs through /bin/sh, as execvp does', async () => {
      const outcome = await run(spawner, { file: program('no-shebang.sh'), args: ['42'] });
      assert.equal(outcome.kind === 'exited' && outcome.exitCode, 42);
    });

    test('cwd and umask: the program starts in that directory, with that mask', async () => {
      const { outcome, out } = await runToFiles(spawner, { file: identity, cwd: openDir, umask: 0o027 }, `cwd-umask-${name}`);
      assert.equal(outcome.kind === 'exited' && outcome.exitCode, 0, out);
      const [, , , pwd, umask] = out.split('\n');
      assert.deepEqual([pwd, umask], [openDir, '0027']);
    });

    test('a cwd that does not exist: spawn-failed ENOENT, as a value', async () => {
      const outcome = await run(spawner, { cwd: path.join(tmp, 'no-such-directory') });
      assert.deepEqual(outcome.kind === 'spawn-failed' && outcome.errorCode, 'ENOENT');
    });

    test('runAs: the ids given, no supplementary groups, with cwd and umask', ROOT_ONLY, async () => {
      const { uid, gid } = nobody();
      const { outcome, out } = await runToFiles(spawner, { file: identity, runAs: { uid, gid }, cwd: openDir, umask: 0o027 }, `run-as-${name}`, nobodyDir);
      assert.equal(outcome.kind === 'exited' && outcome.exitCode, 0, out);
      // id -G lists the primary group and then the supplementary ones: only the first here.
      assert.deepEqual(out.split('\n').slice(0, 5), [String(uid), String(gid), String(gid), openDir, '0027']);
    });

    test('runAs: the timeout still reaches the program (root signals any uid)', ROOT_ONLY, async () => {
      const { uid, gid } = nobody();
      const outcome = await run(spawner, { file: program('sleep.sh'), args: ['30'], runAs: { uid, gid }, cwd: openDir, timeoutMs: 200 });
      assert.deepEqual(outcome.kind === 'timed-out' && outcome.signal, 'SIGTERM');
    });

    const asNobody: ReadonlyArray<readonly [string, () => Partial<RunSpec>, string]> = [
      ['a missing program', () => ({ file: path.join(openDir, 'no-such-program') }), 'ENOENT'],
      ['a program without x bit', () => ({ file: program('not-executable.sh') }), 'EACCES'],
      ['a directory', () => ({ file: openDir }), 'EACCES'],
      ['a cwd that does not exist', () => ({ file: identity, cwd: path.join(openDir, 'no-such-directory') }), 'ENOENT'],
    ];
    for (const [what, overrides, code] of asNobody) {
      test(`runAs: spawn-failed ${code} for ${what}, as a value`, ROOT_ONLY, async () => {
        const outcome = await run(spawner, { runAs: nobody(), cwd: openDir, ...overrides() });
        assert.deepEqual(outcome.kind === 'spawn-failed' && outcome.errorCode, code);
      });
    }

    test('runAs ids outside 0..2^31-1 are refused as a value, never read as "keep ours"', async () => {
      for (const runAs of [{ uid: 2 ** 32 - 2, gid: 0 }, { uid: -1, gid: -1 }, { uid: 1.5, gid: 0 }]) {
        const outcome = await run(spawner, { runAs });
        assert.deepEqual(outcome.kind === 'spawn-failed' && outcome.errorCode, 'ERR_SPAWN_INVALID_ARG', JSON.stringify(runAs));
      }
    });

    test('umask set: a missing or non-executable program is still a start failure, not an exit', async () => {
      const missing = await run(spawner, { file: path.join(tmp, 'no-such-program'), umask: 0o022 });
      assert.deepEqual(missing.kind === 'spawn-failed' && missing.errorCode, 'ENOENT');
      const notExecutable = await run(spawner, { file: program('not-executable.sh'), umask: 0o022 });
      assert.deepEqual(notExecutable.kind === 'spawn-failed' && notExecutable.errorCode, 'EACCES');
    });

    test('argv reaches the program exactly, without a shell', async () => {
      const out = path.join(tmp, `args-${name}`);
      const args = ['', 'a b', '$(id)', '*', "'q' \"d\"", '-x=y', 'é ü 😀', '\\'];
      await run(spawner, { file: program('print-args.sh'), args: [out, ...args] });
      assert.deepEqual(readFileSync(out, 'utf8').split('\n').slice(0, -1), args);
    });

    test('the environment is exactly the one given: nothing inherited, nothing added', async () => {
      process.env['SMTPIPE_CANARY'] = 'must not leak';
      const file = path.join(tmp, `env-${name}`);
      const env = { SENDER: 'a@example.com', ODD: 'x y=z\nline 2', EMPTY: '', UNICODE: 'é😀' };
      await run(spawner, { file: program('print-env.sh'), args: [file], env });
      const seen = readFileSync(file, 'utf8').split('\0').filter((entry) => entry !== '');
      assert.deepEqual(seen.sort(), Object.entries(env).map(([k, v]) => `${k}=${v}`).sort());
      await run(spawner, { file: program('print-env.sh'), args: [file], env: {} });
      assert.equal(readFileSync(file, 'utf8'), '');
    });

    test('stdin: the body arrives byte for byte, small and large', async () => {
      const out = path.join(tmp, `stdin-${name}`);
      const every = Buffer.alloc(1024, 0).map((_, i) => i % 256);
      for (const body of [every, randomBytes(8 * 1024 * 1024), Buffer.alloc(0)]) {
        const outcome = await run(spawner, { file: program('cat-to-file.sh'), args: [out], body });
        assert.deepEqual(outcome.kind === 'exited' && [outcome.exitCode, outcome.stdinError], [0, null]);
        assert.ok(readFileSync(out).equals(body), `${body.length} bytes`);
      }
    });

    for (const [how, setup] of [[' (posix_spawn path)', {}], [' (with a cwd: vfork path)', { cwd: openDir }]] as const) {
      test(`stdinFile: the given fd is the program's stdin, no pipe, and stays ours${how}`, async () => {
        const out = path.join(tmp, `stdin-file-${name}`);
        const body = randomBytes(300_000);
        const file = path.join(tmp, `stdin-source-${name}`);
        writeFileSync(file, body);
        const fd = openSync(file, 'r');
        try {
          const started = await spawner.startProgram({ file: program('cat-to-file.sh'), args: [out], env: {}, stdout: null, stderr: null, ...KEEP_OURS, ...setup, stdinFile: fd });
          assert.ok(started.ok, JSON.stringify(started));
          assert.equal(started.program.stdin, null, 'no pipe when stdinFile is given');
          assert.deepEqual(await started.program.exited, { exitCode: 0, signal: null, killFailure: null });
          started.program.killGroup('SIGKILL');
          assert.ok(readFileSync(out).equals(body));
          assert.equal(fstatSync(fd).size, body.length, 'the caller\'s fd is still open');
        } finally {
          closeSync(fd);
        }
      });
    }

    test('a program that exits without reading its input: EPIPE recorded, exit status decides', async () => {
      for (const status of [0, 3]) {
        const outcome = await run(spawner, { file: program('ignore-stdin-exit.sh'), args: [String(status)], body: Buffer.alloc(5 * 1024 * 1024, 'a') });
        assert.deepEqual(outcome.kind === 'exited' && [outcome.exitCode, outcome.stdinError], [status, 'EPIPE']);
      }
    });

    test('stdout and stderr go straight to the given fds', async () => {
      const { outcome, out, err } = await runToFiles(spawner, { file: program('write-out-err.sh'), args: ['to out', 'to err'] }, `out-err-${name}`);
      assert.equal(outcome.kind === 'exited' && outcome.exitCode, 0);
      assert.deepEqual([out, err], ['to out\n', 'to err\n']);
    });

    // With a cwd the native spawner takes its vfork path, which sets up fds and signals itself.
    for (const [how, setup] of [['', {}], [', with a cwd', { cwd: tmp }]] as const) {
      test(`the program sees only fds 0 (stdin), 1 and 2${how}`, async () => {
        const { out } = await runToFiles(spawner, { file: program('list-fds.sh'), stderr: null, ...setup }, `fds-${name}`);
        const fds = parseFdListing(out);
        assert.deepEqual([...fds.keys()].sort(), [0, 1, 2], out);
        assert.match(fds.get(0) ?? '', name === 'native' ? /^pipe:\[\d+\]$/ : /^socket:\[\d+\]$/);
        assert.equal(fds.get(1), path.join(tmp, `fds-${name}.out`));
        assert.equal(fds.get(2), '/dev/null');
      });

      test(`no signal ignored nor blocked; the program leads its own session and group, without a terminal${how}`, async () => {
        const file = path.join(tmp, `proc-${name}`);
        const outcome = await run(spawner, { file: program('proc-self.sh'), args: [file], ...setup });
        assert.ok(outcome.kind === 'exited');
        const text = readFileSync(file, 'latin1');
        // Node ignores SIGPIPE and SIGXFSZ; exec would keep that without a reset.
        assert.match(text, /^SigIgn:\s*0+$/m);
        assert.match(text, /^SigBlk:\s*0+$/m);
        // The last line is /proc/self/stat: "pid (comm) state ppid pgrp session tty_nr ...".
        const stat = text.trimEnd().split('\n').at(-1) ?? '';
        const [, , pgrp, session, ttyNr] = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
        assert.equal(Number(stat.split(' ')[0]), outcome.pid);
        assert.deepEqual([pgrp, session, ttyNr], [outcome.pid, outcome.pid, 0]);
      });
    }

    test('a grandchild holding stdin/stdout does not hold up the run, and dies with the group', async () => {
      const pidFile = path.join(tmp, `grandchild-${name}.pid`);
      const { result, ms } = await timed(() =>
        runToFiles(spawner, { file: program('grandchild.sh'), args: [pidFile, '30'], body: Buffer.alloc(2 * 1024 * 1024, 'a') }, `grandchild-${name}`),
      );
      const { outcome } = result;
      assert.deepEqual(outcome.kind === 'exited' && [outcome.exitCode, outcome.stdinError], [0, 'EPIPE']);
      assert.ok(ms < 5_000, `ran ${ms} ms`);
      const grandchild = Number(readFileSync(pidFile, 'latin1'));
      assert.ok(grandchild > 0);
      assert.equal(await awaitDeath(grandchild), true, `grandchild ${grandchild} still running`);
    });

    // The spawner's contract ends at the group; the CLI daemon, a child subreaper, ends such
    // escapes once their delivery is over (test/process/escapes.test.ts).
    test('a grandchild that left the group with setsid is out of the spawner\'s reach', async () => {
      const pidFile = path.join(tmp, `setsid-${name}.pid`);
      const outcome = await run(spawner, { file: program('setsid-grandchild.sh'), args: [pidFile, '30'] });
      assert.equal(outcome.kind, 'exited');
      const escaped = Number(readFileSync(pidFile, 'latin1'));
      try {
        assert.match(procStat(escaped)?.state ?? 'gone', /^[RS]$/, `escaped grandchild ${escaped} should be alive`);
      } finally {
        process.kill(escaped, 'SIGKILL');
      }
      assert.equal(await awaitDeath(escaped), true);
    });

    test('timeout: SIGTERM honoured ends the run; SIGTERM ignored escalates to SIGKILL after the grace', async () => {
      const term = await timed(() => run(spawner, { file: program('sleep.sh'), args: ['30'], timeoutMs: 200, killGraceMs: 5_000 }));
      assert.deepEqual(term.result.kind === 'timed-out' && term.result.signal, 'SIGTERM');
      assert.ok(term.ms >= 195 && term.ms < 1_700, `ran ${term.ms} ms`);
      const kill = await timed(() => run(spawner, { file: program('trap-term.sh'), args: ['30'], timeoutMs: 200, killGraceMs: 300 }));
      assert.deepEqual(kill.result.kind === 'timed-out' && kill.result.signal, 'SIGKILL');
      assert.ok(kill.ms >= 495 && kill.ms < 2_000, `ran ${kill.ms} ms`);
    });

    test('the interface itself: stdin is destroyed at exit, killGroup after exit is harmless', async () => {
      const started = await spawner.startProgram({ file: program('sleep.sh'), args: ['30'], env: {}, stdout: null, stderr: null, ...KEEP_OURS });
      assert.ok(started.ok);
      const { program: running } = started;
      assert.equal(running.killGroup('SIGTERM'), null);
      assert.deepEqual(await running.exited, { exitCode: null, signal: 'SIGTERM', killFailure: null });
      assert.equal(running.stdin?.destroyed, true);
      assert.equal(running.killGroup('SIGKILL'), null, 'a group already gone is no failure');
      assert.equal(running.killGroup('SIGKILL'), null);
    });

    test('no child is left behind after many concurrent runs: nothing running, no zombie', async () => {
      const kinds = new Map<string, number>();
      for (let batch = 0; batch < 10; batch += 1) {
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            i % 4 === 3 ? run(spawner, { file: program('kill-self.sh'), args: ['KILL'] }) : run(spawner, { args: [String(i)] }),
          ),
        );
        for (const o of outcomes) kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
      }
      assert.deepEqual(Object.fromEntries(kinds), { exited: 150, signaled: 50 });
      assert.deepEqual(childrenOfThisProcess(), []);
    });
  });
}

if (spawnersUnderTest().length > 1) {
  test('both spawners in one thread at once: each sees only its own exits', async () => {
    const spawners = [createSpawner('child_process'), createSpawner('native')];
    const runs = Array.from({ length: 40 }, async (_, i) => {
      const spawner = spawners[i % 2] as Spawner;
      const started = await spawner.startProgram({ file: program('exit-with.sh'), args: [String(i)], env: {}, stdout: null, stderr: null, ...KEEP_OURS });
      assert.ok(started.ok);
      assert.ok(started.program.stdin !== null);
      started.program.stdin.end(`message ${i}\n`);
      const exit = await started.program.exited;
      started.program.killGroup('SIGKILL');
      return `${spawner.name} ${exit.exitCode}`;
    });
    const seen = await Promise.all(runs);
    assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => `${i % 2 === 0 ? 'child_process' : 'native'} ${i}`));
    assert.deepEqual(childrenOfThisProcess(), []);
  });
}
