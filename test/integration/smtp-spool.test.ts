// Issue 13 through a real SMTP session: messages around Spool_Threshold arrive byte-exact
// in both line endings (dot-stuffed lines, bare newlines normalized), the large ones as a
// spool file that is the program's stdin itself; a full disk (a real tmpfs) is 452 4.3.1,
// a warn line, a metric and /readyz 503, and later messages are fine; clients that leave
// after their dot while the program slot is taken cost nothing and run nothing.
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { eventually, scratchDir, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession } from '../helpers/smtp-client.js';
import { mountTmpfs } from '../helpers/tmpfs.js';

const THRESHOLD = 4096;
const NO_TRACE = 'received_header = false return_path_header = false delivered_to_header = false';

function transport(name: string, eol: 'lf' | 'crlf', domain: string): string {
  return `pipe_transport "${name}" { allow_root = true ${NO_TRACE} eol = "${eol}"
    program_name = "${fixture('programs', 'stdin-kind.sh')} {{dir}}/out/\${queue_id}"  domain = ( "${domain}" ) }`;
}

/**
 * A body whose stored form (in `eol`, after dot-unstuffing) is exactly `stored` bytes: lines
 * that start with a dot (the client stuffs them), one bare LF (normalized to `eol`).
 */
function bodyOf(stored: number, eol: 'lf' | 'crlf'): { wire: string; expected: Buffer } {
  const end = eol === 'lf' ? '\n' : '\r\n';
  const lines = ['Subject: spool test', '', '.a line that starts with a dot', '..two dots', 'bare\nnewline'];
  let text = lines.map((l) => l.replace('\n', end) + end).join('');
  let filler = '';
  while (text.length + filler.length + `x${end}`.length <= stored) filler += 'x';
  // Pad the last line so that the stored form is `stored` bytes exactly.
  text += `${filler.slice(0, stored - text.length - end.length)}${end}`;
  assert.equal(Buffer.byteLength(text, 'latin1'), stored);
  const wire = text.replaceAll(end, '\r\n').replace('bare\r\nnewline', 'bare\nnewline');
  return { wire, expected: Buffer.from(text, 'latin1') };
}

async function deliver(d: TestDaemon, to: string, body: string): Promise<string> {
  const client = await openSession(d.port);
  const reply = await client.sendMail('s@origin.test', [to], body);
  await client.quit();
  const queueId = /queued as (\S+)$/.exec(reply.line)?.[1];
  assert.ok(queueId !== undefined, reply.line);
  return queueId;
}

test('1 byte below, at and above Spool_Threshold, lf and crlf: byte-exact; above it the spool file is stdin', async () => {
  const d = await startDaemon(`
    Spool_Threshold = ${THRESHOLD}
    Spool_Directory = "{{dir}}/spool"
    ESMTP_Listener { Bare_Newlines = "normalize" Listen "127.0.0.1:0" { } }
    ${transport('lf', 'lf', 'lf.test')}
    ${transport('crlf', 'crlf', 'crlf.test')}
  `, await dirsReady());
  try {
    for (const eol of ['lf', 'crlf'] as const) {
      for (const stored of [THRESHOLD - 1, THRESHOLD, THRESHOLD + 1]) {
        const { wire, expected } = bodyOf(stored, eol);
        const queueId = await deliver(d, `r@${eol}.test`, wire);
        const out = path.join(d.dir, 'out', queueId);
        assert.ok((await readFile(out)).equals(expected), `${eol} ${stored}: byte-exact`);
        const kind = (await readFile(`${out}.kind`, 'latin1')).trim();
        if (stored > THRESHOLD) assert.match(kind, new RegExp(`^${path.join(d.dir, 'spool')}/#\\d+ \\(deleted\\)$`), `${eol} ${stored}`);
        else assert.match(kind, /^(pipe|socket):\[\d+\]$/, `${eol} ${stored}`);
      }
    }
    assert.deepEqual(await readdir(path.join(d.dir, 'spool')), [], 'nothing ever has a name there');
  } finally {
    await d.stop();
  }
});

