// The built CLI as a child process: exit codes, messages, signals, logs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { eventually, scratchDir } from '../helpers/daemon.js';
import { makeFifo } from '../helpers/fifo.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { openSession } from '../helpers/smtp-client.js';

const CLI = path.join(repoRoot, 'dist', 'src', 'ops', 'cli.js');

/** `timeoutMs`: SIGTERM after that long (exit code null), for a CLI that might hang. */
async function run(args: string[], timeoutMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'exit');
  return { code, stdout, stderr };
}

async function writeConf(text: string): Promise<string> {
  const dir = await scratchDir();
  const file = path.join(dir, 'smtpipe.conf');
  await writeFile(file, text.replaceAll('{{dir}}', dir));
  return file;
}

/** Starts the CLI on a config and resolves once it logged 'listening', with its port. */
async function startCli(file: string) {
  const child = spawn(process.execPath, [CLI, '-c', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const logs: Array<Record<string, unknown>> = [];
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve) => {
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'listening') resolve(Number(String((entry.listeners as string[])[0]).split(':').pop()));
    });
  });
  return { child, port, logs };
}

/** hold.sh as a transport program: `ready` appears once it runs; it exits 0 once `release` exists. */
function held(file: string) {
  const dir = path.dirname(file);
  const ready = path.join(dir, 'ready');
  const release = path.join(dir, 'release');
  return { ready, release, started: () => eventually(() => existsSync(ready)) };
}
const HOLD = `${fixture('programs', 'hold.sh')} {{dir}}/ready {{dir}}/release`;
const loggedMsg = (logs: Array<Record<string, unknown>>, msg: string) => eventually(() => logs.some((l) => l.msg === msg));

test('--check on the bundled config: exit 0', async () => {
  const result = await run(['--check', '-c', path.join(repoRoot, 'config', 'smtpipe.conf')]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /ok \(1 listener\(s\), 1 transport\(s\)\)/);
  assert.equal(result.stderr, '');
});

