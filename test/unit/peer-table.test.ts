// src/smtp/peer-table.ts, table-driven: which Peer a client falls in and the options it
// gets (most specific first, option by option, wider Peers filling in), IPv4-mapped IPv6.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import type { ListenerConfig } from '../../src/config/types.js';
import { createPeerTable } from '../../src/smtp/peer-table.js';

const host = { hostname: 'mx.test', parallelism: 4, tmpdir: '/var/tmp' };

function listener(peers: string): ListenerConfig {
  const text = `ESMTP_Listener {
  Max_Message_Size = 5000
  Peer "10.0.0.0/8" { Max_Message_Size = 100  Max_Recipients_Per_Message = 7 }
  Listen "127.0.0.1:0" { ${peers} }
}
pipe_transport "t" { program_name = "/bin/cat" domain = "t.example" }
`;
  const result = parseConfigText(text, 'f.conf', host);
  assert.ok(result.ok, JSON.stringify(result));
  // No TLS here, so the parsed Listen is already what the SMTP layer gets.
  return result.config.listeners[0] as ListenerConfig;
}

test('most specific Peer first, each option from the first that sets it, else the Listen', () => {
  const table = createPeerTable(
    listener(`
    Peer "10.1.0.0/16" { Enable = false }
    Peer "10.1.2.0/24" { Enable = true  Max_Message_Size = 300 }
    Peer "2001:db8::/32" { Bare_Newlines = "reject" }
    Peer "::1" { Enable = false }`),
  );
  const cases: Array<[string, string | null, boolean, number, number, string]> = [
    // client, peer, enabled, maxMessageBytes, maxRecipientsPerMessage, bareNewlines
    ['192.0.2.1', null, true, 5000, 100, 'normalize'],
    ['10.9.9.9', '10.0.0.0/8', true, 100, 7, 'normalize'],
    ['10.1.9.9', '10.1.0.0/16', false, 100, 7, 'normalize'],
    ['10.1.2.3', '10.1.2.0/24', true, 300, 7, 'normalize'],
    ['::ffff:10.1.2.3', '10.1.2.0/24', true, 300, 7, 'normalize'],
    ['2001:DB8::25', '2001:db8::/32', true, 5000, 100, 'reject'],
    ['::1', '::1', false, 5000, 100, 'normalize'],
    ['::2', null, true, 5000, 100, 'normalize'],
  ];
  for (const [client, peer, enabled, size, rcpts, bare] of cases) {
    const match = table.match(client);
    assert.deepEqual(
      [match.peer, match.enabled, match.config.maxMessageBytes, match.config.maxRecipientsPerMessage, match.config.bareNewlines],
      [peer, enabled, size, rcpts, bare],
      client,
    );
  }
});

test("on an equal prefix the Listen's Peer wins over the listener's", () => {
  const table = createPeerTable(listener('Peer "10.0.0.0/8" { Max_Message_Size = 900 }'));
  const match = table.match('10.2.3.4');
  assert.equal(match.config.maxMessageBytes, 900);
  // What the Listen's Peer does not set still comes from the listener's Peer of the same block.
  assert.equal(match.config.maxRecipientsPerMessage, 7);
});

test('a Listen without Peers: every client gets the Listen itself', () => {
  const config = listener('');
  const table = createPeerTable({ ...config, peers: [] });
  assert.equal(table.match('10.0.0.1').config.maxMessageBytes, 5000);
  assert.equal(table.match('10.0.0.1').peer, null);
});
