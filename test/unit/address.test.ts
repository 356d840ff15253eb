import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAddress, recipientKey, splitAddress } from '../../src/delivery/address.js';
import { formatReply } from '../../src/smtp/reply.js';

// [address as smtp-server hands it over, role, expected: canonical address or reply line]
const cases: Array<[string, 'sender' | 'recipient', string]> = [
  ['user@example.com', 'recipient', 'user@example.com'],
  ['first.last+tag@sub.example.com', 'recipient', 'first.last+tag@sub.example.com'],
  ['', 'sender', ''],
  ['', 'recipient', '553 5.1.3 recipient address rejected: empty address'],
  ['-oQ/tmp@example.com', 'sender', '553 5.1.7 sender address rejected: must not begin with "-"'],
  ['-f@example.com', 'recipient', '553 5.1.3 recipient address rejected: must not begin with "-"'],
  ['$(id)@example.com', 'recipient', '553 5.1.3 recipient address rejected: bad local part syntax'],
  ['a;b@example.com', 'recipient', '553 5.1.3 recipient address rejected: bad local part syntax'],
  ['a b@example.com', 'recipient', '553 5.1.3 recipient address rejected: bad local part syntax'],
  ['a\0b@example.com', 'recipient', '553 5.1.3 recipient address rejected: bad local part syntax'],
  ['a\r\nb@example.com', 'recipient', '553 5.1.3 recipient address rejected: bad local part syntax'],
  // Legal atext: passed on as data (argv element, never through a shell).
  ['`id`@example.com', 'recipient', '`id`@example.com'],
  ['a%b@example.com', 'recipient', 'a%b@example.com'],
  ['"x;y"@example.com', 'recipient', '"x;y"@example.com'],
  ['"a b"@example.com', 'recipient', '"a b"@example.com'],
  ['"a"b"@example.com', 'recipient', '553 5.1.3 recipient address rejected: bad local part syntax'],
  ['"a\\"b"@example.com', 'recipient', '"a\\"b"@example.com'],
  ['a@b@example.com', 'recipient', '553 5.1.3 recipient address rejected: bad domain syntax'],
  // RFC 5321 4.1.2 quoted local parts, kept in their quoted form (peer-interop B3).
  ['"foo bar"@example.com', 'recipient', '"foo bar"@example.com'],
  ['"foo..bar"@example.com', 'recipient', '"foo..bar"@example.com'],
  ['"x@y"@example.com', 'recipient', '"x@y"@example.com'],
  ['"x@y"@bücher.example', 'recipient', '"x@y"@xn--bcher-kva.example'],
  ['"<a>"@example.com', 'recipient', '"<a>"@example.com'],
  ['""@example.com', 'recipient', '""@example.com'],
  ['"unterminated@example.com', 'recipient', '553 5.1.3 recipient address rejected: bad local part syntax'],
  ['"a"b@example.com', 'recipient', '553 5.1.3 recipient address rejected: bad local part syntax'],
  ['"a\\\\"@example.com', 'recipient', '"a\\\\"@example.com'], // an escaped backslash ends the quote
  ['"a\\\\"b"@example.com', 'recipient', '553 5.1.3 recipient address rejected: bad local part syntax'],
  ['"a\\"@example.com', 'recipient', '553 5.1.3 recipient address rejected: bad local part syntax'], // unterminated
  ['"x@y"@[bogus@z]', 'recipient', '553 5.1.3 recipient address rejected: bad domain syntax'],
  ['"-f"@example.com', 'recipient', '"-f"@example.com'], // the quote leads: never an option
  ['a@[127.0.0.1]', 'sender', 'a@[127.0.0.1]'],
  ['a@[IPv6:::1]', 'sender', 'a@[IPv6:::1]'],
  ['a@[bogus]', 'sender', '553 5.1.7 sender address rejected: bad domain syntax'],
  ['a@example.com.', 'recipient', '553 5.1.3 recipient address rejected: bad domain syntax'],
  ['a@-example.com', 'recipient', '553 5.1.3 recipient address rejected: bad domain syntax'],
  ['a@exa_mple.com', 'recipient', '553 5.1.3 recipient address rejected: bad domain syntax'],
  [`${'a'.repeat(64)}@example.com`, 'recipient', `${'a'.repeat(64)}@example.com`],
  [`${'a'.repeat(65)}@example.com`, 'recipient', '553 5.1.3 recipient address rejected: local part longer than 64 octets'],
  [`"${'a'.repeat(63)}"@example.com`, 'recipient', '553 5.1.3 recipient address rejected: local part longer than 64 octets'],
  // A sender's local part may be longer (SRS, VERP, BATV; peer-interop G3), up to the path limit.
  [`${'a'.repeat(65)}@example.com`, 'sender', `${'a'.repeat(65)}@example.com`],
  [`SRS0=Hx7q=TT=originating-domain.example.com=firstname.lastname.department@example.com`, 'sender', 'SRS0=Hx7q=TT=originating-domain.example.com=firstname.lastname.department@example.com'],
  [`${'a'.repeat(242)}@example.com`, 'sender', `${'a'.repeat(242)}@example.com`],
  [`${'a'.repeat(243)}@example.com`, 'sender', '553 5.1.7 sender address rejected: longer than 254 octets'],
  [`a@${'b'.repeat(64)}.com`, 'recipient', '553 5.1.3 recipient address rejected: bad domain syntax'],
  ['éa@example.com', 'recipient', '553 5.6.7 non-ASCII address without SMTPUTF8'],
  ['a@bücher.example', 'recipient', 'a@xn--bcher-kva.example'],
  ['postmaster', 'recipient', '553 5.1.3 recipient address rejected: no domain'],
  ['@example.com', 'recipient', '553 5.1.3 recipient address rejected: no domain'],
];

