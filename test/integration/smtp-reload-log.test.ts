// The reload's log lines say what they hold (operator-ux review, finding 19): the restart
// warning names the running and the configured value, a bind failure says "cannot listen
// on ADDR: EADDRINUSE" at error (never "smtp connection error"), and "configuration
// reloaded" says which transports, domains and Listens were added or removed.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { startDaemon, writeConfig, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';

const PROGRAM = `${fixture('programs', 'exit-with.sh')} 0`;
const conf = (threads: number, body: string, listens = '') => `
  Pool_Threads = ${threads}
  ESMTP_Listener { Listen "127.0.0.1:0" { } ${listens} }
  ${body}
`;
const transport = (name: string, domains: string) =>
  `pipe_transport "${name}" { allow_root = true program_name = "${PROGRAM}" domain = ( ${domains} ) }`;

let daemon: TestDaemon;
let taken: net.Server;
let takenPort: number;
before(async () => {
  daemon = await startDaemon(conf(1, transport('tickets', '"a.test" "b.test"') + transport('lists', '"l.test"')));
  taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  takenPort = (taken.address() as net.AddressInfo).port;
});
after(async () => {
  taken.close();
  await daemon.stop();
});

const since = (count: number, msg: string | RegExp) =>
  daemon.logs.slice(count).filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg))));

test('a bind failure at reload: "cannot listen on ADDR: EADDRINUSE" at error, no "smtp connection error"', async () => {
  const mark = daemon.logs.length;
  await writeConfig(daemon.file, conf(1, transport('tickets', '"a.test"'), `Listen "127.0.0.1:${takenPort}" { }`), daemon.dir);
  const result = await daemon.daemon.reload();
  assert.equal(result.ok, false);
  const [line, ...more] = since(mark, /^reload failed: /);
  assert.ok(line && more.length === 0, JSON.stringify(daemon.logs.slice(mark)));
  assert.equal(line.level, 50);
  assert.equal(line.msg, `reload failed: cannot listen on 127.0.0.1:${takenPort}: EADDRINUSE: address already in use 127.0.0.1:${takenPort}; still serving the previous configuration`);
  assert.equal(line.listener, `127.0.0.1:${takenPort}`);
  assert.deepEqual(since(mark, 'smtp connection error'), []);
});

test('"configuration reloaded" names the transports, domains and Listens added and removed; the restart warning says running and configured', async () => {
  const mark = daemon.logs.length;
  const extra = net.createServer();
  await new Promise<void>((resolve) => extra.listen(0, '127.0.0.1', resolve));
  const freePort = (extra.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => extra.close(() => resolve()));
  await writeConfig(daemon.file, conf(2, transport('tickets', '"a.test" "c.test"') + transport('help', '"h.test"'), `Listen "127.0.0.1:${freePort}" { }`), daemon.dir);
  assert.deepEqual(await daemon.daemon.reload(), { ok: true });
  const [reloaded] = since(mark, 'configuration reloaded');
  assert.ok(reloaded, JSON.stringify(daemon.logs.slice(mark)));
  assert.deepEqual(reloaded.transports, ['tickets', 'help']);
  assert.deepEqual(reloaded.transportsAdded, ['help']);
  assert.deepEqual(reloaded.transportsRemoved, ['lists']);
  assert.deepEqual(reloaded.domainsAdded, { tickets: ['c.test'], help: ['h.test'] });
  assert.deepEqual(reloaded.domainsRemoved, { tickets: ['b.test'], lists: ['l.test'] });
  assert.deepEqual(reloaded.listenersAdded, [`127.0.0.1:${freePort}`]);
  assert.deepEqual(reloaded.listenersRemoved, []);
  const [warning] = since(mark, 'reload: this option takes effect only after a restart');
  assert.ok(warning);
  assert.deepEqual([warning.option, warning.running, warning.configured, 'file' in warning], ['Pool_Threads', 1, 2, false]);

  const again = daemon.logs.length;
  await writeConfig(daemon.file, conf(2, transport('tickets', '"a.test" "c.test"') + transport('help', '"h.test"')), daemon.dir);
  assert.deepEqual(await daemon.daemon.reload(), { ok: true });
  const [second] = since(again, 'configuration reloaded');
  assert.ok(second);
  assert.deepEqual([second.transportsAdded, second.transportsRemoved, second.domainsAdded, second.domainsRemoved], [[], [], {}, {}]);
  assert.deepEqual(second.listenersRemoved, [`127.0.0.1:${freePort}`]);
});