test('--check --print: the effective config with every default; printed again, it loads to the same text', async () => {
  const bundled = path.join(repoRoot, 'config', 'smtpipe.conf');
  const result = await run(['--check', '--print', '-c', bundled]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  // Defaults the bundled file leaves commented out, each stated with its value.
  for (const line of ['Pool_Tasks_Per_Thread = 64', 'Shutdown_Timeout = 30', 'Idle_Time = 300', 'Bare_Newlines = "normalize"',
    'Max_Sessions_Per_Client = 250', 'Enable = true', 'timeout = 60', 'output_mode = 0600', 'received_header = true']) {
    assert.ok(result.stdout.split('\n').some((l) => l.trim() === line), `${line} in:\n${result.stdout}`);
  }
  assert.match(result.stdout, /^# Metrics_Listen: off$/m);
  // What it printed is a config: it loads, and prints the same again (but for the header naming the file).
  const printed = await writeConf(result.stdout);
  const again = await run(['--check', '--print', '-c', printed]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stderr, '', 'the printed config loads without warnings');
  const body = (text: string) => text.split('\n').slice(1).join('\n');
  assert.equal(body(again.stdout), body(result.stdout));
});

test('--check --print with TLS files named relative to the config: printed absolute, so the output loads from anywhere', async () => {
  const file = await writeConf('ESMTP_Listener { Listen "127.0.0.1:0" { Use_SSL = true TLS_Certificate = "mx.crt" TLS_Key = "mx.key" } }\n' +
    'pipe_transport "t" { program_name = "/bin/cat" domain = "t.example" }\n');
  await copyFile(fixture('tls', 'mx-a.crt'), path.join(path.dirname(file), 'mx.crt'));
  await copyFile(fixture('tls', 'mx-a.key'), path.join(path.dirname(file), 'mx.key'));
  const result = await run(['--check', '--print', '-c', file]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`^ +TLS_Certificate = "${path.dirname(file)}/mx\\.crt"$`, 'm'));
  const again = await run(['--check', '-c', await writeConf(result.stdout)]);
  assert.equal(again.code, 0, again.stderr);
});

test('--print on a bad config: the errors, exit 78, nothing printed', async () => {
  const result = await run(['--print', '-c', await writeConf('Pool_Threads = many\n')]);
  assert.equal(result.code, 78);
  assert.match(result.stderr, /:1:16: error: Pool_Threads: expected a whole number, got "many"/);
  assert.equal(result.stdout, '');
});

test('--check on a bad config: exit 78, every error as file:line:col', async () => {
  const file = await writeConf(
    [
      'ESMTP_Listener { Listen "127.0.0.1:2525" { } }',
      'pipe_transport "t" {',
      '  program_nme = "/bin/cat"',
      '  domain = ( "example.com" )',
      '  timeout = soon',
      '}',
    ].join('\n'),
  );
  const result = await run(['--check', '-c', file]);
  assert.equal(result.code, 78);
  assert.match(result.stderr, new RegExp(`${file.replace(/[.]/g, '\\.')}:3:3: error: .*program_nme.*program_name`));
  assert.match(result.stderr, /:5:\d+: error: .*soon/);
  assert.equal(result.stdout, '');
});

test('--check on a program that is not there or that nobody may run, and an output directory that does not exist: exit 78 at each', async () => {
  const file = await writeConf(
    [
      'ESMTP_Listener { Listen "127.0.0.1:2525" { } }',
      'pipe_transport "procmail" {',
      '  program_name = "/usr/bin/procmail-smtpipe-test -d ${local}"',
      '  domain = ( "a.example" )',
      '}',
      'pipe_transport "logged" {',
      '  program_name = "/bin/cat"',
      '  output_file = "{{dir}}/no-such-dir/out"',
      '  domain = ( "b.example" )',
      '}',
      // As root, a transport without user runs as nobody, who may not enter the 0700 scratch directory.
      'pipe_transport "private" { program_name = "{{dir}}/deliver.sh" domain = ( "c.example" ) }',
    ].join('\n'),
  );
  await copyFile(fixture('programs', 'exit-with.sh'), path.join(path.dirname(file), 'deliver.sh'));
  await chmod(path.join(path.dirname(file), 'deliver.sh'), 0o755);
  const result = await run(['--check', '-c', file]);
  assert.equal(result.code, 78, result.stderr);
  const at = file.replace(/[.]/g, '\\.');
  assert.match(result.stderr, new RegExp(`${at}:3:18: error: program_name: no such file: /usr/bin/procmail-smtpipe-test \\(is procmail-smtpipe-test installed\\?\\) \\[ERR_CONFIG_PROGRAM_MISSING\\]`));
  assert.match(result.stderr, new RegExp(`${at}:8:17: error: output_file: no such directory: .*/no-such-dir \\[ERR_CONFIG_OUTPUT_FILE\\]`));
  if (process.getuid?.() === 0) {
    assert.match(result.stderr, new RegExp(`${at}:11:43: error: program_name: user nobody \\(uid \\d+, gid \\d+\\) may not search the directory .* \\(mode 0700, owner 0:0\\) \\[ERR_CONFIG_PROGRAM_ACCESS\\]`));
  }
  assert.equal(result.stdout, '');
});

test('--check on a key that does not match its certificate: exit 78, the error at TLS_Key', async () => {
  const file = await writeConf(
    [
      'ESMTP_Listener {',
      `  Listen "127.0.0.1:2525" { Use_SSL = true TLS_Certificate = "${fixture('tls', 'mx-a.crt')}"`,
      `    TLS_Key = "${fixture('tls', 'mx-b.key')}" }`,
      '}',
      'pipe_transport "t" { program_name = "/bin/cat" domain = ( "example.com" ) }',
    ].join('\n'),
  );
  const result = await run(['--check', '-c', file]);
  assert.equal(result.code, 78);
  assert.match(result.stderr, /smtpipe\.conf:3:15: error: TLS_Key: .*mx-b\.key does not match .*mx-a\.crt .*\[ERR_CONFIG_TLS\]/);
});

test('--check on Enable, TLS_Verify_Mode and TLS_Client_CA: no "not implemented" warning, and require without TLS is an error', async () => {
  const listener = (extra: string) =>
    [
      'ESMTP_Listener {',
      `  TLS_Certificate = "${fixture('tls', 'mx-a.crt')}" TLS_Key = "${fixture('tls', 'mx-a.key')}"`,
      `  TLS_Client_CA = "${fixture('tls', 'client-ca.crt')}"`,
      '  Listen "127.0.0.1:2525" { SMTP_Extensions = ( "STARTTLS" ) TLS_Verify_Mode = "require" }',
      '  Listen "127.0.0.1:2526" { Enable = false SMTP_Extensions = ( "STARTTLS" ) }',
      `  ${extra}`,
      '}',
      'pipe_transport "t" { program_name = "/bin/cat" domain = ( "example.com" ) }',
    ].join('\n');
  const ok = await run(['--check', '-c', await writeConf(listener(''))]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stderr, '', 'no warning: each option is implemented');
  assert.match(ok.stdout, /ok \(1 listener\(s\), 1 transport\(s\)\)/);
  const plain = await run(['--check', '-c', await writeConf(listener('Listen "127.0.0.1:2527" { TLS_Verify_Mode = require }'))]);
  assert.equal(plain.code, 78);
  assert.match(plain.stderr, /smtpipe\.conf:6:47: error: Listen "127\.0\.0\.1:2527": TLS_Verify_Mode = "require" needs TLS/);
});

test('SIGHUP reloads: a new code map applies, a broken file is logged and ignored', async () => {
  const conf = (reply: string) => `
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "t" {
      allow_root = true
      program_name = "${fixture('programs', 'exit-with.sh')} \${local}"
      domain = ( "example.com" )
      code = [ "3" = "${reply}" ]
    }
  `;
  const file = await writeConf(conf('550 5.0.0 before'));
  const { child, port, logs } = await startCli(file);
  const waitFor = async (msg: string) => {
    for (let i = 0; i < 200 && !logs.some((l) => l.msg === msg); i += 1) await new Promise((r) => setTimeout(r, 25));
    assert.ok(logs.some((l) => l.msg === msg), `log line "${msg}"`);
  };
  try {
    const client = await openSession(port);
    assert.equal((await client.sendMail('a@origin.test', ['3@example.com'], 'hi')).line, '550 5.0.0 before');
    await writeFile(file, conf('550 5.0.0 after'));
    child.kill('SIGHUP');
    await waitFor('configuration reloaded');
    assert.equal((await client.sendMail('a@origin.test', ['3@example.com'], 'hi')).line, '550 5.0.0 after');
    await writeFile(file, 'pipe_transport "t" {\n');
    child.kill('SIGHUP');
    await waitFor('reload failed: configuration invalid, still serving the previous one');
    assert.ok(logs.some((l) => l.msg === 'config error' && /smtpipe\.conf:\d+:\d+: error:/.test(String(l.diagnostic))));
    assert.equal((await client.sendMail('a@origin.test', ['3@example.com'], 'hi')).line, '550 5.0.0 after');
    await client.quit();
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});

test('a Listen that cannot bind: nothing is left serving, exit 70', async () => {
  const busy = net.createServer().listen(0, '127.0.0.1');
  await once(busy, 'listening');
  const { port } = busy.address() as net.AddressInfo;
  try {
    const file = await writeConf(`
      ESMTP_Listener { Listen "127.0.0.1:0" { } Listen "127.0.0.1:${port}" { } }
      pipe_transport "t" { program_name = "/bin/cat" domain = ( "example.com" ) allow_root = true }
    `);
    const started = Date.now();
    const result = await run(['-c', file]);
    assert.equal(result.code, 70);
    assert.ok(Date.now() - started < 10_000, 'it exits instead of serving the Listen that bound');
    assert.match(result.stdout, /"msg":"could not start"/);
    assert.match(result.stdout, /EADDRINUSE/);
    // The bind failure says so, at error; it is not a session's "smtp connection error".
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string });
    const bind = lines.find((l) => l.msg.startsWith('cannot listen on '));
    assert.ok(bind, result.stdout);
    assert.equal(bind.level, 50);
    assert.equal(bind.msg, `cannot listen on 127.0.0.1:${port}: EADDRINUSE: address already in use 127.0.0.1:${port}`);
    assert.ok(!lines.some((l) => l.msg === 'smtp connection error'), result.stdout);
  } finally {
    busy.close();
  }
});

