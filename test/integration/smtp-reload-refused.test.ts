// A reload that is refused (a new Listen cannot bind) changes nothing, so it must not log
// "takes effect only after a restart" for the options it would have kept (operator-ux
// review, reload log lines); a reload that applies still does.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startDaemon, writeConfig } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';

const conf = (threads: number, extraListen: string, processes = 1) => `
  Pool_Threads = ${threads}
  Processes = ${processes}
  ESMTP_Listener { Listen "127.0.0.1:0" { } ${extraListen} }
  pipe_transport "t" { allow_root = true program_name = "${fixture('programs', 'exit-with.sh')} 0" domain = ( "x.test" ) }
`;

test('a refused reload logs no restart warning; an applied one does', async () => {
  const daemon = await startDaemon(conf(1, ''));
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as net.AddressInfo;
  const restartWarnings = () => daemon.logs.filter((l) => l.msg === 'reload: this option takes effect only after a restart').length;
  try {
    await writeConfig(daemon.file, conf(2, `Listen "127.0.0.1:${port}" { }`), daemon.dir);
    const refused = await daemon.daemon.reload();
    assert.equal(refused.ok, false, 'the new Listen cannot bind');
    assert.equal(restartWarnings(), 0, 'nothing was applied, so nothing is said to need a restart');

    await writeConfig(daemon.file, conf(2, ''), daemon.dir);
    const applied = await daemon.daemon.reload();
    assert.equal(applied.ok, true);
    assert.equal(restartWarnings(), 1);
    assert.ok(daemon.logs.some((l) => l.msg === 'reload: this option takes effect only after a restart' && l.option === 'Pool_Threads'));

    // Processes forks at start-up only: a reload keeps the running count and says so.
    await writeConfig(daemon.file, conf(2, '', 2), daemon.dir);
    assert.equal((await daemon.daemon.reload()).ok, true);
    assert.ok(daemon.logs.some((l) => l.msg === 'reload: this option takes effect only after a restart' && l.option === 'Processes' && l.running === 1 && l.configured === 2));
  } finally {
    taken.close();
    await daemon.stop();
  }
});
