// PROXY headers (HAProxy's proxy-protocol.txt), v1 and v2: what is accepted, what is
// refused and why, and that a header cut anywhere reads as incomplete, never as valid
// or invalid, until its last byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalIp } from '../../src/smtp/ip-address.js';
import { parseProxyHeader, PROXY_V2_MAX_BYTES } from '../../src/smtp/proxy-header.js';

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 header: version/command byte, family/transport byte, then `block` (address + TLVs). */
function v2(versionCommand: number, familyTransport: number, block: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(block.length);
  return Buffer.concat([SIGNATURE, Buffer.from([versionCommand, familyTransport]), length, block]);
}

function inet(src: number[], dst: number[], sport: number, dport: number): Buffer {
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(sport, 0);
  ports.writeUInt16BE(dport, 2);
  return Buffer.concat([Buffer.from(src), Buffer.from(dst), ports]);
}

function inet6(src: string, dst: string, sport: number, dport: number): Buffer {
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(sport, 0);
  ports.writeUInt16BE(dport, 2);
  return Buffer.concat([Buffer.from(src, 'hex'), Buffer.from(dst, 'hex'), ports]);
}

const TLV_ALPN = Buffer.from([0x01, 0x00, 0x04, ...Buffer.from('smtp')]);
const V6_SRC = '20010db8000000000000000000000001';
const V6_DST = '00000000000000000000000000000001';

/** [name, header bytes, expected client (null: the connection's own peer), version]. */
const GOOD: Array<[string, Buffer, { address: string; port: number } | null, 1 | 2]> = [
  ['v1 TCP4', Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 40000 25\r\n'), { address: '203.0.113.7', port: 40000 }, 1],
  ['v1 TCP4 ports 0 and 65535', Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 0 65535\r\n'), { address: '10.0.0.1', port: 0 }, 1],
  ['v1 TCP6, upper case, compressed on the way', Buffer.from('PROXY TCP6 2001:DB8:0:0::1 ::1 1 25\r\n'), { address: '2001:db8::1', port: 1 }, 1],
  ['v1 TCP6 IPv4-mapped becomes IPv4', Buffer.from('PROXY TCP6 ::ffff:198.51.100.9 ::1 1 25\r\n'), { address: '198.51.100.9', port: 1 }, 1],
  ['v1 UNKNOWN', Buffer.from('PROXY UNKNOWN\r\n'), null, 1],
  ['v1 UNKNOWN with anything after it (spec: ignored)', Buffer.from('PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n'), null, 1],
  ['v1 TCP6 at full length (104 bytes)', Buffer.from(`PROXY TCP6 ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`), { address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535 }, 1],
  ['v2 PROXY TCP4', v2(0x21, 0x11, inet([192, 0, 2, 1], [127, 0, 0, 1], 12345, 25)), { address: '192.0.2.1', port: 12345 }, 2],
  ['v2 PROXY TCP4 with a TLV', v2(0x21, 0x11, Buffer.concat([inet([192, 0, 2, 1], [127, 0, 0, 1], 1, 25), TLV_ALPN])), { address: '192.0.2.1', port: 1 }, 2],
  ['v2 PROXY TCP6', v2(0x21, 0x21, inet6(V6_SRC, V6_DST, 2525, 25)), { address: '2001:db8::1', port: 2525 }, 2],
  ['v2 PROXY TCP6 IPv4-mapped', v2(0x21, 0x21, inet6('00000000000000000000ffffc6336409', V6_DST, 7, 25)), { address: '198.51.100.9', port: 7 }, 2],
  ['v2 LOCAL (health check), empty', v2(0x20, 0x00, Buffer.alloc(0)), null, 2],
  ['v2 LOCAL ignores family and block', v2(0x20, 0x11, inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)), null, 2],
  ['v2 PROXY AF_UNSPEC', v2(0x21, 0x00, Buffer.alloc(0)), null, 2],
  // Spec 2.2: valid combinations the receiver does not support fall back to AF_UNSPEC.
  ['v2 UDP over IPv4: the real endpoints', v2(0x21, 0x12, inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)), null, 2],
  ['v2 AF_UNIX stream (a client on a UNIX socket): the real endpoints', v2(0x21, 0x31, Buffer.alloc(216)), null, 2],
];