test('--check on a missing file: exit 78 naming it', async () => {
  const result = await run(['--check', '-c', '/nonexistent/smtpipe.conf']);
  assert.equal(result.code, 78);
  assert.match(result.stderr, /\/nonexistent\/smtpipe\.conf:1:1: error: /);
});

test('--check with an include of a FIFO, and on a config that is a FIFO: exit 78 at once, with file:line:col', async () => {
  const file = await writeConf(
    [
      'ESMTP_Listener { Listen "127.0.0.1:2525" { } }',
      'pipe_transport "t" { program_name = "/bin/cat" domain = ( "example.com" ) }',
      '  include "fifo"',
    ].join('\n'),
  );
  const fifo = makeFifo(path.join(path.dirname(file), 'fifo'));
  // Before the fix --check waited for a writer until the timeout killed it (code null).
  const started = Date.now();
  const included = await run(['--check', '-c', file], 10_000);
  assert.equal(included.code, 78, included.stderr);
  assert.match(included.stderr, /smtpipe\.conf:3:3: error: cannot read ".*fifo": a FIFO, not a regular file \[ERR_CONFIG_INCLUDE\]/);
  const main = await run(['--check', '-c', fifo], 10_000);
  assert.equal(main.code, 78, main.stderr);
  assert.match(main.stderr, /fifo:1:1: error: cannot read config file: a FIFO, not a regular file \[ERR_CONFIG_READ\]/);
  assert.ok(Date.now() - started < 8000, 'neither waited for a writer');
});

