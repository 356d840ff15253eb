import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseConfigText, type ParseResult } from '../../src/config/load.js';
import type { ParsedConfig } from '../../src/config/types.js';
import { parseListenAddress } from '../../src/config/listen-address.js';
import { runCheck } from '../helpers/cli.js';
import { scratchDir } from '../helpers/daemon.js';

const host = { hostname: 'mx.test', parallelism: 8 };
const LISTEN = 'ESMTP_Listener { Listen "127.0.0.1:0" { } }\n';
const TRANSPORT = 'pipe_transport "t" { program_name = "/bin/cat" domain = "t.example" }\n';

function load(text: string): ParseResult {
  return parseConfigText(text, 'f.conf', host);
}

function config(text: string): ParsedConfig {
  const result = load(text);
  assert.ok(result.ok, JSON.stringify(result, null, 1));
  return result.config;
}

/** `line:col CODE message` for every error. */
function errors(text: string): string[] {
  const result = load(text);
  assert.ok(!result.ok, 'expected errors');
  return result.errors.map((e) => `${e.line}:${e.column} ${e.code} ${e.message}`);
}

test('schema: global options and their defaults', () => {
  const defaults = config(LISTEN + TRANSPORT);
  assert.deepEqual(defaults.pool, { threads: 4, tasksPerThread: 64, maxQueue: 1000, spawner: 'auto' });
  assert.equal(defaults.shutdownTimeoutMs, 30_000);
  const two = parseConfigText(LISTEN + TRANSPORT, 'f.conf', { ...host, parallelism: 2 });
  assert.ok(two.ok);
  assert.equal(two.config.pool.threads, 2);

  const set = config('pool_threads = 3\nPOOL_TASKS_PER_THREAD = 8\nPool_Max_Queue = 0\nShutdown_Timeout = "5"\n' + LISTEN + TRANSPORT);
  assert.deepEqual(set.pool, { threads: 3, tasksPerThread: 8, maxQueue: 0, spawner: 'auto' });
  assert.equal(set.shutdownTimeoutMs, 5000);
});

test('schema: Processes is 1 by default, a whole number 1-256, or "auto" (the CPUs)', () => {
  assert.equal(config(LISTEN + TRANSPORT).processes, 1);
  assert.equal(config(`Processes = 3\n${LISTEN}${TRANSPORT}`).processes, 3);
  assert.equal(config(`processes = "AUTO"\n${LISTEN}${TRANSPORT}`).processes, 8);
  const cases: Array<[string, string]> = [
    ['Processes = 0', 'Processes: must be at least 1, got 0'],
    ['Processes = 257', 'Processes: must be at most 256, got 257'],
    ['Processes = many', 'Processes: expected a whole number 1-256 or "auto", got "many"'],
  ];
  for (const [line, message] of cases) {
    assert.deepEqual(errors(`${line}\n${LISTEN}${TRANSPORT}`), [`1:${line.indexOf('=') + 3} ERR_CONFIG_INVALID_VALUE ${message}`], line);
  }
});

test('schema: Spawner is auto, native or child_process, any case, quoted or not', () => {
  const cases: Array<[string, ParsedConfig['pool']['spawner']]> = [
    ['auto', 'auto'], ['"native"', 'native'], ['Child_Process', 'child_process'], ['"CHILD_PROCESS"', 'child_process'],
  ];
  for (const [text, expected] of cases) {
    assert.equal(config(`spawner = ${text}\n${LISTEN}${TRANSPORT}`).pool.spawner, expected, text);
  }
  assert.deepEqual(errors(`Spawner = child-process\n${LISTEN}${TRANSPORT}`), [
    '1:11 ERR_CONFIG_INVALID_VALUE Spawner: expected "auto", "native" or "child_process", got "child-process"; did you mean child_process?',
  ]);
  assert.deepEqual(errors(`Spawner = ( native )\n${LISTEN}${TRANSPORT}`), [
    '1:11 ERR_CONFIG_INVALID_VALUE Spawner: expected a single value, got a list ( ... )',
  ]);
});

