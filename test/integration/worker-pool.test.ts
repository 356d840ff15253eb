// deliver() through the daemon's own pool (createDeliveryPool, as production configures
// Piscina): the message buffer transferred (not copied) or a spool file's fd shared,
// outcomes back as plain data, several runs per worker thread.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TransportConfig } from '../../src/config/types.js';
import { loadConfig } from '../../src/config/load.js';
import { closeLeakingFds } from '../../src/ops/inherited-fds.js';
import { createDeliveryPool, type DeliveryPool } from '../../src/pool/pool.js';
import type { DeliveryTask, PoolOutcome } from '../../src/pool/task.js';
import { fixture } from '../helpers/paths.js';
import { childrenOfThisProcess } from '../helpers/processes.js';
import { inMemory, makeTask, spooled } from '../helpers/task.js';
import { testSpawner } from '../helpers/spawner.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-worker-pool-'));
const program = (name: string): string => fixture('programs', name);

let pool: DeliveryPool;
let transport: TransportConfig;
before(async () => {
  // As the daemon's start-up must: before any thread or program exists.
  closeLeakingFds();
  const text = `Pool_Threads = 2\nPool_Tasks_Per_Thread = 4\nSpawner = ${testSpawner()}\n` +
    'ESMTP_Listener { Listen "127.0.0.1:0" { } }\n' +
    'pipe_transport "t" { program_name = "/bin/cat" domain = "t.example" concurrency = 16 }\n';
  const file = path.join(tmp, 'worker-pool.conf');
  writeFileSync(file, text);
  // Host facts of an unprivileged daemon: programs keep the test's own ids.
  const loaded = await loadConfig(file, { hostname: 'mx.test', parallelism: 2, uid: 1000, gid: 1000 });
  assert.ok(loaded.ok, JSON.stringify(loaded));
  pool = createDeliveryPool(loaded.config);
  const first = loaded.config.transports[0];
  assert.ok(first !== undefined);
  transport = first;
});
after(async () => {
  await pool.close();
  rmSync(tmp, { recursive: true, force: true });
});

const task = makeTask;

/** Runs a task the way the dispatcher does: the message moves to the worker. */
function run(t: DeliveryTask): Promise<PoolOutcome> {
  return pool.run(transport, t);
}

test('the message is transferred and seen byte for byte by the program, nothing rewritten', async () => {
  const out = path.join(tmp, 'pool.eml');
  const message = 'X-Pool: 1\nSubject: p\r\n\r\nline\r\n.dot\r\n\xe9\rbare\n';
  const t = task({ program: program('cat-to-file.sh'), args: [out], message: inMemory(message) });
  const pending = run(t);
  assert.equal(t.message.kind === 'bytes' && t.message.bytes.byteLength, 0, 'the ArrayBuffer was transferred, not copied');
  const outcome = await pending;
  assert.ok(outcome.kind === 'exited', JSON.stringify(outcome));
  assert.deepEqual([outcome.exitCode, outcome.stdinError, outcome.killFailures], [0, null, []]);
  assert.equal(readFileSync(out, 'latin1'), message);
});

test('a spooled message: a worker thread gives the program the file as stdin, the fd stays ours', async () => {
  const out = path.join(tmp, 'pool-spooled.eml');
  const message = 'Subject: spooled\r\n\r\n' + 'x'.repeat(100_000) + '\r\n';
  const spool = spooled(tmp, message);
  try {
    const outcomes = await Promise.all([1, 2, 3].map(() => run(task({ program: program('cat-to-file.sh'), args: [`${out}.${Math.random()}`], message: spool }))));
    for (const outcome of outcomes) assert.deepEqual(outcome.kind === 'exited' && [outcome.exitCode, outcome.stdinError], [0, null]);
    const last = await run(task({ program: program('cat-to-file.sh'), args: [out], message: spool }));
    assert.deepEqual(last.kind === 'exited' && last.exitCode, 0);
    assert.equal(readFileSync(out, 'latin1'), message);
    assert.equal(fstatSync(spool.fd).size, spool.size, 'the task fd is still open, its file intact');
  } finally {
    closeSync(spool.fd);
  }
});

test('16 concurrent runs over 2 threads each get their own outcome and bytes', async () => {
  const runs = Array.from({ length: 16 }, async (_, i) => {
    const out = path.join(tmp, `concurrent-${i}.eml`);
    const message = `Subject: ${i}\r\n\r\n${'z'.repeat(i * 10_000)}\r\n`;
    const outcome = await run(task({ program: program('cat-to-file.sh'), args: [out, String(i)], message: inMemory(message) }));
    assert.equal(outcome.kind === 'exited' && outcome.exitCode, i);
    assert.equal(readFileSync(out, 'latin1'), message);
  });
  await Promise.all(runs);
});

test('timeout with SIGTERM ignored is enforced inside the worker (SIGKILL after the grace)', async () => {
  const started = performance.now();
  const outcome = await run(task({ program: program('trap-term.sh'), timeoutMs: 200, killGraceMs: 200 }));
  const tookMs = performance.now() - started;
  assert.ok(outcome.kind === 'timed-out', JSON.stringify(outcome));
  assert.equal(outcome.signal, 'SIGKILL');
  assert.ok(tookMs < 400 + 1_500, `took ${tookMs} ms`);
});

test('failures come back as plain data, not thrown errors', async () => {
  const spawnFailed = await run(task({ program: path.join(tmp, 'missing') }));
  assert.equal(Object.getPrototypeOf(spawnFailed), Object.prototype, 'a plain object, not an Error');
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
  assert.deepEqual(childrenOfThisProcess(), []);
});