/** [name, bytes, reason (substring)]. */
const BAD: Array<[string, Buffer, string]> = [
  ['SMTP instead of a header', Buffer.from('EHLO client.test\r\n'), 'not a PROXY header'],
  ['lower-case proxy', Buffer.from('proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), 'not a PROXY header'],
  ['TLS ClientHello', Buffer.from('16030100c4010000c003', 'hex'), 'not a PROXY header'],
  ['v1 cut short', Buffer.from('PROXY TCP4\r\n'), 'single spaces'],
  ['v1 garbage', Buffer.from('PROXY garbage-header\r\n'), 'is not TCP4, TCP6 or UNKNOWN'],
  ['v1 unknown family', Buffer.from('PROXY FOO 198.51.100.9 127.0.0.1 1 2604\r\n'), 'is not TCP4, TCP6 or UNKNOWN'],
  ['v1 TCP4 octet over 255', Buffer.from('PROXY TCP4 999.1.1.1 127.0.0.1 1 25\r\n'), 'source address is not an IPv4'],
  ['v1 TCP4 leading zero octet', Buffer.from('PROXY TCP4 10.0.0.01 127.0.0.1 1 25\r\n'), 'source address is not an IPv4'],
  ['v1 TCP4 with an IPv6 source', Buffer.from('PROXY TCP4 ::1 127.0.0.1 1 25\r\n'), 'source address is not an IPv4'],
  ['v1 TCP4 with an IPv4-mapped source', Buffer.from('PROXY TCP4 ::ffff:10.0.0.1 127.0.0.1 1 25\r\n'), 'source address is not an IPv4'],
  ['v1 TCP6 with an IPv4 source', Buffer.from('PROXY TCP6 10.0.0.1 ::1 1 25\r\n'), 'source address is not an IPv6'],
  ['v1 TCP6 zone ID', Buffer.from('PROXY TCP6 fe80::1%eth0 ::1 1 25\r\n'), 'source address is not an IPv6'],
  ['v1 bad destination', Buffer.from('PROXY TCP4 10.0.0.1 localhost 1 25\r\n'), 'destination address'],
  ['v1 host name as source', Buffer.from('PROXY TCP4 evil.test 127.0.0.1 1 25\r\n'), 'source address'],
  ['v1 port over 65535', Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 65536 25\r\n'), 'port'],
  ['v1 port with a leading zero', Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 025 25\r\n'), 'port'],
  ['v1 signed port', Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 +25 25\r\n'), 'port'],
  ['v1 destination port missing', Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 25\r\n'), 'single spaces'],
  ['v1 extra field', Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 1 25 x\r\n'), 'single spaces'],
  ['v1 double space', Buffer.from('PROXY TCP4  10.0.0.1 10.0.0.2 1 25\r\n'), 'single spaces'],
  ['v1 control byte', Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 1 25\x00\r\n'), 'control'],
  ['v1 LF only', Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 1 25\n'), 'CRLF'],
  ['v1 over 107 bytes without CRLF', Buffer.from(`PROXY UNKNOWN ${'x'.repeat(100)}`), 'longer than 107'],
  ['v1 CRLF at byte 108', Buffer.from(`PROXY UNKNOWN ${'x'.repeat(92)}\r\n`), 'longer than 107'],
  ['v2 version 1', v2(0x11, 0x11, inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)), 'version 1'],
  ['v2 command 2', v2(0x22, 0x11, inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)), 'command 2'],
  ['v2 undefined family', v2(0x21, 0x41, Buffer.alloc(12)), 'not defined'],
  ['v2 TCP4 block too short', v2(0x21, 0x11, Buffer.alloc(11)), 'too short'],
  ['v2 TCP6 block too short', v2(0x21, 0x21, Buffer.alloc(35)), 'too short'],
  ['v2 longer than accepted', v2(0x21, 0x11, Buffer.alloc(PROXY_V2_MAX_BYTES)).subarray(0, 16), 'more than the 4096'],
];

for (const [name, header, client, version] of GOOD) {
  test(`accepted: ${name}`, () => {
    const after = Buffer.from('EHLO client.test\r\n');
    assert.deepEqual(parseProxyHeader(Buffer.concat([header, after])), { kind: 'header', version, bytes: header.length, client });
    // Cut anywhere before its end, a good header is only incomplete (split reads).
    for (let cut = 0; cut < header.length; cut += 1) {
      assert.deepEqual(parseProxyHeader(header.subarray(0, cut)), { kind: 'incomplete' }, `cut at ${cut}`);
    }
  });
}

for (const [name, bytes, reason] of BAD) {
  test(`refused: ${name}`, () => {
    const parsed = parseProxyHeader(bytes);
    assert.equal(parsed.kind, 'invalid', JSON.stringify(parsed));
    assert.ok(parsed.kind === 'invalid' && parsed.reason.includes(reason), `${JSON.stringify(parsed)} should say ${JSON.stringify(reason)}`);
  });
}

test('a v1 header is at most 107 bytes: 106 without CRLF is still incomplete, 107 is refused', () => {
  assert.deepEqual(parseProxyHeader(Buffer.from(`PROXY UNKNOWN ${'x'.repeat(92)}`)), { kind: 'incomplete' });
  assert.equal(parseProxyHeader(Buffer.from(`PROXY UNKNOWN ${'x'.repeat(93)}`)).kind, 'invalid');
});

test('canonicalIp: one spelling per address', () => {
  const table: Array<[string, string]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::FFFF:7F00:1', '127.0.0.1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::1', '::1'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
    ['not-an-ip', 'not-an-ip'],
  ];
  for (const [input, expected] of table) assert.equal(canonicalIp(input), expected, input);
});
