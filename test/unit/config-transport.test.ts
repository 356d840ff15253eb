import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, type ParseResult } from '../../src/config/load.js';
import type { ParsedTransport } from '../../src/config/types.js';
import { compileArgv, splitProgramName } from '../../src/config/program-argv.js';
import { suggestName } from '../../src/config/suggest.js';
import { argvWords } from '../helpers/transport.js';

const host = { hostname: 'mx.test', parallelism: 8 };
const LISTEN = 'ESMTP_Listener { Listen "127.0.0.1:0" { } }\n';

function load(body: string, name = '"t"'): ParseResult {
  return parseConfigText(`${LISTEN}pipe_transport ${name} {\n${body}\n}\n`, 'f.conf', host);
}

function transport(body: string): ParsedTransport {
  const result = load(body);
  assert.ok(result.ok, JSON.stringify(result, null, 1));
  assert.deepEqual(result.warnings, []);
  return result.config.transports[0] as ParsedTransport;
}

/** `line:col CODE message`; the transport body starts on line 3. */
function errors(body: string, name?: string): string[] {
  const result = load(body, name);
  assert.ok(!result.ok, `expected errors for ${body}`);
  return result.errors.map((e) => `${e.line}:${e.column} ${e.code} ${e.message}`);
}

const BASE = 'program_name = "/bin/cat"\ndomain = "t.example"';

test('transport: defaults', () => {
  const t = transport(BASE);
  assert.deepEqual({ ...t, codes: [...t.codes], position: undefined }, {
    name: 't',
    programName: '/bin/cat',
    program: { path: '/bin/cat', args: [], singleRecipient: false },
    outputFile: null,
    errorFile: null,
    outputMode: 0o600,
    errorMode: 0o600,
    domains: ['t.example'],
    codes: [],
    exitCodes: 'momentum',
    replyFromOutput: 'none',
    timeoutMs: 60_000,
    concurrency: 16,
    eol: 'lf',
    receivedHeader: true,
    returnPathHeader: false,
    deliveredToHeader: false,
    env: {},
    user: null,
    group: null,
    allowRoot: false,
    directory: null,
    umask: null,
    recipientCheck: null,
    recipientCheckTimeoutMs: 10_000,
    recipientCheckConcurrency: 4,
    places: { programName: { file: 'f.conf', line: 3, column: 16 } },
    position: undefined,
  });
  assert.deepEqual(t.position, { file: 'f.conf', line: 2, column: 1 });
});

test('transport: exit_codes and reply_from_output are read, case-insensitively', () => {
  const t = transport(`${BASE}\nexit_codes = "SysExits"\nreply_from_output = "stderr"`);
  assert.deepEqual([t.exitCodes, t.replyFromOutput], ['sysexits', 'stderr']);
});

test('transport: without exit_codes, the global Exit_Codes applies; its own wins', () => {
  const result = parseConfigText(
    `Exit_Codes = "qmail"\n${LISTEN}pipe_transport "a" {\n${BASE}\n}\npipe_transport "b" {\nprogram_name = "/bin/cat"\ndomain = "b.example"\nexit_codes = "momentum"\n}\n`,
    'f.conf',
    host,
  );
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.config.transports.map((x) => [x.name, x.exitCodes]), [['a', 'qmail'], ['b', 'momentum']]);
  assert.equal(result.config.exitCodes, 'qmail');
});

test('transport: a wrong exit_codes or reply_from_output value is an error naming the choices', () => {
  assert.deepEqual(errors(`${BASE}\nexit_codes = "sysexit"`), [
    '5:14 ERR_CONFIG_INVALID_VALUE exit_codes: expected "momentum", "sysexits" or "qmail", got "sysexit"; did you mean sysexits?',
  ]);
  assert.deepEqual(errors(`${BASE}\nreply_from_output = "both"`), [
    '5:21 ERR_CONFIG_INVALID_VALUE reply_from_output: expected "none", "stdout" or "stderr", got "both"',
  ]);
});

test('transport: reply_from_output may not read a stream that output_file / error_file takes', () => {
  assert.deepEqual(errors(`${BASE}\noutput_file = "/tmp/o"\nreply_from_output = "stdout"`), [
    '6:21 ERR_CONFIG_INVALID_VALUE pipe_transport "t": reply_from_output = "stdout" reads the program\'s stdout, which output_file sends to a file; set one or the other',
  ]);
  assert.deepEqual(errors(`${BASE}\nerror_file = "/tmp/e"\nreply_from_output = "stderr"`), [
    '6:21 ERR_CONFIG_INVALID_VALUE pipe_transport "t": reply_from_output = "stderr" reads the program\'s stderr, which error_file sends to a file; set one or the other',
  ]);
  // The other stream may go to its file.
  assert.equal(transport(`${BASE}\nerror_file = "/tmp/e"\nreply_from_output = "stdout"`).replyFromOutput, 'stdout');
});

