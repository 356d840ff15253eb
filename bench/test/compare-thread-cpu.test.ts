// thread-cpu.ts against real processes: a node parent with a node child (a front end) and a
// /bin/sleep child (a program), and this test's own threads.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { findFrontEnds, readProcessTicks, readSystemTicks } from '../compare/thread-cpu.js';

const PARENT = `
const { spawn } = require('node:child_process');
const node = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
const sleep = spawn('/bin/sleep', ['60'], { stdio: 'ignore' });
process.stdout.write(JSON.stringify({ node: node.pid, sleep: sleep.pid }) + '\\n');
process.on('SIGTERM', () => { node.kill(); sleep.kill(); process.exit(0); });
`;

test('front ends are the children running the same executable, not the programs', async (t) => {
  const parent = spawn(process.execPath, ['-e', PARENT], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => parent.kill());
  const [line] = (await once(parent.stdout, 'data')) as [Buffer];
  const pids = JSON.parse(line.toString()) as { node: number; sleep: number };
  assert.deepEqual(await findFrontEnds(parent.pid as number), [pids.node]);
  assert.deepEqual(await findFrontEnds(pids.sleep), []);
});

test('a process snapshot lists the main thread (TID == PID) and the whole process at least as busy as its threads', async () => {
  const snap = await readProcessTicks(process.pid);
  assert.ok(snap);
  assert.ok(snap.tasks.some((task) => task.tid === process.pid));
  assert.ok(snap.tasks.length > 1, 'node runs more than one thread');
  const threads = snap.tasks.reduce((sum, task) => sum + task.ticks, 0);
  assert.ok(snap.ownTicks >= threads - snap.tasks.length, `${snap.ownTicks} >= ${threads}`);
  assert.equal(await readProcessTicks(2 ** 22 + 1), null);
  const system = await readSystemTicks();
  assert.ok(system && system.busy > 0);
});
