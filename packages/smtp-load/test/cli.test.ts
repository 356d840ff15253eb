// The built smtp-load CLI as a child process against real sockets on port 0: the
// raw sink (counts, pipelining, one connection per message), a sink refusing DATA with
// 451 (exit status, --expect-failures), a silent server (timeouts), usage errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startRawSink, type RawSink } from '../src/raw-sink.js';
import type { JsonResult } from '../src/report.js';

/** The built bin, next to this file once compiled (dist/test/ -> dist/src/). */
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function bench(args: string[]): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Runs with -j and parses stdout, which must hold exactly one JSON line. */
async function benchJson(args: string[]): Promise<{ code: number | null; json: JsonResult; stderr: string }> {
  const run = await bench(['-j', '-n', ...args]);
  const lines = run.stdout.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, `one JSON line on stdout, got:\n${run.stdout}\nstderr:\n${run.stderr}`);
  return { code: run.code, json: JSON.parse(lines[0] as string) as JsonResult, stderr: run.stderr };
}

let sink: RawSink;
let refusing: RawSink;
before(async () => {
  sink = await startRawSink();
  refusing = await startRawSink({ dataReply: '451 4.3.0 try again later' });
});
after(async () => {
  await sink.close();
  await refusing.close();
});

test('-a 200 -c 5: every message sent and accepted, no errors, exit 0', async () => {
  const acceptedBefore = sink.messages();
  const { code, json, stderr } = await benchJson(['-a', '200', '-c', '5', `smtp://127.0.0.1:${sink.port}`]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(json.messages, { sent: 200, ok2xx: 200, fail4xx: 0, fail5xx: 0 });
  assert.equal(json.errors + json.timeouts + json.resets, 0);
  assert.equal(json.connections, 5);
  assert.equal(json.connectionsOpened, 5);
  assert.equal(json.latencyMs.p50 > 0, true);
  assert.equal(json.phasesMs.dot.count, 200);
  assert.equal(sink.messages() - acceptedBefore, 200);
});

test('--pipelining --per-conn 1 --rcpts 3: one connection per message, all accepted', async () => {
  const { code, json, stderr } = await benchJson(['-a', '60', '-c', '6', '--pipelining', '--per-conn', '1', '--rcpts', '3', `smtp://127.0.0.1:${sink.port}`]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(json.messages, { sent: 60, ok2xx: 60, fail4xx: 0, fail5xx: 0 });
  assert.equal(json.pipelining, true);
  assert.ok(json.connectionsOpened >= 60, `opened ${json.connectionsOpened}`);
  assert.equal(json.phasesMs.rcpt.count, 180);
  assert.equal(json.resets + json.errors, 0);
});

test('-R with -d: paced, and latency corrected for coordinated omission', async () => {
  const { code, json, stderr } = await benchJson(['-d', '1', '-R', '200', '-c', '4', `smtp://127.0.0.1:${sink.port}`]);
  assert.equal(code, 0, stderr);
  assert.ok(json.messages.sent >= 190 && json.messages.sent <= 200, `sent ${json.messages.sent}`);
  assert.equal(json.rate, 200);
  assert.ok(json.latencyUncorrectedMs, 'uncorrected latency reported too');
});

test('DATA refused with 451: counted as fail4xx, exit 1', async () => {
  const { code, json } = await benchJson(['-a', '50', '-c', '5', `smtp://127.0.0.1:${refusing.port}`]);
  assert.equal(code, 1);
  assert.deepEqual(json.messages, { sent: 50, ok2xx: 0, fail4xx: 50, fail5xx: 0 });
  assert.equal(json.errors, 0);
});

test('--expect-failures: the same run exits 0', async () => {
  const { code, json } = await benchJson(['-a', '50', '-c', '5', '--pipelining', '--expect-failures', `smtp://127.0.0.1:${refusing.port}`]);
  assert.equal(code, 0);
  assert.equal(json.messages.fail4xx, 50);
});

test('without -j: autocannon-style tables on stdout', async () => {
  const run = await bench(['-a', '20', '-c', '2', '-n', '-l', `smtp://127.0.0.1:${sink.port}`]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`^Running 20 messages test @ smtp://127\\.0\\.0\\.1:${sink.port}\\n2 connections, 2 KiB messages`));
  assert.match(run.stdout, /│ Latency +│/);
  assert.match(run.stdout, /│ Msg\/Sec +│/);
  assert.match(run.stdout, /│ dot -> reply +│ 20 /);
  assert.match(run.stdout, /Replies: 2xx 20, 4xx 0, 5xx 0; errors 0, timeouts 0, resets 0\n20 messages in [\d.]+s, [\d.]+ kB sent\n$/);
  assert.equal(run.stderr, '');
});

test('a server that never greets: timeouts counted, the run gives up, exit 1', async () => {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((socket) => sockets.push(socket));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const { port } = silent.address() as net.AddressInfo;
  try {
    const { code, json } = await benchJson(['-a', '5', '-c', '1', '-t', '0.2', `smtp://127.0.0.1:${port}`]);
    assert.equal(code, 1);
    assert.ok(json.timeouts >= 1, `timeouts ${json.timeouts}`);
    assert.equal(json.messages.sent, 0);
    assert.equal(json.errorCodes.STALLED, 1);
  } finally {
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
});

test('usage errors: exit 2, a clear message, nothing on stdout', async () => {
  const run = await bench(['-c', 'many', '--size', '3q', 'smtp://127.0.0.1:1']);
  assert.equal(run.code, 2);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /^smtp-load: -c\/--connections must be a whole number, got "many"\nsmtp-load: --size: expected a size/);
  assert.match(run.stderr, /Usage: smtp-load \[flags\] smtp:\/\/host:port/);
});