test('transport: output_file / error_file = "/dev/null" mean no file (the Momentum default, written out)', () => {
  const t = transport(`${BASE}\noutput_file = "/dev/null"\nerror_file = "/dev/null"`);
  assert.equal(t.outputFile, null);
  assert.equal(t.errorFile, null);
});

test('transport: every option set', () => {
  const t = transport(`
    PROGRAM_NAME = "/usr/bin/foo --to \\"a b\\" \${recipient} \${recipients}"
    output_file = /var/log/foo.out
    error_file = "/var/log/foo.err"
    output_mode = 0640
    error_mode = 644
    domain = ( "Example.COM" *.example.org )
    code = [ "0" = "250 2.0.0 delivered" 100 = "550 5.0.0 command failed" 111 = "451 4.3.0 try again later" ]
    timeout = 5
    concurrency = 2
    eol = CRLF
    received_header = no
    return_path_header = yes
    delivered_to_header = on
    env = [ PATH = "/usr/bin:/bin" "LANG" = C.UTF-8 __proto__ = x ]
    user = mailer
    group = "8"
    allow_root = yes
    directory = /var/spool/foo
    umask = 0027
  `);
  assert.equal(t.programName, '/usr/bin/foo --to "a b" ${recipient} ${recipients}');
  assert.deepEqual(argvWords(t.program), ['/usr/bin/foo', '--to', 'a b', '${recipient}', '${recipients}']);
  assert.equal(t.program.singleRecipient, true);
  assert.deepEqual([t.outputFile, t.errorFile, t.outputMode, t.errorMode], ['/var/log/foo.out', '/var/log/foo.err', 0o640, 0o644]);
  assert.deepEqual(t.domains, ['example.com', '*.example.org']);
  assert.deepEqual([...t.codes], [
    [0, { code: 250, text: '2.0.0 delivered' }],
    [100, { code: 550, text: '5.0.0 command failed' }],
    [111, { code: 451, text: '4.3.0 try again later' }],
  ]);
  assert.deepEqual([t.timeoutMs, t.concurrency, t.eol], [5000, 2, 'crlf']);
  assert.deepEqual([t.receivedHeader, t.returnPathHeader, t.deliveredToHeader], [false, true, true]);
  assert.deepEqual(Object.entries(t.env), [['PATH', '/usr/bin:/bin'], ['LANG', 'C.UTF-8'], ['__proto__', 'x']]);
  assert.equal(Object.getPrototypeOf(t.env), Object.prototype);
  // As written, with where: the loader resolves them against the host (config-accounts.test.ts).
  assert.deepEqual([t.user, t.group, t.directory], [
    { text: 'mailer', position: { file: 'f.conf', line: 18, column: 12 } },
    { text: '8', position: { file: 'f.conf', line: 19, column: 13 } },
    { text: '/var/spool/foo', position: { file: 'f.conf', line: 21, column: 17 } },
  ]);
  assert.deepEqual([t.allowRoot, t.umask], [true, 0o027]);
  // The schema only reads: who the program runs as is the loader's to resolve.
  assert.equal('runAs' in t, false);
});

test('transport: a misspelt option is an error naming it, with a suggestion when close', () => {
  assert.deepEqual(errors(`${BASE}\n  progam_name = /bin/true\n  outputfile = /tmp/x\n  colour = blue`), [
    '5:3 ERR_CONFIG_UNKNOWN_OPTION unknown option "progam_name" in pipe_transport "t"; did you mean program_name?',
    '6:3 ERR_CONFIG_UNKNOWN_OPTION unknown option "outputfile" in pipe_transport "t"; did you mean output_file?',
    '7:3 ERR_CONFIG_UNKNOWN_OPTION unknown option "colour" in pipe_transport "t"',
  ]);
  assert.deepEqual(errors(`${BASE}\n  Listen ":0" { }`), [
    '5:3 ERR_CONFIG_UNKNOWN_OPTION pipe_transport "t" has no nested stanza Listen ":0"',
  ]);
});

