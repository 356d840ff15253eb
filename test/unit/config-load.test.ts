import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatDiagnostic, loadConfig, parseConfigText } from '../../src/config/load.js';
import { ConfigCode } from '../../src/config/codes.js';
import { fixture } from '../helpers/paths.js';
import { argvWords } from '../helpers/transport.js';
import { hostedBundledConfig, hostedFullConfig } from '../helpers/hosted-config.js';

// An unprivileged smtpipe: transports without user keep its ids, nothing is looked up.
const host = { hostname: 'mx.test', parallelism: 8, uid: 1000, gid: 1000 };

test('load: a realistic Momentum ecelerity.conf loads, one warning per foreign item', async () => {
  const { file, dir } = await hostedFullConfig();
  const program = fixture('programs', 'exit-with.sh');
  const result = await loadConfig(file, host);
  assert.ok(result.ok, JSON.stringify(result, null, 1));
  assert.deepEqual(
    result.warnings.map((w) => `${w.line}:${w.column} ${w.code} ${w.message.split(' ').slice(0, 2).join(' ')}`),
    [
      '4:1 WARN_CONFIG_IGNORED_OPTION Keep_Message_Dicts_In_Memory is',
      '5:1 WARN_CONFIG_IGNORED_OPTION Spoolbase is',
      '6:1 WARN_CONFIG_IGNORED_OPTION Generate_Delay_DSN is',
      '9:1 WARN_CONFIG_IGNORED_STANZA Security is',
      '14:1 WARN_CONFIG_IGNORED_STANZA ec_logger "ec_logger"',
      '20:1 WARN_CONFIG_IGNORED_STANZA Domain "aol.com"',
      '25:1 WARN_CONFIG_IGNORED_STANZA Binding_Group "marketing"',
      '30:1 WARN_CONFIG_IGNORED_STANZA Control_Listener is',
      '38:1 WARN_CONFIG_IGNORED_STANZA alerting is',
      '44:3 WARN_CONFIG_UNSUPPORTED_OPTION Accept_Queue_Backlog in',
    ],
  );
  assert.ok(result.warnings.every((w) => w.file === file && w.severity === 'warning'));

  const { config } = result;
  assert.equal(config.file, file);
  assert.deepEqual(config.pool, { threads: 4, tasksPerThread: 64, maxQueue: 1000, spawner: 'auto' });
  assert.deepEqual(
    config.listeners.map((l) => [l.label, l.host, l.port, l.maxMessageBytes, l.maxSessions, l.idleTimeoutMs, l.bannerHostname, l.greetingPauseMs]),
    [
      [':2525', undefined, 2525, 20_480_000, 1000, 300_000, 'mx.test', 0],
      ['[::1]:2526', '::1', 2526, 20_480_000, 1000, 60_000, 'mx1.example.net', 500],
    ],
  );
  const [mailman, archive] = config.transports;
  assert.ok(mailman !== undefined && archive !== undefined);
  assert.deepEqual(argvWords(mailman.program), [program, 'post', '${local}']);
  assert.deepEqual([...mailman.codes.keys()], [0, 1, 75]);
  assert.deepEqual(mailman.codes.get(75), { code: 451, text: '4.3.0 try again later' });
  assert.deepEqual([mailman.timeoutMs, mailman.errorFile, mailman.errorMode, mailman.outputFile], [120_000, `${dir}/mailman.err`, 0o640, null]);
  assert.equal(archive.name, 'archive');
  assert.deepEqual(argvWords(archive.program), [program, '--queue', '${queue_id}', '--label', 'mx1 archive', '${recipients}']);
  assert.deepEqual(archive.domains, ['archive.example.net', '*.archive.example.net']);
  assert.deepEqual(
    [archive.eol, archive.receivedHeader, archive.returnPathHeader, archive.deliveredToHeader, archive.concurrency, archive.outputMode],
    ['crlf', false, true, true, 4, 0o644],
  );
  assert.deepEqual(archive.env, { ARCHIVE_ROOT: '/srv/archive', LANG: 'C.UTF-8' });
});

test('load: the bundled config/smtpipe.conf loads with no error and no warning', async () => {
  const { file } = await hostedBundledConfig();
  const result = await loadConfig(file, host);
  assert.ok(result.ok, JSON.stringify(result, null, 1));
  assert.deepEqual(result.warnings, []);
  const [listener] = result.config.listeners;
  assert.deepEqual([listener?.host, listener?.port], ['127.0.0.1', 2525]);
  const [demo] = result.config.transports;
  // The demo writes under the working directory (the checkout for npm start), not /tmp.
  assert.deepEqual([demo?.name, demo && argvWords(demo.program), demo?.outputFile, demo?.domains], [
    'demo', ['/bin/sh', '-c', 'mkdir -p demo && exec cat >>demo/smtpipe-demo.out'], null, ['example.com', 'localhost'],
  ]);
});