test('schema: listener options at ESMTP_Listener scope, overridden per Listen', () => {
  const c = config(`
    ESMTP_Listener {
      Max_Message_Size = 5000
      Idle_Time = 20
      Listen ":2525" { Idle_Time = 7  Greeting_Pause = 0.1 }
      Listen "[::1]:0" { Banner_Hostname = mx1.example.net }
    }
    ESMTP_Listener { Listen "10.0.0.1:25" { } }
  ` + TRANSPORT);
  const [a, b, other] = c.listeners;
  assert.deepEqual({ ...a, position: undefined }, {
    label: ':2525', host: undefined, port: 2525, protocol: 'smtp',
    maxMessageBytes: 5000, maxSessions: 500, idleTimeoutMs: 7000, maxRecipientsPerMessage: 100,
    bannerHostname: 'mx.test', greetingPauseMs: 100, bareNewlines: 'normalize',
    maxReceptionsPerConnection: 0, maxRecipientsPerConnection: 0, maxSessionsPerClient: 250, maxDataMs: 600_000, tls: null, smtputf8: false, proxy: null, connectionThrottle: null, messageThrottle: null, auth: null, requireAuth: false, requireTls: false, peers: [], position: undefined,
  });
  assert.deepEqual([b?.host, b?.port, b?.idleTimeoutMs, b?.bannerHostname], ['::1', 0, 20_000, 'mx1.example.net']);
  assert.deepEqual([other?.maxMessageBytes, other?.idleTimeoutMs, other?.maxSessions], [10_240_000, 300_000, 500]);
  assert.deepEqual(a?.position, { file: 'f.conf', line: 5, column: 7 });
});

test('schema: Max_Sessions_Per_Client defaults to half of Listener_Sessions (rounded up); 0 written stays off', () => {
  const listeners = config(`ESMTP_Listener {
    Listen ":25" { }
    Listen ":26" { Listener_Sessions = 7 }
    Listen ":27" { Listener_Sessions = 1 }
    Listen ":28" { Listener_Sessions = 7  Max_Sessions_Per_Client = 0 }
    Listen ":29" { Max_Sessions_Per_Client = 600 }
  }
  ESMTP_Listener { Listener_Sessions = 10  Listen ":30" { } }
` + TRANSPORT).listeners;
  assert.deepEqual(
    listeners.map((l) => [l.label, l.maxSessions, l.maxSessionsPerClient]),
    [[':25', 500, 250], [':26', 7, 4], [':27', 1, 1], [':28', 7, 0], [':29', 500, 600], [':30', 10, 5]],
  );
});

test('schema: LMTP_Listener takes the Listens and options of ESMTP_Listener, marked lmtp', () => {
  const listeners = config(`
  LMTP_Listener { Max_Recipients_Per_Message = 7  Listen "127.0.0.1:24" { Idle_Time = 9 } }
  ESMTP_Listener { Listen ":25" { } }
` + TRANSPORT).listeners;
  assert.deepEqual(
    listeners.map((l) => [l.label, l.protocol, l.maxRecipientsPerMessage, l.idleTimeoutMs]),
    [['127.0.0.1:24', 'lmtp', 7, 9000], [':25', 'smtp', 100, 300_000]],
  );
});