test('transport: program_name is split without a shell', () => {
  const cases: Array<[string, string[] | string]> = [
    ['/bin/cat', ['/bin/cat']],
    ['  /bin/echo   a\tb  ', ['/bin/echo', 'a', 'b']],
    ['/bin/echo "a b" c', ['/bin/echo', 'a b', 'c']],
    ['/bin/echo x"y z"w', ['/bin/echo', 'xy zw']],
    ['/bin/echo "" end', ['/bin/echo', '', 'end']],
    ['/bin/echo \\"q\\" \\\\', ['/bin/echo', '"q"', '\\']],
    ["/bin/echo 'a b'", ['/bin/echo', "'a", "b'"]],
    ['/bin/echo "open', 'a double quote inside the value is not closed'],
    ['   ', 'no program given'],
  ];
  for (const [text, expected] of cases) {
    const split = splitProgramName(text);
    assert.deepEqual(split.ok ? split.argv : split.reason, expected, text);
  }
});

test('transport: program_name macros and program path are checked', () => {
  const cases: Array<[string[], string[]]> = [
    [['/bin/x', '${sender}', '--to=${recipient}', '${recipients}', '${queue_id}.${size}'], []],
    [['/bin/x', '${domain}${local}${client_address}${client_helo}${transport}'], []],
    [['bin/x'], ['the program must be an absolute path (no shell, no PATH search), got "bin/x"']],
    [['${sender}'], ['the program "${sender}" may not hold macros: only its arguments may']],
    [['/bin/x', '${recipent}'], ['unknown macro ${recipent} in argument 1; did you mean ${recipient}?']],
    [['/bin/x', '${nexthop}'], ['unknown macro ${nexthop} in argument 1; known macros: ${sender} ${recipient} ${recipients} ${domain} ${local} ${queue_id} ${client_address} ${client_helo} ${auth_user} ${size} ${transport}']],
    [['/bin/x', '--to=${recipients}'], ['${recipients} must be a whole argument on its own, got "--to=${recipients}"']],
    [['/bin/x', '${sender'], ['"${" without a closing "}" in argument 1 "${sender"']],
  ];
  for (const [argv, expected] of cases) {
    const compiled = compileArgv(argv);
    assert.deepEqual(compiled.ok ? [] : compiled.problems, expected, argv.join(' '));
  }

  // In a file: the error points at the value.
  assert.deepEqual(errors('  program_name = "/bin/x ${Recipient}"\n  domain = t.example'), [
    '3:18 ERR_CONFIG_INVALID_VALUE program_name: unknown macro ${Recipient} in argument 1; did you mean ${recipient}?',
  ]);
});

test('transport: recipient_check takes program_name\'s macros, except those with no value before DATA', () => {
  const t = transport(`${BASE}\nrecipient_check = "/usr/bin/known -s \${sender} \${recipient} \${local}@\${domain}"\nrecipient_check_timeout = 3\nrecipient_check_concurrency = 2`);
  assert.equal(t.recipientCheck?.text, '/usr/bin/known -s ${sender} ${recipient} ${local}@${domain}');
  assert.deepEqual(argvWords(t.recipientCheck.template), ['/usr/bin/known', '-s', '${sender}', '${recipient}', '${local}@${domain}']);
  assert.equal(t.recipientCheckTimeoutMs, 3000);
  assert.equal(t.recipientCheckConcurrency, 2);
  assert.deepEqual(errors(`${BASE}\nrecipient_check = "/usr/bin/known \${queue_id} x\${size} \${recipients}"`), [
    '5:19 ERR_CONFIG_INVALID_VALUE recipient_check: ${queue_id} has no value before DATA (the queue id is given at DATA)',
    '5:19 ERR_CONFIG_INVALID_VALUE recipient_check: ${size} has no value before DATA (the size is known only after DATA)',
    '5:19 ERR_CONFIG_INVALID_VALUE recipient_check: ${recipients} has no value before DATA (a check is about one recipient: use ${recipient})',
  ]);
  assert.match(errors(`${BASE}\nrecipient_check = "known \${recipient}"`)[0] ?? '', /recipient_check: the program must be an absolute path/);
  assert.match(errors(`${BASE}\nrecipient_check = "/k \${recipent}"`)[0] ?? '', /did you mean \$\{recipient\}\?/);
  assert.match(errors(`${BASE}\nrecipient_check = "/k"\nrecipient_check_timeout = 0`)[0] ?? '', /recipient_check_timeout/);
});

