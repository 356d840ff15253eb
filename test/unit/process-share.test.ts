// A front end's share of the limits with Processes = N (src/ops/process-share.ts): the
// sum over N front ends is at least the written limit and exceeds it by at most N - 1.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { frontEndConfig, shareOf } from '../../src/ops/process-share.js';
import { scratchDir, writeConfig } from '../helpers/daemon.js';

test('shareOf: ceil(limit / N), 0 stays 0', () => {
  const cases: Array<[number, number, number]> = [
    [100, 1, 100], [100, 2, 50], [101, 2, 51], [1, 4, 1], [0, 4, 0], [67108864, 3, 22369622], [7, 256, 1],
  ];
  for (const [limit, processes, share] of cases) {
    assert.equal(shareOf(limit, processes), share, `${limit}/${processes}`);
    assert.ok(share * processes >= limit && share * processes <= limit + processes - 1);
  }
});

test('frontEndConfig divides sessions, concurrency, queue and memory; Metrics_Listen goes to the primary', async () => {
  const dir = await scratchDir();
  const file = path.join(dir, 'smtpipe.conf');
  await writeConfig(file, `
    Processes = 3
    Pool_Max_Queue = 10
    Max_Memory_In_Flight = 1000
    Metrics_Listen = "127.0.0.1:0"
    ESMTP_Listener { Listener_Sessions = 100 Max_Sessions_Per_Client = 7 Listen "127.0.0.1:0" { } }
    pipe_transport "t" { allow_root = true program_name = "/bin/cat" domain = ( "x.test" ) concurrency = 5 recipient_check_concurrency = 2 }
  `, dir);
  const loaded = await loadConfig(file);
  assert.ok(loaded.ok);
  assert.equal(frontEndConfig(loaded.config, 1), loaded.config, 'one process: the config itself');
  const share = frontEndConfig(loaded.config, 3);
  assert.equal(share.listeners[0]?.maxSessions, 34);
  assert.equal(share.listeners[0]?.maxSessionsPerClient, 7, 'per client: not divided');
  assert.equal(share.transports[0]?.concurrency, 2);
  assert.equal(share.transports[0]?.recipientCheckConcurrency, 1);
  assert.equal(share.pool.maxQueue, 4);
  assert.equal(share.spool.memoryBytes, 334);
  assert.equal(share.metricsListen, null);
  assert.ok(Object.isFrozen(share) && Object.isFrozen(share.listeners[0]) && Object.isFrozen(share.pool));
});
