import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import { parseListenAddress } from '../../src/config/listen-address.js';
import { bindConflict, type BindAddress } from '../../src/config/listen-conflicts.js';
import { runCheck } from '../helpers/cli.js';
import { scratchDir } from '../helpers/daemon.js';

const host = { hostname: 'mx.test', parallelism: 8, tmpdir: '/tmp' };
const TRANSPORT = 'pipe_transport "t" { program_name = "/bin/cat" domain = "t.example" }\n';

function address(label: string): BindAddress {
  const parsed = parseListenAddress(label);
  assert.ok(parsed.ok, label);
  return { host: parsed.host, port: parsed.port };
}

function errors(text: string): string[] {
  const result = parseConfigText(text, 'x.conf', host);
  return result.ok ? [] : result.errors.map((e) => `${e.line}:${e.column} ${e.code} ${e.message}`);
}

// [first, second, what the rule says]: the second written port is replaced by a live one below.
const PAIRS: Array<[string, string, 'same' | 'overlap' | undefined]> = [
  [':25', '[::]:25', 'same'],
  [':25', '0.0.0.0:25', 'overlap'],
  [':25', '127.0.0.1:25', 'overlap'],
  [':25', '[::1]:25', 'overlap'],
  ['[::]:25', '0.0.0.0:25', 'overlap'],
  ['[::]:25', '127.0.0.1:25', 'overlap'],
  ['0.0.0.0:25', '0.0.0.0:25', 'same'],
  ['0.0.0.0:25', '127.0.0.1:25', 'overlap'],
  ['0.0.0.0:25', '[::1]:25', undefined],
  ['127.0.0.1:25', '127.0.0.1:25', 'same'],
  ['127.0.0.1:25', '127.0.0.2:25', undefined],
  ['127.0.0.1:25', '[::1]:25', undefined],
  ['[::1]:25', '[0:0::1]:25', 'same'],
];

test('listen conflicts: the rule, pair by pair, both ways round', () => {
  for (const [a, b, expected] of PAIRS) {
    assert.equal(bindConflict(address(a), address(b)), expected, `${a} / ${b}`);
    assert.equal(bindConflict(address(b), address(a)), expected, `${b} / ${a}`);
  }
  assert.equal(bindConflict(address('127.0.0.1:25'), address('127.0.0.1:26')), undefined);
  assert.equal(bindConflict(address(':0'), address(':0')), undefined, 'port 0: the OS picks two ports');
  // A host name is compared as written; against a dual-stack wildcard it always clashes.
  assert.equal(bindConflict(address('mx.example:25'), address('MX.Example:25')), 'same');
  assert.equal(bindConflict(address('mx.example:25'), address(':25')), 'overlap');
  assert.equal(bindConflict(address('mx.example:25'), address('0.0.0.0:25')), undefined);
});

/** Binds as src/smtp/listener.ts does: server.listen(port, host), host undefined for ":port". */
async function bind(at: BindAddress): Promise<net.Server | NodeJS.ErrnoException> {
  const server = net.createServer((socket) => socket.destroy());
  server.listen(at.port, at.host);
  const [outcome] = await Promise.race([once(server, 'listening').then(() => [server]), once(server, 'error')]);
  return outcome as net.Server | NodeJS.ErrnoException;
}

test('listen conflicts: the rule matches what the kernel does with two real listening sockets', async () => {
  // The wildcard ones listen on every address for a moment; each connection is dropped.
  for (const [a, b, expected] of PAIRS) {
    const first = await bind({ ...address(a), port: 0 });
    assert.ok(first instanceof net.Server, `${a}: ${String(first)}`);
    const { port } = first.address() as net.AddressInfo;
    const second = await bind({ ...address(b), port });
    const clashed = !(second instanceof net.Server);
    if (clashed) assert.equal(second.code, 'EADDRINUSE', `${a} / ${b}`);
    else second.close();
    first.close();
    assert.equal(clashed, expected !== undefined, `${a} then ${b} on port ${port}: ${clashed ? 'EADDRINUSE' : 'both bound'}`);
  }
});

test('listen conflicts: two Listens that overlap, and Metrics_Listen on a Listen\'s address, are errors', () => {
  assert.deepEqual(
    errors(`ESMTP_Listener {
  Listen ":2525" { }
  Listen "127.0.0.1:2525" { }
  Listen "[::]:2525" { }
}
LMTP_Listener { Listen "0.0.0.0:2525" { } }
${TRANSPORT}`),
    [
      '3:3 ERR_CONFIG_DUPLICATE Listen "127.0.0.1:2525" overlaps Listen ":2525" (x.conf:2:3): a wildcard address holds the port on every address, so the second bind would fail (EADDRINUSE)',
      '4:3 ERR_CONFIG_DUPLICATE Listen "[::]:2525" is already configured at x.conf:2:3',
      '6:17 ERR_CONFIG_DUPLICATE Listen "0.0.0.0:2525" overlaps Listen ":2525" (x.conf:2:3): a wildcard address holds the port on every address, so the second bind would fail (EADDRINUSE)',
    ],
  );
  assert.deepEqual(errors(`Metrics_Listen = "127.0.0.1:2825"\nESMTP_Listener { Listen "127.0.0.1:2825" { } }\n${TRANSPORT}`), [
    '1:1 ERR_CONFIG_DUPLICATE Metrics_Listen "127.0.0.1:2825" would bind the port of Listen "127.0.0.1:2825" (x.conf:2:18): give the metrics their own port (EADDRINUSE at start otherwise)',
  ]);
  assert.equal(errors(`Metrics_Listen = ":2825"\nESMTP_Listener { Listen "[::1]:2825" { } }\n${TRANSPORT}`).length, 1);
  // Different ports, different families of specific addresses, or a Listen switched off: fine.
  assert.deepEqual(errors(`Metrics_Listen = "127.0.0.1:2826"\nESMTP_Listener { Listen "127.0.0.1:2825" { } Listen "[::1]:2825" { } }\n${TRANSPORT}`), []);
  assert.deepEqual(errors(`ESMTP_Listener { Listen ":2825" { } Listen "127.0.0.1:2825" { Enable = false } }\n${TRANSPORT}`), []);
});

test('listen conflicts: smtpipe --check exits 78 on Metrics_Listen at a Listen\'s address (it used to pass, then start exited 70)', async () => {
  const dir = await scratchDir();
  const file = path.join(dir, 'smtpipe.conf');
  await writeFile(file, `Metrics_Listen = "127.0.0.1:2825"\nESMTP_Listener { Listen "127.0.0.1:2825" { } }\n${TRANSPORT}`);
  const result = await runCheck(file);
  assert.equal(result.code, 78, result.stderr);
  assert.match(result.stderr, /smtpipe\.conf:1:1: error: Metrics_Listen "127\.0\.0\.1:2825" would bind the port of Listen "127\.0\.0\.1:2825" .* \[ERR_CONFIG_DUPLICATE\]/);
});