test('--version, --help, and an unknown flag (exit 64)', async () => {
  const version = await run(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^smtpipe \d+\.\d+\.\d+\n$/);
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--config FILE/);
  const bad = await run(['--frobnicate']);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /frobnicate/);
  const level = await run(['--log-level', 'loud']);
  assert.equal(level.code, 64);
});

test('SIGTERM with a delivery in flight: it gets its 250, idle sessions 421, exit 0', async () => {
  const file = await writeConf(`
    Shutdown_Timeout = 20
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "slow" { allow_root = true program_name = "${HOLD}" domain = ( "slow.test" ) }
  `);
  const program = held(file);
  const { child, port, logs } = await startCli(file);
  const busy = await openSession(port);
  const idle = await openSession(port);
  await busy.command('MAIL FROM:<a@origin.test>');
  await busy.command('RCPT TO:<x@slow.test>');
  await busy.command('DATA');
  busy.write('hello\r\n.\r\n');
  // The program runs and waits for us; the daemon is told to stop meanwhile.
  await program.started();
  child.kill('SIGTERM');
  assert.match((await idle.reply()).line, /^421 4\.3\.2 /);
  await loggedMsg(logs, 'draining');
  await writeFile(program.release, '');
  assert.match((await busy.reply()).line, /^250 2\.0\.0 Ok: queued as /);
  assert.match((await busy.reply()).line, /^421 /);
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  assert.ok(logs.some((l) => l.msg === 'delivery' && l.exitCode === 0));
  assert.ok(logs.some((l) => l.msg === 'stopped' && l.result === 'graceful'));
});

test('a second signal forces: the running program is killed, its client gets 451, exit 1', async () => {
  const file = await writeConf(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "slow" { allow_root = true program_name = "${HOLD}" domain = ( "slow.test" ) }
  `);
  const program = held(file);
  const { child, port, logs } = await startCli(file);
  const busy = await openSession(port);
  await busy.command('MAIL FROM:<a@origin.test>');
  await busy.command('RCPT TO:<x@slow.test>');
  await busy.command('DATA');
  busy.write('hello\r\n.\r\n');
  await program.started();
  child.kill('SIGTERM');
  // Two signals sent back to back may arrive as one: the second goes once the first drains.
  await loggedMsg(logs, 'draining');
  child.kill('SIGTERM');
  assert.equal((await busy.reply()).line, '451 4.3.0 pipe transport program killed by signal SIGKILL');
  const [code] = await once(child, 'exit');
  assert.equal(code, 1);
});

test('a delivery whose client left still holds the drain; a second signal forces it (exit 1)', async () => {
  const file = await writeConf(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "slow" { allow_root = true program_name = "${HOLD}" domain = ( "slow.test" ) }
  `);
  const program = held(file);
  const { child, port, logs } = await startCli(file);
  const gone = await openSession(port);
  await gone.command('MAIL FROM:<a@origin.test>');
  await gone.command('RCPT TO:<x@slow.test>');
  await gone.command('DATA');
  gone.write('hello\r\n.\r\n');
  await program.started();
  gone.destroy();
  child.kill('SIGTERM');
  await loggedMsg(logs, 'draining');
  assert.equal(logs.find((l) => l.msg === 'draining')?.inFlight, 1);
  // A negative needs a window; it opens once the daemon drains with the program running,
  // so a slow runner can weaken this check but not make it fail.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(child.exitCode, null, 'the running program keeps the daemon draining');
  assert.ok(!logs.some((l) => l.msg === 'stopped'));
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 1);
  assert.ok(logs.some((l) => l.msg === 'forcing shutdown' && l.reason === 'signal'));
  assert.ok(logs.some((l) => l.msg === 'delivery' && l.signal === 'SIGKILL'));
});

test('the daemon names itself smtpipe: ps (cmdline) and the kernel (comm, the journal\'s _COMM)', async () => {
  const file = await writeConf(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "t" { allow_root = true program_name = "${fixture('programs', 'exit-with.sh')} 0" domain = ( "example.com" ) }
  `);
  const { child } = await startCli(file);
  try {
    const pid = child.pid as number;
    assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), 'smtpipe');
    assert.match(readFileSync(`/proc/${pid}/cmdline`, 'latin1'), /^smtpipe/);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});
