// /metrics of a fresh daemon: every known label value of every counter is there at 0 from
// start-up, and a reload adds the new transports' series; program_duration_seconds times
// the program only, queue_wait_seconds the wait for its slot.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startDaemon, writeConfig, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession } from '../helpers/smtp-client.js';

const RUN_OUTCOMES = ['ok', 'exit_nonzero', 'signal', 'timeout', 'spawn_error', 'output_failed', 'pool_failed'];
const conf = (extra = '') => `
  Metrics_Listen = "127.0.0.1:0"
  ESMTP_Listener { Listen "127.0.0.1:0" { } }
  pipe_transport "slow" { allow_root = true concurrency = 1 program_name = "${fixture('programs', 'sleep.sh')} 0.5" domain = ( "slow.test" ) }
  ${extra}
`;

let daemon: TestDaemon;
before(async () => {
  daemon = await startDaemon(conf());
});
after(() => daemon.stop());

/** Every sample line of /metrics, by its name and labels as written. */
async function scrape(): Promise<Map<string, number>> {
  const address = daemon.daemon.metricsAddress;
  assert.ok(address);
  const text = await (await fetch(`http://127.0.0.1:${address.port}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** The one sample of `name` whose labels include every `labels` pair (in any order). */
function sample(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const keys = [...samples.keys()].filter((key) => {
    if (key !== name && !key.startsWith(`${name}{`)) return false;
    const written = key.slice(name.length + 1, -1).split(',');
    return pairs.length === written.filter((w) => w !== '').length && pairs.every((p) => written.includes(p));
  });
  assert.equal(keys.length, 1, `one sample ${name}${JSON.stringify(labels)}; found ${JSON.stringify(keys)}`);
  return samples.get(keys[0] as string) as number;
}

test('right after start-up, every known series is there at 0', async () => {
  const samples = await scrape();
  for (const result of ['delivered', 'deferred', 'rejected']) assert.equal(sample(samples, 'smtpipe_transactions_total', { result }), 0);
  for (const replyClass of ['2xx', '3xx', '4xx', '5xx']) assert.equal(sample(samples, 'smtpipe_replies_total', { class: replyClass }), 0);
  for (const result of ['success', 'failure']) assert.equal(sample(samples, 'smtpipe_config_reloads_total', { result }), 0);
  for (const outcome of RUN_OUTCOMES) assert.equal(sample(samples, 'smtpipe_program_runs_total', { transport: 'slow', outcome }), 0);
  assert.equal(sample(samples, 'smtpipe_program_duration_seconds_count', { transport: 'slow' }), 0);
  assert.equal(sample(samples, 'smtpipe_queue_wait_seconds_count', { transport: 'slow' }), 0);
  assert.equal(sample(samples, 'smtpipe_spool_failures_total', { reason: 'no_space' }), 0);
  assert.equal(sample(samples, 'smtpipe_programs_running'), 0);
  assert.equal(samples.has('smtpipe_pool_busy'), false, 'renamed to smtpipe_programs_running');
});

test('concurrency 1, a program of 0.5 s, two messages at once: the second waits ~0.5 s, each program takes ~0.5 s', async () => {
  const clients = await Promise.all([openSession(daemon.port), openSession(daemon.port)]);
  const replies = await Promise.all(clients.map((client, i) => client.sendMail('a@origin.test', [`${i}@slow.test`], 'hello')));
  for (const reply of replies) assert.equal(reply.code, 250);
  await Promise.all(clients.map((client) => client.quit()));
  const samples = await scrape();
  const labels = { transport: 'slow' };
  assert.equal(sample(samples, 'smtpipe_program_duration_seconds_count', labels), 2);
  // Both under 1 s: the second message's wait is not in its program's time.
  assert.equal(sample(samples, 'smtpipe_program_duration_seconds_bucket', { ...labels, le: '1' }), 2);
  const runSum = sample(samples, 'smtpipe_program_duration_seconds_sum', labels);
  assert.ok(runSum >= 1 && runSum < 1.6, `two runs of ~0.5 s: ${runSum}`);
  // One waited for nothing, the other for the first program.
  assert.equal(sample(samples, 'smtpipe_queue_wait_seconds_count', labels), 2);
  assert.equal(sample(samples, 'smtpipe_queue_wait_seconds_bucket', { ...labels, le: '0.25' }), 1);
  const waitSum = sample(samples, 'smtpipe_queue_wait_seconds_sum', labels);
  assert.ok(waitSum >= 0.45 && waitSum < 1, `one wait of ~0.5 s: ${waitSum}`);
});

test('a reload that adds a transport: its series appear at 0', async () => {
  await writeConfig(daemon.file, conf(`pipe_transport "added" { allow_root = true program_name = "/bin/cat" domain = ( "added.test" ) }`), daemon.dir);
  assert.deepEqual(await daemon.daemon.reload(), { ok: true });
  const samples = await scrape();
  for (const outcome of RUN_OUTCOMES) assert.equal(sample(samples, 'smtpipe_program_runs_total', { transport: 'added', outcome }), 0);
  assert.equal(sample(samples, 'smtpipe_queue_wait_seconds_count', { transport: 'added' }), 0);
  assert.equal(sample(samples, 'smtpipe_config_reloads_total', { result: 'success' }), 1);
  assert.equal(sample(samples, 'smtpipe_config_reloads_total', { result: 'failure' }), 0);
});
