// deliver() called directly (no pool), a message in memory: what the program sees on
// stdin, how each way of ending becomes a ProgramOutcome, and what happens to output_file /
// error_file. Spooled messages: worker-spooled.test.ts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDeliver } from '../../workers/deliver.js';
import type { DeliveryTask } from '../../src/pool/task.js';
import { fixture } from '../helpers/paths.js';
import { inMemory, makeTask } from '../helpers/task.js';
import { testSpawner } from '../helpers/spawner.js';
import { timed } from '../helpers/timed.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-worker-deliver-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
// A thread's delivery function as a pool worker gets it, with the spawner under test.
const deliver = createDeliver({ spawner: testSpawner() });

const program = (name: string): string => fixture('programs', name);

const task = makeTask;

/** The umask of this process, read without the deprecated process.umask() getter. */
function umask(): number {
  const match = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'latin1'));
  assert.ok(match?.[1] !== undefined);
  return parseInt(match[1], 8);
}

const MESSAGE = 'Received: by test\n\nSubject: s\r\n\r\nline 1\r\n\r\n.dot\r\n\xe9\xff\x00\rbare\n';

test('exit 0: the program sees the message byte for byte, nothing rewritten', async () => {
  const out = path.join(tmp, 'stdin.eml');
  const outcome = await deliver(task({ program: program('cat-to-file.sh'), args: [out], message: inMemory(MESSAGE) }));
  assert.equal(outcome.kind, 'exited');
  assert.equal(outcome.exitCode, 0);
  assert.equal(outcome.stdinError, null);
  assert.ok(outcome.pid > 0);
  assert.deepEqual(readFileSync(out), Buffer.from(MESSAGE, 'latin1'));
});

test('a 5 MB message reaches the program intact (backpressure path)', async () => {
  const out = path.join(tmp, 'big.eml');
  const line = 'y'.repeat(76) + '\r\n';
  const message = 'Subject: big\r\n\r\n' + line.repeat(Math.ceil(5_000_000 / line.length));
  const outcome = await deliver(task({ program: program('cat-to-file.sh'), args: [out], message: inMemory(message) }));
  assert.deepEqual(outcome.kind === 'exited' && [outcome.exitCode, outcome.stdinError], [0, null]);
  assert.ok(readFileSync(out).equals(Buffer.from(message, 'latin1')));
});

for (const status of [1, 75, 100, 111, 255]) {
  test(`exit ${status} is reported as such`, async () => {
    const outcome = await deliver(task({ args: [String(status)] }));
    assert.deepEqual(outcome.kind === 'exited' && [outcome.exitCode, outcome.stdinError], [status, null]);
  });
}

for (const signal of ['KILL', 'USR1'] as const) {
  test(`a program killed by SIG${signal} (not by us) is 'signaled'`, async () => {
    const outcome = await deliver(task({ program: program('kill-self.sh'), args: [signal] }));
    assert.equal(outcome.kind, 'signaled');
    assert.equal(outcome.signal, `SIG${signal}`);
  });
}

test('timeout: SIGTERM honoured ends the run at once', async () => {
  const { result: outcome, ms } = await timed(() => deliver(task({ program: program('sleep.sh'), args: ['30'], timeoutMs: 200, killGraceMs: 5_000 })));
  assert.equal(outcome.kind, 'timed-out');
  assert.equal(outcome.signal, 'SIGTERM');
  assert.ok(ms >= 195 && ms < 200 + 1_500, `ran ${ms} ms`);
});

test('timeout: SIGTERM ignored escalates to SIGKILL after the grace', async () => {
  const { result: outcome, ms } = await timed(() => deliver(task({ program: program('trap-term.sh'), args: ['30'], timeoutMs: 200, killGraceMs: 300 })));
  assert.equal(outcome.kind, 'timed-out');
  assert.equal(outcome.signal, 'SIGKILL');
  assert.ok(ms >= 495 && ms < 500 + 1_500, `ran ${ms} ms`);
});

const spawnFailures: ReadonlyArray<readonly [string, Partial<DeliveryTask>, string]> = [
  ['a missing program', { program: path.join(tmp, 'no-such-program') }, 'ENOENT'],
  ['a program without x bit', { program: program('not-executable.sh') }, 'EACCES'],
  ['a directory', { program: tmp }, 'EACCES'],
  ['an argument with a NUL byte', { args: ['a\0b'] }, 'ERR_SPAWN_INVALID_ARG'],
];
for (const [name, overrides, code] of spawnFailures) {
  test(`spawn-failed (${code}) for ${name}, without throwing`, async () => {
    const outcome = await deliver(task(overrides));
    assert.equal(outcome.kind, 'spawn-failed');
    assert.equal(outcome.errorCode, code);
    assert.ok(outcome.message.length > 0);
  });
}

const outputFailures: ReadonlyArray<readonly [string, (marker: string) => Partial<DeliveryTask>, string, string]> = [
  ['output_file is a directory', () => ({ outputFile: tmp }), tmp, 'EISDIR'],
  ['error_file in a missing directory', () => ({ errorFile: path.join(tmp, 'nope', 'err') }), path.join(tmp, 'nope', 'err'), 'ENOENT'],
];
for (const [name, overrides, failedPath, code] of outputFailures) {
  test(`output-failed (${code}) when ${name}: the program is not started`, async () => {
    // Running as root here, so a permission-based "unwritable" file would open anyway.
    const marker = path.join(tmp, `marker-${code}`);
    const outcome = await deliver(task({ program: program('cat-to-file.sh'), args: [marker], ...overrides(marker) }));
    assert.equal(outcome.kind, 'output-failed');
    assert.ok(outcome.message.includes(` ${failedPath}: `), outcome.message);
    assert.equal(outcome.errorCode, code);
    assert.equal(existsSync(marker), false, 'program must not have run');
  });
}

test('output_file and error_file: created with their modes, appended to on every run', async () => {
  const outputFile = path.join(tmp, 'out.log');
  const errorFile = path.join(tmp, 'err.log');
  const run = (n: number) =>
    deliver(task({ program: program('write-out-err.sh'), args: [`out ${n}`, `err ${n}`], outputFile, errorFile }));
  assert.equal((await run(1)).kind, 'exited');
  assert.equal(statSync(outputFile).mode & 0o777, 0o640 & ~umask());
  assert.equal(statSync(errorFile).mode & 0o777, 0o600 & ~umask());
  assert.equal((await run(2)).kind, 'exited');
  assert.equal(readFileSync(outputFile, 'utf8'), 'out 1\nout 2\n');
  assert.equal(readFileSync(errorFile, 'utf8'), 'err 1\nerr 2\n');
});

test('output_file already holding data is appended to, not truncated', async () => {
  const outputFile = path.join(tmp, 'existing.log');
  writeFileSync(outputFile, 'before\n');
  await deliver(task({ program: program('write-out-err.sh'), args: ['after', 'e'], outputFile }));
  assert.equal(readFileSync(outputFile, 'utf8'), 'before\nafter\n');
});

for (const status of [0, 3]) {
  test(`a program exiting ${status} without reading a 5 MB message: EPIPE recorded, exit status decides`, async () => {
    const message = inMemory(Buffer.alloc(5 * 1024 * 1024, 'a'));
    const outcome = await deliver(task({ program: program('ignore-stdin-exit.sh'), args: [String(status)], message }));
    assert.equal(outcome.kind, 'exited');
    assert.equal(outcome.exitCode, status);
    assert.equal(outcome.stdinError, 'EPIPE');
  });
}