test('transport: domain is required, validated, lower-cased, unique', () => {
  assert.deepEqual(transport('program_name = /bin/cat\ndomain = Example.COM').domains, ['example.com']);
  assert.deepEqual(errors('program_name = /bin/cat'), [
    '2:1 ERR_CONFIG_MISSING_OPTION pipe_transport "t" needs domain = ( "example.com" ... ): the domains it receives mail for',
  ]);
  assert.deepEqual(
    errors('program_name = /bin/cat\ndomain = ( a..b "x_y.com" *.ok.example foo.*.com A.example a.EXAMPLE )'),
    [
      '4:12 ERR_CONFIG_INVALID_VALUE domain: "a..b" is not a domain: it has an empty label (two dots, or a dot at either end)',
      '4:17 ERR_CONFIG_INVALID_VALUE domain: "x_y.com" is not a domain: label "x_y" may hold only letters, digits and inner hyphens',
      '4:40 ERR_CONFIG_INVALID_VALUE domain: "foo.*.com" is not a domain: a wildcard is allowed only as a leading "*." label',
      '4:60 ERR_CONFIG_DUPLICATE domain: "a.example" is listed twice (first at f.conf:4:50)',
    ],
  );
  assert.deepEqual(errors('program_name = /bin/cat\ndomain = ( )'), [
    '4:10 ERR_CONFIG_INVALID_VALUE domain: the list is empty; name at least one domain',
  ]);
});

test('transport: a domain claimed by two transports is an error naming both', () => {
  const text = `${LISTEN}pipe_transport "a" { program_name = /bin/cat domain = ( one.example Two.Example ) }
pipe_transport "b" { program_name = /bin/cat domain = two.example }
pipe_transport "a" { program_name = /bin/cat domain = three.example }
pipe_transport { program_name = /bin/cat domain = four.example }
`;
  const result = parseConfigText(text, 'f.conf', host);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map((e) => `${e.line}:${e.column} ${e.code} ${e.message}`), [
    '3:55 ERR_CONFIG_DUPLICATE domain "two.example" is claimed by pipe_transport "a" (f.conf:2:1) and pipe_transport "b"',
    '4:1 ERR_CONFIG_DUPLICATE pipe_transport "a" is already defined at f.conf:2:1',
    '5:1 ERR_CONFIG_MISSING_OPTION pipe_transport needs a name: pipe_transport "name" { ... }',
  ]);
});

test('transport: code map keys are exit statuses, values reply lines', () => {
  const body = (map: string) => `${BASE}\ncode = [ ${map} ]`;
  const cases: Array<[string, string]> = [
    ['256 = "550 x"', 'code: key "256" is not an exit status from 0 to 255'],
    ['-1 = "550 x"', 'code: key "-1" is not an exit status from 0 to 255'],
    ['x = "550 x"', 'code: key "x" is not an exit status from 0 to 255'],
    ['1 = "350 x"', 'code: exit status 1 needs a reply line "NNN text" with NNN a 2xx, 4xx or 5xx code and printable ASCII text, got "350 x"'],
    ['1 = "550"', 'code: exit status 1 needs a reply line "NNN text" with NNN a 2xx, 4xx or 5xx code and printable ASCII text, got "550"'],
    ['1 = "550-x"', 'code: exit status 1 needs a reply line "NNN text" with NNN a 2xx, 4xx or 5xx code and printable ASCII text, got "550-x"'],
    ['1 = "550 a\\nb"', 'code: exit status 1 needs a reply line "NNN text" with NNN a 2xx, 4xx or 5xx code and printable ASCII text, got "550 a\\nb"'],
    ['1 = "550 \u00e9t\u00e9"', 'code: exit status 1 needs a reply line "NNN text" with NNN a 2xx, 4xx or 5xx code and printable ASCII text, got "550 \u00e9t\u00e9"'],
    ['1 = ( "550 x" )', 'code: exit status 1 needs a reply line "NNN text" with NNN a 2xx, 4xx or 5xx code and printable ASCII text, got a list'],
    ['0 = "250 a" "00" = "250 b"', 'code: exit status 0 is mapped twice (first at f.conf:5:10)'],
  ];
  for (const [map, message] of cases) {
    const found = errors(body(map));
    assert.equal(found.length, 1, map);
    assert.ok(found[0]?.endsWith(message), `${map}: ${found[0]}`);
  }
  assert.match(errors(`${BASE}\ncode = ( 1 )`)[0] ?? '', /code: expected a map like \[ 100 = "550 5.0.0 command failed" \], got a list/);
});