test('schema: STARTTLS, Use_SSL and their certificate files', () => {
  const [starttls, implicit, plain] = config(`ESMTP_Listener {
    TLS_Certificate = "cert.pem"
    TLS_Key = "/etc/smtpipe/key.pem"
    Listen ":25" { SMTP_Extensions = ( "ENHANCEDSTATUSCODES" "STARTTLS" ) }
    Listen ":465" { Use_SSL = true }
    Listen ":2525" { }
  }
` + TRANSPORT).listeners;
  assert.deepEqual(
    [starttls?.tls?.mode, starttls?.tls?.certificateFile, starttls?.tls?.keyFile, starttls?.tls?.keyPosition],
    ['starttls', 'cert.pem', '/etc/smtpipe/key.pem', { file: 'f.conf', line: 3, column: 15 }],
  );
  assert.equal(implicit?.tls?.mode, 'implicit');
  assert.equal(plain?.tls, null);
  // Never smtp-server's built-in certificate, whose private key is public.
  assert.deepEqual(errors('ESMTP_Listener {\n  Listen ":25" { SMTP_Extensions = ( STARTTLS ) }\n}\n' + TRANSPORT), [
    '2:3 ERR_CONFIG_MISSING_OPTION Listen ":25": STARTTLS needs both TLS_Certificate and TLS_Key (there is no built-in certificate)',
  ]);
  assert.deepEqual(errors('ESMTP_Listener {\n  Listen ":465" { Use_SSL = true TLS_Key = "k" }\n}\n' + TRANSPORT), [
    '2:3 ERR_CONFIG_MISSING_OPTION Listen ":465": Use_SSL needs both TLS_Certificate and TLS_Key (there is no built-in certificate)',
  ]);
  const unused = load('ESMTP_Listener {\n  Listen ":25" { SMTP_Extensions = ( "ETRN" ) TLS_Key = "k" }\n}\n' + TRANSPORT);
  assert.ok(unused.ok);
  assert.deepEqual(unused.warnings.map((w) => `${w.line}:${w.column} ${w.code}`), ['2:38 WARN_CONFIG_UNSUPPORTED_OPTION', '2:57 WARN_CONFIG_UNUSED_OPTION']);
});

test('schema: Proxy_Protocol and Proxy_Hosts', () => {
  const [defaulted, listed, off] = config(`ESMTP_Listener {
    Listen ":25" { Proxy_Protocol = true }
    Listen ":26" { Proxy_Protocol = yes Proxy_Hosts = ( 10.1.2.3 "192.168.0.0/16" "2001:DB8::/32" ) }
    Listen ":27" { Proxy_Hosts = ( 10.1.2.3 ) }
  }
` + TRANSPORT).listeners;
  assert.deepEqual(defaulted?.proxy, { trustedHosts: ['127.0.0.0/8', '::1'] });
  assert.deepEqual(listed?.proxy, { trustedHosts: ['10.1.2.3', '192.168.0.0/16', '2001:db8::/32'] });
  assert.equal(off?.proxy, null);
  assert.deepEqual(errors('ESMTP_Listener {\n  Listen ":25" { Proxy_Protocol = true Proxy_Hosts = ( "10.0.0.0/33" proxy.test "::1/129" ) }\n}\n' + TRANSPORT), [
    '2:56 ERR_CONFIG_INVALID_VALUE Proxy_Hosts: "10.0.0.0/33" is not an IP address or CIDR block',
    '2:70 ERR_CONFIG_INVALID_VALUE Proxy_Hosts: "proxy.test" is not an IP address or CIDR block',
    '2:81 ERR_CONFIG_INVALID_VALUE Proxy_Hosts: "::1/129" is not an IP address or CIDR block',
  ]);
});

test('schema: Listen addresses', () => {
  const cases: Array<[string, string | undefined, number | string]> = [
    ['127.0.0.1:2525', '127.0.0.1', 2525],
    [':25', undefined, 25],
    ['[::1]:2525', '::1', 2525],
    ['[::]:25', '::', 25],
    ['localhost:0', 'localhost', 0],
    ['0.0.0.0:65535', '0.0.0.0', 65535],
    ['127.0.0.1', '', 'expected host:port'],
    ['127.0.0.1:65536', '', 'port "65536" is not a number from 0 to 65535'],
    ['127.0.0.1:x', '', 'port "x"'],
    [':', '', 'port ""'],
    ['::1:25', '', 'an IPv6 address must be in brackets'],
    ['[1.2.3.4]:25', '', '"1.2.3.4" is not an IPv6 address'],
    ['1.2.3.400:25', '', '"1.2.3.400" is not an IPv4 address'],
    ['bad_host:25', '', '"bad_host" is not a host name'],
  ];
  for (const [label, hostName, portOrReason] of cases) {
    const parsed = parseListenAddress(label);
    if (typeof portOrReason === 'number') {
      assert.deepEqual(parsed, { ok: true, host: hostName, port: portOrReason }, label);
    } else {
      assert.ok(!parsed.ok, label);
      assert.ok(parsed.reason.includes(portOrReason), `${label}: ${parsed.reason}`);
    }
  }
  assert.deepEqual(errors('ESMTP_Listener {\n  Listen "::1:25" { }\n}\n' + TRANSPORT), [
    '2:10 ERR_CONFIG_INVALID_VALUE Listen "::1:25": an IPv6 address must be in brackets, e.g. "[::1]:25"',
  ]);
});

