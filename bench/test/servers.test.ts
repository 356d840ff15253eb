// The comparison's stand-alone servers (bench/compare/servers/) as the bench runs them:
// built files as child processes on a free loopback port, driven by the real generator.
// A reference that answered 250 without running the program, or ignored its exit status,
// would make every ratio built on it wrong without any visible error.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { test } from 'node:test';
import type { JsonResult } from 'smtp-load';
import { GENERATOR_CLI as CLI } from '../compare/generator.js';
import { freePort, startProcess, waitForPort } from '../compare/processes.js';
import { REPO_ROOT } from '../compare/paths.js';

const SERVERS = path.join(REPO_ROOT, 'dist', 'bench', 'compare', 'servers');

async function generate(port: number, messages: number): Promise<JsonResult> {
  const args = [CLI, '-j', '-n', '--expect-failures', '-a', String(messages), '-c', '4', '--per-conn', '1', `smtp://127.0.0.1:${port}`];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, stdout);
  return JSON.parse(stdout) as JsonResult;
}

/** Runs `server` with `program` and sends `messages` through it, one connection each. */
async function deliverThrough(server: string, program: string | null, messages: number): Promise<JsonResult> {
  const port = await freePort();
  const args = [path.join(SERVERS, server), '--port', String(port), ...(program === null ? [] : ['--program', program])];
  const running = startProcess(server, process.execPath, args);
  try {
    await waitForPort(port, 10_000, running);
    return await generate(port, messages);
  } finally {
    await running.stop();
  }
}

for (const server of ['naive.js', 'naive-native.js']) {
  test(`${server}: 250 after the program exits 0, 451 when it exits 1`, async () => {
    const delivered = await deliverThrough(server, '/bin/cat', 20);
    assert.deepEqual(delivered.messages, { sent: 20, ok2xx: 20, fail4xx: 0, fail5xx: 0 });
    const failed = await deliverThrough(server, '/bin/false', 20);
    assert.deepEqual(failed.messages, { sent: 20, ok2xx: 0, fail4xx: 20, fail5xx: 0 });
    assert.equal(failed.errors + failed.timeouts + failed.resets, 0);
  });
}

test('ceiling.js: accepts and discards', async () => {
  const result = await deliverThrough('ceiling.js', null, 20);
  assert.deepEqual(result.messages, { sent: 20, ok2xx: 20, fail4xx: 0, fail5xx: 0 });
});