for (const [address, role, expected] of cases) {
  test(`${role} ${JSON.stringify(address)} -> ${expected}`, () => {
    const result = checkAddress(address, role);
    assert.equal(result.ok ? result.address : formatReply(result.reply), expected);
  });
}

// In a MAIL FROM ... SMTPUTF8 transaction (RFC 6531 3.3): [address, role, expected].
const utf8Cases: Array<[string, 'sender' | 'recipient', string]> = [
  ['用户@例子.广告', 'recipient', '用户@例子.广告'],
  ['josé@bücher.example', 'sender', 'josé@bücher.example'],
  ['josé@xn--bcher-kva.example', 'recipient', 'josé@bücher.example'], // one form per domain: U-labels
  ['a@BÜCHER.example', 'recipient', 'a@bücher.example'],
  ['plain@example.com', 'recipient', 'plain@example.com'],
  ['"jo sé"@example.com', 'recipient', '"jo sé"@example.com'],
  ['jo.sé.ü@example.com', 'recipient', 'jo.sé.ü@example.com'],
  ['jo..sé@example.com', 'recipient', '553 5.1.3 recipient address rejected: bad local part syntax'],
  ['-é@example.com', 'recipient', '553 5.1.3 recipient address rejected: must not begin with "-"'],
  ['a\u202eb@example.com', 'recipient', '553 5.1.3 recipient address rejected: control or format character in local part'],
  ['a\u200bb@example.com', 'recipient', '553 5.1.3 recipient address rejected: control or format character in local part'],
  ['é\u0085@example.com', 'recipient', '553 5.1.3 recipient address rejected: control or format character in local part'],
  ['é\u00a0@example.com', 'recipient', '553 5.1.3 recipient address rejected: control or format character in local part'],
  ['\ufffd@example.com', 'recipient', '553 5.1.3 recipient address rejected: control or format character in local part'],
  ['"é\u2028"@example.com', 'recipient', '553 5.1.3 recipient address rejected: control or format character in local part'],
  ['a@\ufffd.example', 'recipient', '553 5.1.3 recipient address rejected: bad domain syntax'],
  // Octets, not characters: 32 two-octet characters fill the 64-octet local part.
  [`${'é'.repeat(32)}@example.com`, 'recipient', `${'é'.repeat(32)}@example.com`],
  [`${'é'.repeat(32)}a@example.com`, 'recipient', '553 5.1.3 recipient address rejected: local part longer than 64 octets'],
  [`${'é'.repeat(121)}@example.com`, 'sender', `${'é'.repeat(121)}@example.com`], // 254 octets, 133 characters
  [`${'é'.repeat(122)}@example.com`, 'sender', '553 5.1.7 sender address rejected: longer than 254 octets'],
];

for (const [address, role, expected] of utf8Cases) {
  test(`SMTPUTF8 ${role} ${JSON.stringify(address)} -> ${expected}`, () => {
    const result = checkAddress(address, role, true);
    assert.equal(result.ok ? result.address : formatReply(result.reply), expected);
  });
}

// [a, b, same recipient?]
const keyCases: Array<[string, string, boolean]> = [
  ['Victim@example.com', 'victim@EXAMPLE.com', true],
  ['"a.b"@example.com', 'a.b@example.com', true],
  ['"a\\b"@example.com', '"ab"@example.com', true],
  ['"foo bar"@example.com', '"FOO BAR"@example.com', true],
  ['"x@y"@example.com', 'x@y.example.com', false],
  ['a@example.com', 'a@example.org', false],
];

for (const [a, b, same] of keyCases) {
  test(`recipientKey: ${a} and ${b} are ${same ? 'one recipient' : 'two'}`, () => {
    assert.equal(recipientKey(a) === recipientKey(b), same);
  });
}

// [address, local, domain]: where the local part ends, as checkAddress and recipientKey see it.
const splits: Array<[string, string, string]> = [
  ['bob@example.com', 'bob', 'example.com'],
  ['"x@y"@example.com', '"x@y"', 'example.com'], // a quoted local part may hold "@"
  ['"x\\"@y"@example.com', '"x\\"@y"', 'example.com'], // and an escaped quote
  ['"x y"@example.com', '"x y"', 'example.com'],
  ['a@[127.0.0.1]', 'a', '[127.0.0.1]'],
  ['postmaster', 'postmaster', ''],
  ['', '', ''], // the null sender
];
for (const [address, local, domain] of splits) {
  test(`splitAddress(${JSON.stringify(address)})`, () => {
    assert.deepEqual(splitAddress(address), { local, domain });
  });
}
