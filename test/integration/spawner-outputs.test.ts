// The spawner contract for stdout / stderr files (contract.ts OutputFile), against every
// spawner and both identities (ours, and nobody when we are root): who opens them, what
// is refused (symbolic link, FIFO, device, directory, hard link), and that nothing blocks.
// SMTPIPE_TEST_SPAWNER narrows the spawners (test/helpers/spawner.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, constants, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeLeakingFds } from '../../src/ops/inherited-fds.js';
import type { RunAs } from '../../src/config/types.js';
import { runProgram, type RunOutcome, type RunSpec } from '../../workers/run-program.js';
import type { Spawner } from '../../workers/spawners/contract.js';
import { createSpawner } from '../../workers/spawners/select.js';
import { fixture } from '../helpers/paths.js';
import { spawnersUnderTest } from '../helpers/spawner.js';
import { timed } from '../helpers/timed.js';

const IS_ROOT = process.getuid?.() === 0;
const [, , nobodyUid, nobodyGid] = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':').map(Number);
const NOBODY: RunAs = { uid: nobodyUid as number, gid: nobodyGid as number };

/** Any user may enter it; each identity gets a directory of its own inside, which it owns. */
const base = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-spawner-outputs-'));
chmodSync(base, 0o755);
/** Stands in for a root-only file: mode 0600 in a 0700 directory. */
const secretDir = path.join(base, 'secret');
const secret = path.join(secretDir, 'file');
mkdirSync(secretDir, { mode: 0o700 });
writeFileSync(secret, 'secret\n', { mode: 0o600 });
/** Copies of the fixtures, where nobody may run them. */
const programs = path.join(base, 'programs');
mkdirSync(programs, { mode: 0o755 });
for (const name of ['write-out-err.sh', 'cat-to-file.sh']) {
  writeFileSync(path.join(programs, name), readFileSync(fixture('programs', name)), { mode: 0o755 });
}
const program = (name: string): string => path.join(programs, name);

before(() => closeLeakingFds());
after(() => rmSync(base, { recursive: true, force: true }));

const identities: ReadonlyArray<readonly [string, RunAs | null]> = [['as us', null], ...(IS_ROOT ? [['as nobody', NOBODY] as const] : [])];
let dirCount = 0;