test('a full spool disk: 452 4.3.1, a warn line, a metric, /readyz 503; later messages fine once space returns', async (t) => {
  const tmpfs = await mountTmpfs(256);
  if (typeof tmpfs === 'string') return t.skip(tmpfs);
  const dir = await dirsReady();
  const d = await startDaemon(`
    Spool_Threshold = 0
    Spool_Directory = "${tmpfs.dir}"
    Metrics_Listen = "127.0.0.1:0"
    ESMTP_Listener { Bare_Newlines = "normalize" Listen "127.0.0.1:0" { } }
    pipe_transport "hold" { allow_root = true ${NO_TRACE}
      program_name = "${fixture('programs', 'hold.sh')} {{dir}}/held {{dir}}/release"  domain = ( "hold.test" ) }
    ${transport('fast', 'crlf', 'fast.test')}
  `, dir);
  const metrics = `http://127.0.0.1:${d.daemon.metricsAddress?.port}`;
  try {
    // 200 KiB held in the spool by a program that waits.
    const holder = await openSession(d.port);
    const held = holder.sendMail('s@origin.test', ['r@hold.test'], bodyOf(200 * 1024, 'crlf').wire);
    await eventually(async () => (await readdir(dir)).includes('held'));
    const refusal = d.nextLog((line) => line.outcome === 'spool-failed');
    const client = await openSession(d.port);
    const full = await client.sendMail('s@origin.test', ['r@fast.test'], bodyOf(100 * 1024, 'crlf').wire);
    assert.equal(full.line, '452 4.3.1 insufficient system storage');
    const line = await refusal;
    assert.equal(line.level, 40);
    assert.equal(line.error, 'ENOSPC');
    assert.equal(line.msg, 'delivery refused: spool file failed');
    assert.match(await (await fetch(`${metrics}/metrics`)).text(), /^smtpipe_spool_failures_total\{reason="no_space"\} 1$/m);
    assert.equal((await fetch(`${metrics}/readyz`)).status, 503);
    // The session goes on: a small message on it still fits.
    const small = await client.sendMail('s@origin.test', ['r@fast.test'], bodyOf(1000, 'crlf').wire);
    assert.equal(small.code, 250, small.line);
    assert.equal((await fetch(`${metrics}/readyz`)).status, 200, 'a spool write that succeeded ends the failing state');
    // Space returns when the held message is delivered.
    await writeFile(path.join(dir, 'release'), '');
    assert.equal((await held).code, 250);
    const again = await client.sendMail('s@origin.test', ['r@fast.test'], bodyOf(100 * 1024, 'crlf').wire);
    assert.equal(again.code, 250, again.line);
    await client.quit();
    await holder.quit();
    assert.deepEqual(await readdir(tmpfs.dir), []);
  } finally {
    await d.stop();
    await tmpfs.unmount();
  }
});

test('clients that leave after the dot while the slot is taken: dropped at once, nothing runs, bytes released', async () => {
  const dir = await dirsReady();
  const d = await startDaemon(`
    Spool_Threshold = 65536
    Spool_Directory = "{{dir}}/spool"
    Metrics_Listen = "127.0.0.1:0"
    ESMTP_Listener { Bare_Newlines = "normalize" Listen "127.0.0.1:0" { } }
    pipe_transport "hold" { allow_root = true ${NO_TRACE} concurrency = 1
      program_name = "${fixture('programs', 'hold.sh')} {{dir}}/held-\${queue_id} {{dir}}/release"  domain = ( "hold.test" ) }
  `, dir);
  const metrics = `http://127.0.0.1:${d.daemon.metricsAddress?.port}`;
  try {
    const holder = await openSession(d.port);
    const held = holder.sendMail('s@origin.test', ['r@hold.test'], 'Subject: first\r\n\r\nx\r\n');
    await eventually(async () => (await readdir(dir)).some((name) => name.startsWith('held-')));
    const DEPARTING = 20;
    const dropped = Promise.all(
      Array.from({ length: DEPARTING }, () => d.nextLog((line) => line.outcome === 'client-gone')),
    );
    for (let i = 0; i < DEPARTING; i += 1) {
      // Half in memory, half spooled.
      const size = i % 2 === 0 ? 10_000 : 200_000;
      const client = await openSession(d.port);
      assert.equal((await client.command('MAIL FROM:<s@origin.test>')).code, 250);
      assert.equal((await client.command('RCPT TO:<r@hold.test>')).code, 250);
      assert.equal((await client.command('DATA')).code, 354);
      client.write(`${bodyOf(size, 'crlf').wire}.\r\n`);
      // Gone right after the dot: its delivery waits behind the held one.
      await eventually(async () => /smtpipe_pool_queue_depth (\d+)/.exec(await (await fetch(`${metrics}/metrics`)).text())?.[1] === '1');
      client.destroy();
      await eventually(async () => /smtpipe_pool_queue_depth (\d+)/.exec(await (await fetch(`${metrics}/metrics`)).text())?.[1] === '0');
    }
    await dropped;
    const text = await (await fetch(`${metrics}/metrics`)).text();
    assert.match(text, new RegExp(`^smtpipe_deliveries_dropped_total ${DEPARTING}$`, 'm'));
    // Released at once, while the first program still holds its slot.
    assert.match(text, /^smtpipe_message_memory_bytes \d{1,3}$/m, 'only the held message (a few bytes) is in memory');
    assert.match(text, /^smtpipe_spool_bytes 0$/m);
    await writeFile(path.join(dir, 'release'), '');
    assert.equal((await held).code, 250);
    await holder.quit();
    const runs = (await readdir(dir)).filter((name) => name.startsWith('held-'));
    assert.equal(runs.length, 1, 'no program ran for a departed client');
  } finally {
    await d.stop();
  }
});

/** A scratch directory with out/ and spool/ in it. */
async function dirsReady(): Promise<string> {
  const dir = await scratchDir();
  await mkdir(path.join(dir, 'out'));
  await mkdir(path.join(dir, 'spool'));
  return dir;
}

