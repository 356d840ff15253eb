// Peer "CIDR" { } scopes, Require_TLS and the refused Relay_Hosts, as the pure schema reads
// them: which options a Peer may set, how the Listen's and the listener's Peers combine,
// and the errors at file:line:col.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { parseCidr } from '../../src/config/peer-scope.js';
import type { ParsedConfig } from '../../src/config/types.js';

const host = { hostname: 'mx.test', parallelism: 4, tmpdir: '/var/tmp' };
const TRANSPORT = 'pipe_transport "t" { program_name = "/bin/cat" domain = "t.example" }\n';

function config(text: string): ParsedConfig {
  const result = parseConfigText(text + TRANSPORT, 'f.conf', host);
  assert.ok(result.ok, JSON.stringify(result, null, 1));
  return result.config;
}

function errors(text: string): string[] {
  const result = parseConfigText(text + TRANSPORT, 'f.conf', host);
  assert.ok(!result.ok, 'expected errors');
  return result.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.code} ${e.message}`);
}

test('parseCidr: IPv4 and IPv6, with and without a prefix', () => {
  assert.deepEqual(parseCidr('10.0.0.0/8'), { family: 'ipv4', network: '10.0.0.0', prefix: 8 });
  assert.deepEqual(parseCidr('192.0.2.7'), { family: 'ipv4', network: '192.0.2.7', prefix: 32 });
  assert.deepEqual(parseCidr('::1'), { family: 'ipv6', network: '::1', prefix: 128 });
  assert.deepEqual(parseCidr('2001:DB8::/32'), { family: 'ipv6', network: '2001:db8::', prefix: 32 });
  for (const bad of ['10.0.0.0/33', '::/129', '10.0.0/8', 'mx.example', '10.0.0.0/8/1', '10.0.0.0/', '10.0.0.0/-1', 'fe80::1%eth0', '']) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
});

test('Peers of the Listen and of the listener make one table, most specific first, the Listen first on a tie', () => {
  const c = config(`ESMTP_Listener {
  Peer "10.0.0.0/8" { Max_Message_Size = 1000 }
  Peer "10.1.0.0/16" { Enable = false }
  Listen "127.0.0.1:0" {
    Peer "10.1.0.0/16" { Enable = true }
    Peer "::1" { Require_TLS = false Max_Recipients_Per_Message = 3 }
  }
}
`);
  const [listener] = c.listeners;
  assert.deepEqual(
    listener?.peers.map((p) => [p.label, p.prefix, p.overrides, p.position.line]),
    [
      ['::1', 128, { maxRecipientsPerMessage: 3, requireTls: false }, 6],
      ['10.1.0.0/16', 16, { enable: true }, 5],
      ['10.1.0.0/16', 16, { enable: false }, 3],
      ['10.0.0.0/8', 8, { maxMessageBytes: 1000 }, 2],
    ],
  );
  assert.equal(listener?.requireTls, false);
});

test('a bad CIDR, a Peer without a name, a repeated Peer, a Listen-wide option in a Peer: errors at file:line:col', () => {
  assert.deepEqual(
    errors(`ESMTP_Listener {
  Peer "10.0.0.0/33" { }
  Listen "127.0.0.1:0" {
    Peer "10.0.0.0/8" { Listener_Sessions = 5 }
    Peer "10.0.0.0/8" { }
    Peer { }
  }
}
`),
    [
      'f.conf:2:8 ERR_CONFIG_INVALID_VALUE Peer "10.0.0.0/33": not an IP address or CIDR block (e.g. "10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::1")',
      'f.conf:4:25 ERR_CONFIG_INVALID_VALUE Listener_Sessions cannot be set in a Peer: it applies to the whole Listen. A Peer may set Max_Message_Size, Max_Recipients_Per_Message, Max_Receptions_Per_Connection, Max_Recipients_Per_Connection, Max_Data_Time, Bare_Newlines, Require_TLS, Require_Auth, Enable',
      'f.conf:5:5 ERR_CONFIG_DUPLICATE Peer "10.0.0.0/8" is already configured at f.conf:4:5',
      'f.conf:6:5 ERR_CONFIG_MISSING_OPTION Peer needs a client address or CIDR block: Peer "10.0.0.0/8" { }',
    ],
  );
});

test('Require_TLS on a Listen without TLS is refused where it is written (listener, Listen or Peer)', () => {
  assert.deepEqual(
    errors(`ESMTP_Listener {
  Require_TLS = true
  Listen "127.0.0.1:0" { }
  Listen "127.0.0.2:0" {
    Require_TLS = false
    Peer "10.0.0.0/8" { Require_TLS = true }
  }
}
`).map((e) => e.split(' has no TLS')[0]),
    [
      'f.conf:2:3 ERR_CONFIG_INVALID_VALUE Require_TLS = true, but Listen "127.0.0.1:0"',
      'f.conf:6:5 ERR_CONFIG_INVALID_VALUE Peer "10.0.0.0/8" sets Require_TLS = true, but Listen "127.0.0.2:0"',
    ],
  );
});

test('Relay_Hosts is refused with what to write instead, at top level and in any listener scope', () => {
  const found = errors(`Relay_Hosts = ( "10.0.0.0/8" )
ESMTP_Listener {
  Relay_Hosts = ( "10.0.0.0/8" )
  Listen "127.0.0.1:0" { Relay_Hosts = ( "127.0.0.1" ) }
}
`);
  assert.equal(found.length, 3);
  assert.match(found[0] ?? '', /^f\.conf:1:1 ERR_CONFIG_REFUSED_OPTION Relay_Hosts: smtpipe does not relay/);
  assert.match(found[1] ?? '', /^f\.conf:3:3 ERR_CONFIG_REFUSED_OPTION Relay_Hosts in ESMTP_Listener: smtpipe does not relay.*write Peer scopes: Peer "0\.0\.0\.0\/0" \{ Enable = false \}/);
  assert.match(found[2] ?? '', /^f\.conf:4:26 ERR_CONFIG_REFUSED_OPTION Relay_Hosts in Listen "127\.0\.0\.1:0": /);
});

test('LMTP_Listener takes Peers too', () => {
  const c = config('LMTP_Listener {\n  Listen "127.0.0.1:0" { Peer "192.0.2.0/24" { Enable = false } }\n}\n');
  assert.deepEqual(c.listeners[0]?.peers.map((p) => [p.label, p.overrides]), [['192.0.2.0/24', { enable: false }]]);
});