test('schema: Momentum listener options warn, unknown ones are errors, nested stanzas warn', () => {
  const text = `ESMTP_Listener {
  Accept_Queue_Backlog = 100
  TLS_Ciphers = "DEFAULT"
  Domain "example.com" { Anything = goes }
  Listen ":0" {
    TLS_Protocols = "TLSv1.2"
    Domain "example.com" { }
  }
}
` + TRANSPORT;
  const result = load(text);
  assert.ok(result.ok);
  assert.deepEqual(result.warnings.map((w) => `${w.line}:${w.column} ${w.code}`), [
    '2:3 WARN_CONFIG_UNSUPPORTED_OPTION',
    '3:3 WARN_CONFIG_UNSUPPORTED_OPTION',
    '4:3 WARN_CONFIG_IGNORED_STANZA',
    '6:5 WARN_CONFIG_UNSUPPORTED_OPTION',
    '7:5 WARN_CONFIG_IGNORED_STANZA',
  ]);
  assert.deepEqual(errors('ESMTP_Listener {\n  Max_Mesage_Size = 5\n  Listen ":0" { Frobnicate = 1 }\n}\n' + TRANSPORT), [
    '2:3 ERR_CONFIG_UNKNOWN_OPTION unknown option "Max_Mesage_Size" in ESMTP_Listener; did you mean Max_Message_Size?',
    '3:17 ERR_CONFIG_UNKNOWN_OPTION unknown option "Frobnicate" in Listen ":0"',
  ]);
});

test('schema: numbers, durations and booleans reject garbage with a clear message', () => {
  const cases: Array<[string, string]> = [
    ['Shutdown_Timeout = 6o', 'Shutdown_Timeout: expected a whole number of seconds, got "6o"'],
    ['Shutdown_Timeout = -1', 'Shutdown_Timeout: expected a whole number of seconds, got "-1"'],
    ['Shutdown_Timeout = 1.5', 'Shutdown_Timeout: expected a whole number of seconds, got "1.5"'],
    ['Shutdown_Timeout = 99999999', 'Shutdown_Timeout: must be at most 2147483 seconds, got 99999999'],
    ['Pool_Threads = 0', 'Pool_Threads: must be at least 1, got 0'],
    ['Pool_Threads = ( 1 2 )', 'Pool_Threads: expected a single value, got a list ( ... )'],
    ['Pool_Max_Queue = 1e3', 'Pool_Max_Queue: expected a whole number, got "1e3"'],
    ['Pool_Max_Queue = 99999999999999999999', 'Pool_Max_Queue: expected a whole number, got "99999999999999999999"'],
  ];
  for (const [line, message] of cases) {
    assert.deepEqual(errors(`${line}\n${LISTEN}${TRANSPORT}`), [`1:${line.indexOf('=') + 3} ERR_CONFIG_INVALID_VALUE ${message}`], line);
  }
  const listener = (option: string) => errors(`ESMTP_Listener { ${option} Listen ":0" { } }\n${TRANSPORT}`)[0];
  assert.match(listener('Max_Message_Size = 10M') ?? '', /expected a whole number of bytes, got "10M"/);
  assert.match(listener('Greeting_Pause = .5') ?? '', /expected a number of seconds like 2 or 0.5, got "\.5"/);
  assert.match(listener('Banner_Hostname = "a b"') ?? '', /"a b" is not a host name/);
  assert.match(listener('Idle_Time = 0') ?? '', /Idle_Time: must be at least 1 second, got 0/);
});

