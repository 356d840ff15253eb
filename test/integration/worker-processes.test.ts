// What a run leaves and what a program inherits: grandchildren, zombies, memory under a
// flood of output, the environment and the file descriptors the program sees.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createDeliver } from '../../workers/deliver.js';
import { closeLeakingFds, findLeakingFds } from '../../src/ops/inherited-fds.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { inMemory, makeTask } from '../helpers/task.js';
import { awaitDeath, childrenOfThisProcess } from '../helpers/processes.js';
import { testSpawner } from '../helpers/spawner.js';
import { timed } from '../helpers/timed.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-worker-processes-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
// What the daemon's start-up must do (see src/ops/inherited-fds.ts): here the test runner
// hands us descriptors without close-on-exec that every program would inherit otherwise.
before(() => closeLeakingFds());
// A thread's delivery function as a pool worker gets it, with the spawner under test.
const deliver = createDeliver({ spawner: testSpawner() });

const program = (name: string): string => fixture('programs', name);

const task = makeTask;

/** `ls -l /proc/self/fd` lines -> fd -> target, without ls's own directory fd. */
function parseFdListing(listing: string): Map<number, string> {
  const fds = new Map<number, string>();
  for (const match of listing.matchAll(/ (\d+) -> (.*)$/gm)) {
    const [, fd = '', target = ''] = match;
    if (!/^\/proc\/\d+\/fd$/.test(target)) fds.set(Number(fd), target);
  }
  return fds;
}

test('a grandchild holding stdin/stdout does not hold up the run, and is killed with the group', async () => {
  const pidFile = path.join(tmp, 'grandchild.pid');
  const outputFile = path.join(tmp, 'grandchild.out');
  // 2 MB so the grandchild's hold on stdin matters: the program never reads it.
  const message = inMemory(new Uint8Array(2 * 1024 * 1024).fill(0x61));
  const { result: outcome, ms } = await timed(() => deliver(task({ program: program('grandchild.sh'), args: [pidFile, '30'], outputFile, message })));
  assert.equal(outcome.kind, 'exited');
  assert.equal(outcome.exitCode, 0);
  assert.equal(outcome.stdinError, 'EPIPE', 'the message did not reach anyone who read it');
  assert.ok(ms < 5_000, `ran ${ms} ms`);
  const grandchild = Number(readFileSync(pidFile, 'latin1'));
  assert.ok(grandchild > 0);
  assert.equal(await awaitDeath(grandchild), true, `grandchild ${grandchild} still running`);
});

// The setsid escape hatch is covered for both spawners in spawner-contract.test.ts.

test('a 100 MiB flood to output_file and error_file goes straight to the files, not through us', async () => {
  const outputFile = path.join(tmp, 'flood.out');
  const errorFile = path.join(tmp, 'flood.err');
  const bytes = 100 * 1024 * 1024;
  const rssBefore = process.memoryUsage().rss;
  const outcome = await deliver(task({ program: program('flood.sh'), args: [String(bytes)], outputFile, errorFile }));
  const rssGrowth = process.memoryUsage().rss - rssBefore;
  try {
    assert.equal(outcome.kind === 'exited' && outcome.exitCode, 0);
    assert.equal(statSync(outputFile).size, bytes);
    assert.equal(statSync(errorFile).size, bytes);
    assert.ok(rssGrowth < 32 * 1024 * 1024, `rss grew by ${rssGrowth} bytes`);
  } finally {
    rmSync(outputFile);
    rmSync(errorFile);
  }
});

test('the environment is exactly the one given: nothing inherited', async () => {
  process.env['SMTPIPE_CANARY'] = 'must not leak';
  const file = path.join(tmp, 'env.bin');
  const env = { SENDER: 'a@example.com', RECIPIENT: 'b@example.org', ODD: 'x y=z\nline 2' };
  const outcome = await deliver(task({ program: program('print-env.sh'), args: [file], env }));
  assert.equal(outcome.kind, 'exited');
  const seen = readFileSync(file, 'utf8').split('\0').filter((entry) => entry !== '');
  assert.deepEqual(seen.sort(), Object.entries(env).map(([k, v]) => `${k}=${v}`).sort());
});

test('the program sees only fds 0 (stdin pipe or socketpair), 1 (output_file) and 2 (the capture pipe of its stderr)', async () => {
  const outputFile = path.join(tmp, 'fds.txt');
  await deliver(task({ program: program('list-fds.sh'), outputFile }));
  const fds = parseFdListing(readFileSync(outputFile, 'latin1'));
  assert.deepEqual([...fds.keys()].sort(), [0, 1, 2], readFileSync(outputFile, 'latin1'));
  assert.match(fds.get(0) ?? '', testSpawner() === 'native' ? /^pipe:\[\d+\]$/ : /^socket:\[\d+\]$/);
  assert.equal(fds.get(1), outputFile);
  // Without error_file, stderr is read for the delivery line's stderrTail.
  assert.match(fds.get(2) ?? '', testSpawner() === 'native' ? /^pipe:\[\d+\]$/ : /^socket:\[\d+\]$/);
});

test('fds inherited without close-on-exec reach programs until closeLeakingFds() runs', async () => {
  // A fresh Node process given an extra fd 40 without close-on-exec, as a careless supervisor
  // would. (Node's start-up marks fds 0-16 close-on-exec via uv_disable_stdio_inheritance,
  // which stops at the first gap above 15: a low fd would not show the leak.)
  const url = (file: string): string => pathToFileURL(path.join(repoRoot, 'dist', 'workers', file)).href;
  const script = `
    import { createDeliver } from ${JSON.stringify(url('deliver.js'))};
    import { closeLeakingFds } from ${JSON.stringify(pathToFileURL(path.join(repoRoot, 'dist', 'src', 'ops', 'inherited-fds.js')).href)};
    import { readFileSync } from 'node:fs';
    const deliver = createDeliver({ spawner: process.argv[3] });
    const outputFile = process.argv[1] + '-' + process.pid;
    const list = async (name) => {
      await deliver({ ...JSON.parse(process.argv[2]), message: { kind: 'bytes', bytes: new ArrayBuffer(0) }, outputFile: outputFile + name });
      return readFileSync(outputFile + name, 'latin1');
    };
    const before = await list('-before');
    const closed = closeLeakingFds();
    process.stdout.write(JSON.stringify({ before, closed, after: await list('-after') }));
  `;
  const taskJson = JSON.stringify(task({ program: program('list-fds.sh') }));
  const devNull = openSync('/dev/null', 'r');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, path.join(tmp, 'fds'), taskJson, testSpawner()], {
    stdio: ['ignore', 'pipe', 'inherit', ...new Array<'ignore'>(37).fill('ignore'), devNull],
  });
  closeSync(devNull);
  let stdout = '';
  assert.ok(child.stdout !== null);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const code = await new Promise((resolve) => child.once('close', resolve));
  assert.equal(code, 0);
  const result = JSON.parse(stdout) as { before: string; closed: number[]; after: string };
  assert.ok(parseFdListing(result.before).has(40), `fd 40 should leak before:\n${result.before}`);
  assert.ok(result.closed.includes(40));
  assert.deepEqual([...parseFdListing(result.after).keys()].sort(), [0, 1, 2], result.after);
});

test('findLeakingFds() finds nothing once closeLeakingFds() ran', () => {
  assert.deepEqual(findLeakingFds(), []);
});

test('no child process is left behind: nothing running, no zombie', () => {
  assert.deepEqual(childrenOfThisProcess(), []);
});
