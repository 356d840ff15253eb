// The pool's choice of spawner: made once on the main thread from the Spawner option and the
// native self-test, reported for the start-up log, and obeyed by every worker (seen from a
// program: the native spawner's stdin is a pipe, child_process's a socketpair).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { closeLeakingFds } from '../../src/ops/inherited-fds.js';
import { createDeliveryPool } from '../../src/pool/pool.js';
import type { DeliveryTask } from '../../src/pool/task.js';
import { probeSpawnAddon } from '../../native/addons.js';
import { fixture } from '../helpers/paths.js';
import { spawnersUnderTest } from '../helpers/spawner.js';
import { inMemory, makeTask } from '../helpers/task.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-spawner-pool-'));
before(() => closeLeakingFds());
after(() => rmSync(tmp, { recursive: true, force: true }));

async function configWith(spawnerLine: string) {
  const text = `Pool_Threads = 2\n${spawnerLine}\nESMTP_Listener { Listen "127.0.0.1:0" { } }\n` +
    'pipe_transport "t" { program_name = "/bin/cat" domain = "t.example" }\n';
  const file = path.join(tmp, 'pool.conf');
  writeFileSync(file, text);
  // Host facts of an unprivileged daemon: programs keep the test's own ids, as before.
  const result = await loadConfig(file, { hostname: 'mx.test', parallelism: 2, uid: 1000, gid: 1000 });
  assert.ok(result.ok, JSON.stringify(result));
  return result.config;
}

function listFds(outputFile: string): DeliveryTask {
  return makeTask({ program: fixture('programs', 'list-fds.sh'), message: inMemory(''), outputFile, outputMode: 0o600 });
}

for (const name of spawnersUnderTest()) {
  test(`Spawner = ${name}: reported, and every worker uses it`, async () => {
    const config = await configWith(`Spawner = ${name}`);
    const pool = createDeliveryPool(config);
    try {
      assert.deepEqual(pool.spawner, { name, requested: name, fallbackReason: null });
      const transport = config.transports[0];
      assert.ok(transport !== undefined);
      // More runs than threads, at once, so that both workers take some.
      const outputs = await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          const out = path.join(tmp, `${name}-${i}.txt`);
          const outcome = await pool.run(transport, listFds(out));
          assert.equal(outcome.kind, 'exited');
          return readFileSync(out, 'latin1');
        }),
      );
      for (const listing of outputs) {
        assert.match(listing, name === 'native' ? / 0 -> pipe:\[\d+\]$/m : / 0 -> socket:\[\d+\]$/m, listing);
      }
    } finally {
      await pool.close();
    }
  });
}

test('Spawner = auto (the default): native when the self-test passes, else child_process and why', async () => {
  const probe = probeSpawnAddon();
  const pool = createDeliveryPool(await configWith(''));
  try {
    assert.deepEqual(
      pool.spawner,
      probe === null
        ? { name: 'native', requested: 'auto', fallbackReason: null }
        : { name: 'child_process', requested: 'auto', fallbackReason: probe },
    );
  } finally {
    await pool.close();
  }
});