for (const spawnerName of spawnersUnderTest()) {
  for (const [who, runAs] of identities) {
    describe(`output files, ${spawnerName} spawner, program ${who}`, () => {
      /** The program's own directory: its user may create files there. */
      let dir: string;
      let spawner: Spawner;
      before(() => {
        spawner = createSpawner(spawnerName);
        dir = path.join(base, `dir-${(dirCount += 1)}`);
        mkdirSync(dir, { mode: 0o755 });
        if (runAs !== null) chownSync(dir, runAs.uid, runAs.gid);
      });

      /** write-out-err.sh "out" "err"; a marker file says whether the program ran. */
      function run(overrides: Partial<RunSpec>): Promise<RunOutcome> {
        return runProgram(spawner, {
          file: program('write-out-err.sh'),
          args: ['out', 'err'],
          env: {},
          stdout: null,
          stderr: null,
          runAs,
          cwd: dir,
          umask: null,
          stdinFile: null,
          capture: { stdout: false, stderr: false },
          replyFromOutput: 'none',
          body: Buffer.from('body\n'),
          timeoutMs: 30_000,
          killGraceMs: 1_000,
          ...overrides,
        });
      }
      const to = (file: string, mode = 0o600) => ({ path: file, mode });
      /** output-failed for that path, with that code, and the message naming option and path. */
      function assertRefused(outcome: RunOutcome, option: 'output_file' | 'error_file', file: string, code: string): void {
        assert.equal(outcome.kind, 'output-failed', JSON.stringify(outcome));
        assert.deepEqual(outcome.kind === 'output-failed' && outcome.errorCode, code);
        assert.ok(outcome.kind === 'output-failed' && outcome.message.startsWith(`${option} ${file}: `), outcome.message);
      }

      test('a file the run creates belongs to the program, with the mode minus its umask; later runs append', async () => {
        const out = path.join(dir, 'created.out');
        const outcome = await run({ stdout: to(out, 0o666), umask: 0o027 });
        assert.deepEqual(outcome.kind === 'exited' && outcome.exitCode, 0);
        const stat = statSync(out);
        const owner = runAs ?? { uid: process.getuid?.(), gid: process.getgid?.() };
        assert.deepEqual([stat.uid, stat.gid, stat.mode & 0o777], [owner.uid, owner.gid, 0o640]);
        chmodSync(out, 0o604);
        await run({ stdout: to(out, 0o666), umask: 0o027 });
        assert.equal(readFileSync(out, 'utf8'), 'out\nout\n');
        assert.equal(statSync(out).mode & 0o777, 0o604, 'an existing file keeps its mode');
      });

      test('a symbolic link at the path (to a root-only file, or dangling): ELOOP, nothing written, the program never ran', async () => {
        const out = path.join(dir, 'link.out');
        const marker = path.join(dir, 'ran');
        for (const target of [secret, path.join(secretDir, 'missing')]) {
          rmSync(out, { force: true });
          symlinkSync(target, out);
          const outcome = await run({ file: program('cat-to-file.sh'), args: [marker], stdout: to(out) });
          assertRefused(outcome, 'output_file', out, 'ELOOP');
          assert.equal(readFileSync(secret, 'utf8'), 'secret\n');
          assert.equal(existsSync(path.join(secretDir, 'missing')), false);
          assert.equal(existsSync(marker), false, 'the program must not have run');
        }
      });

      test('error_file refused: the outcome names error_file', async () => {
        const err = path.join(dir, 'link.err');
        symlinkSync(secret, err);
        assertRefused(await run({ stdout: to(path.join(dir, 'fine.out')), stderr: to(err) }), 'error_file', err, 'ELOOP');
      });

      test('a FIFO without reader, five at once (more than libuv has pool threads): refused at once', async () => {
        const fifo = path.join(dir, 'fifo.out');
        execFileSync('mkfifo', ['-m', '0666', fifo]);
        const outcomes = await Promise.all(Array.from({ length: 5 }, () => timed(() => run({ stdout: to(fifo) }))));
        for (const { result, ms } of outcomes) {
          assertRefused(result, 'output_file', fifo, 'ERR_OUTPUT_NOT_REGULAR');
          assert.ok(ms < 5_000, `refused after ${ms} ms`);
        }
      });

      test('a FIFO with a reader: refused too, nothing written into it', async () => {
        const fifo = path.join(dir, 'read-fifo.out');
        execFileSync('mkfifo', ['-m', '0666', fifo]);
        const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
        try {
          assertRefused(await run({ stdout: to(fifo) }), 'output_file', fifo, 'ERR_OUTPUT_NOT_REGULAR');
          assert.equal(readFileSync(reader).length, 0, 'nothing must have been written');
        } finally {
          closeSync(reader);
        }
      });

      test('a device (/dev/null) or a directory at the path: refused', async () => {
        assertRefused(await run({ stdout: to('/dev/null') }), 'output_file', '/dev/null', 'ERR_OUTPUT_NOT_REGULAR');
        assertRefused(await run({ stderr: to(dir) }), 'error_file', dir, 'EISDIR');
      });

      test('a missing directory: ENOENT; a directory the program may not write: EACCES (not as root)', async () => {
        const missing = path.join(dir, 'no-such-dir', 'x.out');
        assertRefused(await run({ stdout: to(missing) }), 'output_file', missing, 'ENOENT');
        if (runAs !== null) {
          assertRefused(await run({ stdout: to(path.join(secretDir, 'x.out')) }), 'output_file', path.join(secretDir, 'x.out'), 'EACCES');
          assert.equal(existsSync(path.join(secretDir, 'x.out')), false);
        }
      });

      // The wrapper shell cannot read st_nlink (shell-wrapper.ts): documented, not refused.
      const hardLinks = spawnerName === 'child_process' && runAs !== null ? { skip: 'child_process as another user cannot refuse hard links (documented)' } : {};
      test('a hard-linked file at the path: ERR_OUTPUT_HARDLINKED, nothing appended', hardLinks, async () => {
        const target = path.join(dir, 'linked-target');
        const out = path.join(dir, 'linked.out');
        writeFileSync(target, 'before\n');
        chmodSync(target, 0o666); // writable by the program: only the second name is wrong
        linkSync(target, out);
        assertRefused(await run({ stdout: to(out) }), 'output_file', out, 'ERR_OUTPUT_HARDLINKED');
        assert.equal(readFileSync(target, 'utf8'), 'before\n');
      });
    });
  }
}
