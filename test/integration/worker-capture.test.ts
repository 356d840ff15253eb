// The capture of a program's stdout and stderr (workers/output-capture.ts) against both
// spawners: reading never blocks the run nor keeps it waiting on a writer that escaped
// the group, and a program that writes without end is drained, not buffered.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createDeliver } from '../../workers/deliver.js';
import { makeTask } from '../helpers/task.js';
import { spawnersUnderTest } from '../helpers/spawner.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-capture-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

for (const spawner of spawnersUnderTest()) {
  describe(`output capture: ${spawner}`, () => {
    const deliver = createDeliver({ spawner });

    test('a grandchild that left the group holding stderr does not hold the run; what came before the exit is kept', async () => {
      const pidFile = path.join(tmp, `escaped-${spawner}`);
      // setsid: out of the program's group, so the group kill misses it; it keeps fd 2.
      const script = `printf 'before exit\\n' >&2; setsid sleep 30 </dev/null >/dev/null & echo $! >"$1"; exit 3`;
      const started = performance.now();
      const outcome = await deliver(makeTask({ program: '/bin/sh', args: ['-c', script, 'sh', pidFile] }));
      const elapsedMs = performance.now() - started;
      try {
        assert.equal(outcome.kind, 'exited', JSON.stringify(outcome));
        assert.deepEqual(outcome.kind === 'exited' && [outcome.exitCode, outcome.stderrTail], [3, 'before exit\n']);
        assert.ok(elapsedMs < 5_000, `the run took ${elapsedMs} ms`);
      } finally {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      }
    });

    test('1 GiB on stdout with reply_from_output = "stdout": drained and dropped, the run ends with its exit', async () => {
      const script = 'head -c 1073741824 /dev/zero; printf "\\n5.1.1 late\\n"; exit 67';
      const before = process.memoryUsage().rss;
      const outcome = await deliver(makeTask({ program: '/bin/sh', args: ['-c', script], replyFromOutput: 'stdout', timeoutMs: 120_000 }));
      assert.deepEqual(outcome.kind === 'exited' && [outcome.exitCode, outcome.statusLine], [67, null], JSON.stringify(outcome));
      // Bounded: nowhere near the gigabyte went through memory at once.
      assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024);
    });

    test('1 GiB on stderr: only the last 1 KiB is kept', async () => {
      const script = 'head -c 1073741824 /dev/zero >&2; printf "the end\\n" >&2; exit 1';
      const outcome = await deliver(makeTask({ program: '/bin/sh', args: ['-c', script], timeoutMs: 120_000 }));
      assert.equal(outcome.kind, 'exited', JSON.stringify(outcome).slice(0, 200));
      const tail = outcome.kind === 'exited' ? (outcome.stderrTail ?? '') : '';
      assert.equal(Buffer.byteLength(tail), 1024);
      assert.ok(tail.endsWith('\0the end\n'));
    });

    test('a status line on stderr is found while stdout is not captured; on success neither is reported', async () => {
      const say = 'printf "5.2.2 Mailbox full\\n" >&2; exit "$1"';
      const failed = await deliver(makeTask({ program: '/bin/sh', args: ['-c', say, 'sh', '75'], replyFromOutput: 'stderr' }));
      assert.deepEqual(failed.kind === 'exited' && [failed.statusLine, failed.stderrTail], ['5.2.2 Mailbox full', '5.2.2 Mailbox full\n']);
      const ok = await deliver(makeTask({ program: '/bin/sh', args: ['-c', say, 'sh', '0'], replyFromOutput: 'stderr' }));
      assert.deepEqual(ok.kind === 'exited' && [ok.statusLine, ok.stderrTail], [null, null]);
    });
  });
}
