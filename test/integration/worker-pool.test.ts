// deliver() through a real Piscina pool, as the dispatcher runs it: the message buffer
// transferred (not copied), outcomes back as plain data, several runs per worker thread.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import { closeLeakingFds } from '../../src/ops/inherited-fds.js';
import type { DeliveryTask, ProgramOutcome } from '../../src/pool/task.js';
import type { PoolWorkerData } from '../../src/pool/task.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { makeTask, wire } from '../helpers/task.js';
import { testSpawner } from '../helpers/spawner.js';
import { timed } from '../helpers/timed.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-worker-pool-'));
const program = (name: string): string => fixture('programs', name);

let pool: Piscina<DeliveryTask, ProgramOutcome>;
before(() => {
  // As the daemon's start-up must: before any thread or program exists.
  closeLeakingFds();
  pool = new Piscina<DeliveryTask, ProgramOutcome>({
    filename: path.join(repoRoot, 'dist', 'workers', 'deliver.js'),
    minThreads: 2,
    maxThreads: 2,
    concurrentTasksPerWorker: 4,
    workerData: { spawner: testSpawner() } satisfies Partial<PoolWorkerData>,
  });
});
after(async () => {
  await pool.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

const task = makeTask;

/** Runs a task the way the dispatcher must: the message moves to the worker. */
function run(t: DeliveryTask): Promise<ProgramOutcome> {
  return pool.run(t, { transferList: [t.message] });
}

test('the message is transferred, converted to LF and seen byte for byte by the program', async () => {
  const out = path.join(tmp, 'pool.eml');
  const message = 'Subject: p\r\n\r\nline\r\n.dot\r\n\xe9\r\n';
  const t = task({ program: program('cat-to-file.sh'), args: [out], eol: 'lf', header: 'X-Pool: 1\n', message: wire(message) });
  const pending = run(t);
  assert.equal(t.message.byteLength, 0, 'the ArrayBuffer was transferred, not copied');
  const outcome = await pending;
  assert.deepEqual({ ...outcome, pid: 0 }, { kind: 'exited', pid: 0, exitCode: 0, stdinError: null, killFailures: [] });
  assert.equal(readFileSync(out, 'latin1'), 'X-Pool: 1\n' + message.replaceAll('\r\n', '\n'));
});

test('16 concurrent runs over 2 threads each get their own outcome and bytes', async () => {
  const runs = Array.from({ length: 16 }, async (_, i) => {
    const out = path.join(tmp, `concurrent-${i}.eml`);
    const message = `Subject: ${i}\r\n\r\n${'z'.repeat(i * 10_000)}\r\n`;
    const outcome = await run(task({ program: program('cat-to-file.sh'), args: [out, String(i)], message: wire(message) }));
    assert.equal(outcome.kind === 'exited' && outcome.exitCode, i);
    assert.equal(readFileSync(out, 'latin1'), message);
  });
  await Promise.all(runs);
});

test('timeout with SIGTERM ignored is enforced inside the worker (SIGKILL after the grace)', async () => {
  const { result: outcome, ms } = await timed(() => run(task({ program: program('trap-term.sh'), timeoutMs: 200, killGraceMs: 200 })));
  assert.equal(outcome.kind, 'timed-out');
  assert.equal(outcome.signal, 'SIGKILL');
  assert.ok(ms < 400 + 1_500, `ran ${ms} ms`);
});

test('failures come back as plain data, not thrown errors', async () => {
  const spawnFailed = await run(task({ program: path.join(tmp, 'missing') }));
  assert.deepEqual(Object.keys(spawnFailed).sort(), ['errorCode', 'kind', 'message']);
  assert.equal(spawnFailed.kind === 'spawn-failed' && spawnFailed.errorCode, 'ENOENT');
  const outputFailed = await run(task({ outputFile: tmp }));
  assert.equal(outputFailed.kind === 'output-failed' && outputFailed.errorCode, 'EISDIR');
  const signaled = await run(task({ program: program('kill-self.sh'), args: ['KILL'] }));
  assert.equal(signaled.kind === 'signaled' && signaled.signal, 'SIGKILL');
});

test('a program started from a worker thread sees only fds 0, 1 and 2', async () => {
  const outputFile = path.join(tmp, 'pool-fds.txt');
  await run(task({ program: program('list-fds.sh'), outputFile }));
  const listing = readFileSync(outputFile, 'latin1');
  const fds = [...listing.matchAll(/ (\d+) -> (.*)$/gm)]
    .filter(([, , target]) => !/^\/proc\/\d+\/fd$/.test(target ?? ''))
    .map(([, fd]) => Number(fd));
  assert.deepEqual(fds.sort(), [0, 1, 2], listing);
});

test('no child process is left behind by the pool: nothing running, no zombie', () => {
  const children = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(ppid) === process.pid ? [`${pid} ${state}`] : [];
      } catch {
        return []; // Handled: the process ended while we listed /proc.
      }
    });
  assert.deepEqual(children, []);
});