test('transport: env names, reserved names and values', () => {
  const body = (map: string) => `${BASE}\nenv = [ ${map} ]`;
  const cases: Array<[string, string]> = [
    ['1X = a', 'env: "1X" is not a variable name (letters, digits, _; not starting with a digit)'],
    ['"A-B" = a', 'env: "A-B" is not a variable name (letters, digits, _; not starting with a digit)'],
    ['SENDER = a', 'env: SENDER is set by smtpipe for every message and cannot be overridden'],
    ['QUEUE_ID = a', 'env: QUEUE_ID is set by smtpipe for every message and cannot be overridden'],
    ['A = a A = b', 'env: A is set twice'],
    ['A = ( a )', 'env: A needs a single string value without NUL bytes'],
  ];
  for (const [map, message] of cases) {
    const found = errors(body(map));
    assert.equal(found.length, 1, map);
    assert.ok(found[0]?.endsWith(message), `${map}: ${found[0]}`);
  }
});

test('transport: value checks for modes, paths, eol, timeout, concurrency', () => {
  const cases: Array<[string, string]> = [
    ['output_mode = 0999', 'output_mode: expected an octal file mode from 0000 to 0777 like 0640, got "0999"'],
    ['output_mode = 00000640', 'output_mode: expected an octal file mode from 0000 to 0777 like 0640, got "00000640"'],
    ['error_mode = 04755', 'error_mode: expected an octal file mode from 0000 to 0777 like 0640, got "04755"'],
    ['error_mode = rw', 'error_mode: expected an octal file mode from 0000 to 0777 like 0640, got "rw"'],
    ['output_file = out.txt', 'output_file: expected an absolute path, got "out.txt"'],
    ['error_file = ""', 'error_file: expected a value, got ""'],
    ['eol = cr', 'eol: expected "lf" or "crlf", got "cr"'],
    ['timeout = 0', 'timeout: must be at least 1 second, got 0'],
    ['timeout = 6o', 'timeout: expected a whole number of seconds, got "6o"'],
    ['concurrency = 0', 'concurrency: must be at least 1, got 0'],
    ['program_name = ( /bin/cat )', 'program_name: expected a single value, got a list ( ... )'],
    ['domain = [ a = b ]', 'domain: expected a list ( "a" "b" ), got a map [ ... ]'],
    ['umask = 0999', 'umask: expected an octal umask from 0000 to 0777 like 0027, got "0999"'],
    ['umask = 02022', 'umask: expected an octal umask from 0000 to 0777 like 0027, got "02022"'],
    ['directory = spool', 'directory: expected an absolute path, got "spool"'],
    ['allow_root = maybe', 'allow_root: expected true or false (or yes/no, on/off), got "maybe"'],
    ['user = "-o"', 'user: "-o" is neither a name (letters, digits, . _ -; not starting with -) nor a numeric uid'],
    ['user = "mail man"', 'user: "mail man" is neither a name (letters, digits, . _ -; not starting with -) nor a numeric uid'],
    ['user = 2147483648', 'user: a numeric uid must be at most 2147483647, got 2147483648'],
    ['group = "wheel$x"', 'group: "wheel$x" is neither a name (letters, digits, . _ -; not starting with -) nor a numeric gid'],
    ['group = ""', 'group: expected a value, got ""'],
  ];
  for (const [line, message] of cases) {
    const key = line.split(' ')[0] as string;
    const rest = BASE.split('\n').filter((l) => !l.startsWith(key)).join('\n');
    const found = errors(`${rest}\n${line}`);
    assert.deepEqual(found.map((f) => f.replace(/^\S+ \S+ /, '')), [message], line);
  }
  assert.deepEqual(transport(`${BASE}\noutput_mode = 0\nerror_mode = "0644"`).outputMode, 0);
});

test('transport: option set twice is an error pointing at the first', () => {
  assert.deepEqual(errors(`${BASE}\ntimeout = 1\nTimeout = 2`), [
    '6:1 ERR_CONFIG_DUPLICATE Timeout is set twice in pipe_transport "t" (first at f.conf:5:1)',
  ]);
});

test('suggest: close names only', () => {
  const names = ['program_name', 'output_file', 'error_file', 'eol', 'env'];
  const cases: Array<[string, string | undefined]> = [
    ['progam_name', 'program_name'],
    ['PROGRAM_NAEM', 'program_name'],
    ['output-file', 'output_file'],
    ['eol', 'eol'],
    ['eols', 'eol'],
    ['xyz', undefined],
    ['domain', undefined],
  ];
  for (const [word, expected] of cases) assert.equal(suggestName(word, names), expected, word);
});