test('load: the result is deep-frozen, code maps included', async () => {
  const result = await loadConfig((await hostedFullConfig()).file, host);
  assert.ok(result.ok);
  const { config } = result;
  const t = config.transports[0];
  assert.ok(t !== undefined);
  for (const value of [config, config.listeners, config.listeners[0], config.listeners[0]?.position, config.transports,
    t, t.domains, t.program, t.program.args, t.program.args[0], t.env, t.position, t.codes.get(0), config.pool]) {
    assert.ok(Object.isFrozen(value));
  }
  const mutable = t.codes as Map<number, unknown>;
  assert.throws(() => mutable.set(5, {}), TypeError);
  assert.throws(() => mutable.delete(0), TypeError);
  assert.throws(() => mutable.clear(), TypeError);
  assert.equal(t.codes.size, 3);
  assert.throws(() => {
    (config.pool as { threads: number }).threads = 99;
  }, TypeError);
});

test('load: a missing or unreadable main file is ERR_CONFIG_READ at 1:1', async () => {
  const file = fixture('config', 'no-such.conf');
  const result = await loadConfig(file, host);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map((e) => [e.file, e.line, e.column, e.code]), [[file, 1, 1, ConfigCode.READ]]);
  const directory = await loadConfig(fixture('config'), host);
  assert.ok(!directory.ok);
  assert.equal(directory.errors[0]?.code, ConfigCode.READ);
});

test('load: formatDiagnostic gives file:line:col: severity: message [CODE]', () => {
  assert.equal(
    formatDiagnostic({ file: 'etc/x.conf', line: 12, column: 5, severity: 'error', code: 'ERR_CONFIG_SYNTAX', message: 'oops' }),
    'etc/x.conf:12:5: error: oops [ERR_CONFIG_SYNTAX]',
  );
  assert.equal(
    formatDiagnostic({ file: 'x.conf', line: 1, column: 1, severity: 'warning', code: 'WARN_CONFIG_IGNORED_STANZA', message: 'm' }),
    'x.conf:1:1: warning: m [WARN_CONFIG_IGNORED_STANZA]',
  );
});

test('load: several schema errors of one file come in one run, in source order', () => {
  const text = `Pool_Threads = many
ESMTP_Listener {
  Listen "127.0.0.1:99999" { }
  Idle_Time = soon
}
pipe_transport "a" {
  program_name = "cat"
  domain = ( "ok.example" )
  timeout = 6o
  progam_name = /bin/cat
}
`;
  const result = parseConfigText(text, 'multi.conf', host);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map((e) => formatDiagnostic(e)), [
    'multi.conf:1:16: error: Pool_Threads: expected a whole number, got "many" [ERR_CONFIG_INVALID_VALUE]',
    'multi.conf:3:10: error: Listen "127.0.0.1:99999": port "99999" is not a number from 0 to 65535 (e.g. "127.0.0.1:2525", ":25" or "[::1]:2525") [ERR_CONFIG_INVALID_VALUE]',
    'multi.conf:4:15: error: Idle_Time: expected a whole number of seconds, got "soon" [ERR_CONFIG_INVALID_VALUE]',
    'multi.conf:7:18: error: program_name: the program must be an absolute path (no shell, no PATH search), got "cat" [ERR_CONFIG_INVALID_VALUE]',
    'multi.conf:9:13: error: timeout: expected a whole number of seconds, got "6o" [ERR_CONFIG_INVALID_VALUE]',
    'multi.conf:10:3: error: unknown option "progam_name" in pipe_transport "a"; did you mean program_name? [ERR_CONFIG_UNKNOWN_OPTION]',
  ]);
});

test('load: syntax errors stop before the schema, so no noise about what did not parse', () => {
  const result = parseConfigText('pipe_transport "a" {\n  program_name "/bin/cat"\n  domain = x.example\n}\n', 'f.conf', host);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map((e) => `${e.line}:${e.column} ${e.code}`), ['2:16 ERR_CONFIG_SYNTAX']);
});

test('load: recipient_check must name a program its transport\'s user may run (program-access.ts)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'smtpipe-check-load-'));
  // host's uid 1000 may search it: the refusals below are about the program itself.
  await chmod(dir, 0o755);
  const file = path.join(dir, 'smtpipe.conf');
  const check = (program: string) => `ESMTP_Listener { Listen "127.0.0.1:0" { } }
pipe_transport "t" { program_name = "${fixture('programs', 'exit-with.sh')}" domain = "t.example"
  recipient_check = "${program} \${recipient}" }
`;
  const problems = async (program: string) => {
    await writeFile(file, check(program));
    const result = await loadConfig(file, { ...host, tmpdir: dir });
    return result.ok ? [] : result.errors.map((e) => `${e.line}:${e.column} ${e.code} ${e.message}`);
  };
  assert.deepEqual(await problems(fixture('programs', 'exit-with.sh')), []);
  const { uid, gid } = await stat(fixture('programs', 'not-executable.sh'));
  const owner = `${uid}:${gid}`;
  assert.deepEqual(await problems(`${dir}/missing`), [`3:21 ERR_CONFIG_PROGRAM_MISSING recipient_check: no such file: ${dir}/missing`]);
  assert.deepEqual(await problems(dir), [`3:21 ERR_CONFIG_PROGRAM_NOT_FILE recipient_check: ${dir} is a directory, not a regular file`]);
  assert.deepEqual(await problems(fixture('programs', 'not-executable.sh')), [
    `3:21 ERR_CONFIG_PROGRAM_ACCESS recipient_check: not executable by smtpipe's own uid 1000 (mode 0644, owner ${owner})`,
  ]);
});
