// The HELO/EHLO argument check and the quoted-local-part scan of MAIL/RCPT lines (pure).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHeloArgument } from '../../src/smtp/helo-syntax.js';
import { maskQuotedLocalPart } from '../../src/smtp/path-syntax.js';

// [HELO/EHLO argument, accepted?]
const heloCases: Array<[string, boolean]> = [
  ['localhost', true],
  ['client.example.com', true],
  ['mail.example.com.', true], // root dot: Postfix accepts it too
  ['my_pc', true], // Windows machine names; Postfix accepts by default
  ['DESKTOP-4F2K9Q1', true],
  ['ip-10-0-0-1.ec2.internal', true],
  ['xn--bcher-kva.example', true],
  ['192.0.2.1', true], // all-digit labels are LDH
  ['[127.0.0.1]', true], // nodemailer's choice for a host name without a dot
  ['[IPv6:::1]', true],
  ['[ipv6:2001:db8::1]', true], // smtp-server lower-cases what it stores
  ['[IPv6:::ffff:192.0.2.1]', true],
  ['a'.repeat(63), true],
  [`${'a.'.repeat(127)}a`, true], // 255 octets
  ['--output=/etc/passwd', false],
  ['-x', false],
  ['a.-b', false],
  ['a-.b', false],
  ['a..b', false],
  ['.a', false],
  ['.', false],
  ['', false],
  ['a'.repeat(64), false],
  [`${'a.'.repeat(128)}a`, false],
  ['bücher.example', false], // no SMTPUTF8: A-labels only
  ['a;b', false],
  ['$(id)', false],
  ['a/b', false],
  ['[127.0.0.1', false],
  ['[256.0.0.1]', false],
  ['[1.2.3]', false],
  ['[IPv6:fe80::1%eth0]', false],
  ['[IPv6:not-an-address]', false],
  ['[x400:whatever]', false], // general literals: no registered tag
  ['[-1]', false],
];

for (const [value, ok] of heloCases) {
  test(`HELO ${JSON.stringify(value.length > 40 ? `${value.slice(0, 20)}...(${value.length})` : value)} ${ok ? 'accepted' : 'refused'}`, () => {
    assert.equal(isHeloArgument(value), ok);
  });
}

// [command line, masked line or null, local part]
const pathCases: Array<[string, string | null, string?]> = [
  ['RCPT TO:<"foo bar"@x.test>', 'RCPT TO:<qqqqqqqqq@x.test>', '"foo bar"'],
  ['RCPT TO:<"foo..bar"@x.test>', 'RCPT TO:<qqqqqqqqqq@x.test>', '"foo..bar"'],
  ['RCPT TO:<"x@y"@z.test>', 'RCPT TO:<qqqqq@z.test>', '"x@y"'],
  ['RCPT TO:<"a\\"b"@x.test>', 'RCPT TO:<qqqqqq@x.test>', '"a\\"b"'],
  ['RCPT TO:<"a>b"@x.test> ORCPT=rfc822;a@x', 'RCPT TO:<qqqqq@x.test> ORCPT=rfc822;a@x', '"a>b"'],
  ['MAIL FROM: <"a b"@x.test> SIZE=10', 'MAIL FROM: <qqqqq@x.test> SIZE=10', '"a b"'],
  ['RCPT TO:<@relay.test,@other.test:"a b"@x.test>', 'RCPT TO:<@relay.test,@other.test:qqqqq@x.test>', '"a b"'],
  ['RCPT TO:<""@x.test>', 'RCPT TO:<qq@x.test>', '""'],
  // RFC 6531 3.3: UTF8-non-ascii is qtextSMTP; address.ts decides whether the transaction may have it.
  ['RCPT TO:<"a\u00e9"@x.test>', 'RCPT TO:<qqqq@x.test>', '"a\u00e9"'],
  // Not a quoted local part, or not well-formed: left to smtp-server's parser as sent.
  ['RCPT TO:<plain@x.test>', null],
  ['RCPT TO:<"unterminated@x.test>', null],
  ['RCPT TO:<"a"b@x.test>', null],
  ['RCPT TO:<"a\\"@x.test>', null],
  ['RCPT TO:<"a\tb"@x.test>', null], // a tab is not qtextSMTP
  ['RCPT TO:<"a"@x.test', null],
  ['RCPT TO:<"a"@x y.test>', null],
  ['RCPT TO:<"a"@x.test>junk', null],
  ['RCPT TO:"a"@x.test', null],
  ['RCPT TO <"a"@x.test>', null],
];

for (const [command, masked, localPart] of pathCases) {
  test(`maskQuotedLocalPart ${JSON.stringify(command)}`, () => {
    const result = maskQuotedLocalPart(command);
    assert.deepEqual(result, masked === null ? null : { command: masked, localPart });
    if (result) assert.equal(result.command.length, command.length, 'the path keeps its length');
  });
}