test('schema: booleans are true/false/yes/no/on/off, quoted or not, any case', () => {
  const cases: Array<[string, boolean]> = [
    ['true', true], ['"TRUE"', true], ['yes', true], ['On', true],
    ['false', false], ['"no"', false], ['OFF', false],
  ];
  for (const [text, expected] of cases) {
    const c = config(`${LISTEN}pipe_transport t { program_name = /bin/cat domain = t.example return_path_header = ${text} }`);
    assert.equal(c.transports[0]?.returnPathHeader, expected, text);
  }
  assert.match(
    errors(`${LISTEN}pipe_transport t { program_name = /bin/cat domain = t.example received_header = 1 }`)[0] ?? '',
    /received_header: expected true or false \(or yes\/no, on\/off\), got "1"/,
  );
});

test('schema: Momentum top-level options and stanzas from the catalogue warn once each; contents unchecked', () => {
  const result = load(`Spoolbase = /var/spool/ecelerity
ec_logger "ec_logger" { anything = ( at all ) }
Domain "example.com" { Nested { deeper = 1 } }
${LISTEN}${TRANSPORT}`);
  assert.ok(result.ok);
  assert.deepEqual(result.warnings.map((w) => `${w.line}:${w.column} ${w.code} ${w.message}`), [
    '1:1 WARN_CONFIG_IGNORED_OPTION Spoolbase is not used by smtpipe; ignored',
    '2:1 WARN_CONFIG_IGNORED_STANZA ec_logger "ec_logger" is not used by smtpipe; ignored with its contents',
    '3:1 WARN_CONFIG_IGNORED_STANZA Domain "example.com" is not used by smtpipe; ignored with its contents',
  ]);
});

test('schema: a top-level name neither smtpipe\'s nor in the Momentum catalogue is an error, with "did you mean"', () => {
  // Each of these used to be a warning: the misspelt pipe_transport's domains then got 550.
  assert.deepEqual(
    errors(`Pool_Thread = 2
Shutdown_Timout = 20
Frobnicate = 1
pipe_transprot "lists" { program_name = /bin/cat domain = lists.example }
PIPE_TRANSPORTS "x" { }
Esmtp_Listner { }
Widget { }
Listen ":25" { }
${LISTEN}${TRANSPORT}`),
    [
      '1:1 ERR_CONFIG_UNKNOWN_OPTION unknown option "Pool_Thread"; did you mean Pool_Threads?',
      '2:1 ERR_CONFIG_UNKNOWN_OPTION unknown option "Shutdown_Timout"; did you mean Shutdown_Timeout?',
      '3:1 ERR_CONFIG_UNKNOWN_OPTION unknown option "Frobnicate"; not an smtpipe option nor a Momentum global option',
      '4:1 ERR_CONFIG_UNKNOWN_STANZA unknown stanza pipe_transprot "lists"; did you mean pipe_transport?',
      '5:1 ERR_CONFIG_UNKNOWN_STANZA unknown stanza PIPE_TRANSPORTS "x"; did you mean pipe_transport?',
      '6:1 ERR_CONFIG_UNKNOWN_STANZA unknown stanza Esmtp_Listner; did you mean ESMTP_Listener?',
      '7:1 ERR_CONFIG_UNKNOWN_STANZA unknown stanza Widget; not an smtpipe stanza nor a Momentum module or global scope',
      '8:1 ERR_CONFIG_UNKNOWN_STANZA unknown stanza Listen ":25" (Listen belongs inside ESMTP_Listener { } or LMTP_Listener { })',
    ],
  );
});

test('schema: a misspelt scope inside a listener is an error; a Momentum scope there stays a warning', () => {
  // A misspelt Listen used to be a warning: its address was silently never bound.
  assert.deepEqual(
    errors(`ESMTP_Listener {
  Lisen "127.0.0.1:2600" { }
  Listen "127.0.0.1:0" { Per "10.0.0.0/8" { } }
  Widget { }
}
${TRANSPORT}`),
    [
      '2:3 ERR_CONFIG_UNKNOWN_STANZA unknown stanza Lisen "127.0.0.1:2600" inside ESMTP_Listener; did you mean Listen?',
      '3:26 ERR_CONFIG_UNKNOWN_STANZA unknown stanza Per "10.0.0.0/8" inside Listen "127.0.0.1:0"; did you mean Peer?',
      '4:3 ERR_CONFIG_UNKNOWN_STANZA unknown stanza Widget inside ESMTP_Listener; ESMTP_Listener holds only Listen and Peer scopes',
    ],
  );
  const shared = load(`ESMTP_Listener { Listen "127.0.0.1:0" { Pathway "p" { } } Domain "example.com" { } }
${TRANSPORT}`);
  assert.ok(shared.ok, JSON.stringify(shared));
  assert.deepEqual(shared.warnings.map((w) => `${w.line}:${w.column} ${w.code}`), ['1:41 WARN_CONFIG_IGNORED_STANZA', '1:59 WARN_CONFIG_IGNORED_STANZA']);
});

test('schema: a catalogue name stays a warning even when it is a letter away from a name of ours', () => {
  // pipe_io is a real Momentum module, Host a real scope, Hostname a real global option.
  const result = load(`pipe_io { }
HOST "mx.example" { }
hostname = mx.example
${LISTEN}${TRANSPORT}`);
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.warnings.map((w) => `${w.line}:${w.column} ${w.code}`), [
    '1:1 WARN_CONFIG_IGNORED_STANZA',
    '2:1 WARN_CONFIG_IGNORED_STANZA',
    '3:1 WARN_CONFIG_IGNORED_OPTION',
  ]);
});

test('schema: a Listen and a pipe_transport are required, reported at 1:1', () => {
  assert.deepEqual(errors('# nothing here\n').map((e) => e.split(' ').slice(0, 2).join(' ')), [
    '1:1 ERR_CONFIG_MISSING_STANZA',
    '1:1 ERR_CONFIG_MISSING_STANZA',
  ]);
  assert.match(errors(TRANSPORT)[0] ?? '', /^1:1 ERR_CONFIG_MISSING_STANZA no Listen configured/);
  assert.match(errors(LISTEN)[0] ?? '', /^1:1 ERR_CONFIG_MISSING_STANZA no pipe_transport configured/);
  // An ESMTP_Listener without a Listen does not count.
  assert.match(errors('ESMTP_Listener { }\n' + TRANSPORT)[0] ?? '', /no Listen configured/);
});

test('schema: duplicates: options, Listen addresses (port 0 exempt)', () => {
  assert.deepEqual(
    errors('Pool_Threads = 1\npool_threads = 2\nESMTP_Listener {\n  Listen ":25" { }\n  Listen ":25" { }\n  Listen ":0" { }\n  Listen ":0" { }\n}\n' + TRANSPORT),
    [
      '2:1 ERR_CONFIG_DUPLICATE pool_threads is set twice (first at f.conf:1:1)',
      '5:3 ERR_CONFIG_DUPLICATE Listen ":25" is already configured at f.conf:4:3',
    ],
  );
  assert.deepEqual(errors('ESMTP_Listener "x" { Listen ":0" { } }\n' + TRANSPORT), [
    '1:16 ERR_CONFIG_INVALID_VALUE ESMTP_Listener takes no name: write ESMTP_Listener { Listen ... }',
  ]);
  assert.deepEqual(errors('ESMTP_Listener { Listen { } }\n' + TRANSPORT), [
    '1:18 ERR_CONFIG_MISSING_OPTION Listen needs an address: Listen "127.0.0.1:2525" { }',
  ]);
});

test('schema: smtpipe --check exits 78 on a misspelt pipe_transport, naming the right one (it passed with a warning before)', async () => {
  const dir = await scratchDir();
  const file = path.join(dir, 'smtpipe.conf');
  await writeFile(file, `${LISTEN}${TRANSPORT}pipe_transprot "lists" { program_name = /bin/cat domain = lists.example }\n`);
  const result = await runCheck(file);
  assert.equal(result.code, 78, result.stderr);
  assert.match(result.stderr, /smtpipe\.conf:3:1: error: unknown stanza pipe_transprot "lists"; did you mean pipe_transport\? \[ERR_CONFIG_UNKNOWN_STANZA\]/);
  assert.equal(result.stdout, '');
});
